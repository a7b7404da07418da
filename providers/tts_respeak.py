"""Websocket TTS that never loses a sentence to its socket, and records only what was spoken.

Shared by the ElevenLabs and Cartesia services (``providers.elevenlabs_tts``,
``providers.cartesia_tts``); each supplies how a context's text is sent again on a new socket.

Pipecat's ``WebsocketTTSService`` loses speech to its socket three ways:

* a socket that closes mid-reply is reconnected, but every open audio context is ended first
  (``_close_connection_contexts``): the text sent and not yet synthesised is never spoken, and
  ending the context force-completes its words, so the transcript and the LLM context get the
  whole reply (incident: the caller heard 0.96 s of a 7.8 s reply, and all of it was stored);
* a sentence that finds the socket down gets one on-demand connect; if it fails the sentence is
  dropped (``websocket unavailable``), and the caller never hears it;
* after a switch to a backup TTS, what the failed TTS had not said is lost.

Here the text asked of each context is kept and the words the provider has sent audio for are
counted. A socket that drops holds its contexts open while it reconnects, and the unsaid rest of
each is sent again on the new socket in the same context, so its audio lands in the same audio
context, in order, and its words complete the same transcript entry. A sentence that finds the
socket down is kept the same way, and a reconnect is started if none is running. The reconnect
retries sooner than Pipecat's (1 s, then 2 s) and still gives up after three attempts. If it
gives up, or a backup TTS takes over (:meth:`RespeakingTTS.hand_over`), the held contexts end
with only what the caller heard: their unsaid words are not recorded, and a backup gets them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

from loguru import logger
from pipecat.frames.frames import AggregatedTextProgressFrame, Frame, TTSStartedFrame, TTSTextFrame
from websockets.protocol import State

KEEP_OPEN_EVERY_SECS = 1.0  # refresh the held contexts well inside Pipecat's 3 s audio timeout
RECONNECT_MIN_WAIT_SECS = 1.0  # between reconnect attempts (Pipecat: 4 s)
RECONNECT_MAX_WAIT_SECS = 2.0


class RespeakingTTS:
    """Mixin for a Pipecat ``WebsocketTTSService``: put it first among the bases.

    A subclass implements :meth:`_resend` (send a context's unsaid rest on a new socket) and
    may override :meth:`_context_opened`, :meth:`_cancel_at_provider` and
    :meth:`_receiving_started`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reconnect_backoff_min_wait = RECONNECT_MIN_WAIT_SECS
        self._reconnect_backoff_max_wait = RECONNECT_MAX_WAIT_SECS
        self._sent: dict[str, list[str]] = {}  # context id -> text asked of it, in order
        self._said: dict[str, int] = {}  # context id -> words whose audio the provider sent
        self._closed: set[str] = set()  # contexts the reply's end has closed (flush, close)
        self._held: list[str] = []  # contexts kept open until a socket takes them, in order
        self._abandoned: set[str] = set()  # held contexts nobody will finish
        self._holding = False
        self._recovery: asyncio.Task | None = None  # a reconnect started for a kept sentence
        self._send_lock = asyncio.Lock()  # a re-send and a new sentence never interleave

    # Provider hooks.

    async def _resend(self, context_id: str, rest: list[str], closed: bool) -> None:
        """Open ``context_id`` on the new socket, send ``rest``, close it again if ``closed``."""
        raise NotImplementedError

    def _context_opened(self, context_id: str) -> None:
        """A context was opened for a sentence kept while the socket was down."""

    async def _cancel_at_provider(self, context_id: str) -> None:
        """Stop the provider synthesising a context another TTS finishes."""

    def _receiving_started(self) -> None:
        """A connection made outside Pipecat's own connect is now read."""

    # Bookkeeping: what was asked, what was said.

    def _socket_open(self) -> bool:
        websocket = self._websocket
        return websocket is not None and websocket.state is State.OPEN

    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame | None, None]:
        """Send the text, or keep it for the reconnect when the socket is down.

        Args:
            text: The sentence (or token) to speak.
            context_id: Its audio context.

        Yields:
            Frames for the audio context (Pipecat's), or None.
        """
        async with self._send_lock:  # after a re-send that began before this sentence came
            if context_id:
                self._sent.setdefault(context_id, []).append(text)
            if self._socket_open() and context_id not in self._held:
                frames = [frame async for frame in super().run_tts(text, context_id)]
            else:
                frames = await self._keep(context_id)
        for frame in frames:
            yield frame

    async def _keep(self, context_id: str) -> list[Frame | None]:
        """Keep a sentence the socket cannot take: its context waits for the reconnect."""
        frames: list[Frame | None] = []
        if not self.audio_context_available(context_id):
            await self.create_audio_context(context_id)
            await self.start_ttfb_metrics()
            frames.append(TTSStartedFrame(context_id=context_id))
            self._context_opened(context_id)
        if context_id not in self._held:
            logger.warning(f"{self} socket down: keeping {context_id} for the reconnect")
            self._held.append(context_id)
        if not self._reconnect_in_progress and self._recovery is None and not self._disconnecting:
            self._recovery = self.create_task(self._recover(), name=f"{self}::recover")
        return [*frames, None]

    async def add_word_timestamps(self, word_times, context_id=None, *args, **kwargs) -> None:
        """Count the words whose audio arrived, then pass them on."""
        if context_id in self._sent:
            self._said[context_id] = self._said.get(context_id, 0) + len(word_times)
        await super().add_word_timestamps(word_times, context_id, *args, **kwargs)

    def _forget(self, context_id: str) -> None:
        self._sent.pop(context_id, None)
        self._said.pop(context_id, None)
        self._closed.discard(context_id)
        self._abandoned.discard(context_id)

    async def on_audio_context_completed(self, context_id: str) -> None:
        """Forget a context that has played out."""
        self._forget(context_id)
        await super().on_audio_context_completed(context_id)

    async def on_audio_context_interrupted(self, context_id: str) -> None:
        """Forget a context the caller interrupted."""
        self._forget(context_id)
        with contextlib.suppress(ValueError):
            self._held.remove(context_id)
        await super().on_audio_context_interrupted(context_id)

    async def flush_audio(self, context_id: str | None = None) -> None:
        """Flush a context at the provider, unless it is held (its re-send flushes it)."""
        if (context_id or self.get_active_audio_context_id()) in self._held:
            return
        await super().flush_audio(context_id)

    def unsaid(self, context_id: str) -> list[str]:
        """The text asked of a context that the provider has not sent audio for yet.

        Args:
            context_id: The audio context.

        Returns:
            The pieces it was asked in (sentences), from the first word not said (a word cut by
            a drop is said again whole).
        """
        skip = self._said.get(context_id, 0)
        parts: list[str] = []
        for text in self._sent.get(context_id, []):
            words = text.split()
            if skip < len(words):
                parts.append(" ".join(words[skip:]))
            skip = max(0, skip - len(words))
        return parts

    # A drop: hold the contexts, reconnect, send the rest again.

    async def _maybe_try_reconnect(self, error_message, report_error, error=None) -> bool:
        """Hold the dropped socket's contexts open through Pipecat's reconnect cycle.

        Returns:
            Whether the receive loop goes on (Pipecat's meaning).
        """
        if self._disconnecting:
            return await super()._maybe_try_reconnect(error_message, report_error, error)
        if self._recovery is not None:  # a kept sentence already started the reconnect
            return await asyncio.shield(self._recovery)
        held = [c for c in self.get_audio_contexts() if c in self._sent and c not in self._held]
        self._held.extend(held)
        if held:
            logger.warning(f"{self} socket dropped mid-reply; holding {held} to say the rest")
        async with self._held_open():
            ok = await super()._maybe_try_reconnect(error_message, report_error, error)
        if not ok:
            await self._abandon_held()
        return ok

    async def _recover(self) -> bool:
        """Reconnect for a kept sentence (no receive loop is reconnecting)."""
        try:
            if self._reconnect_in_progress:  # the receive loop got there first: it says them
                return True
            async with self._held_open():
                ok = await self._try_reconnect(report_error=self._report_error)
            if ok:
                self._ensure_receiving()
            else:
                await self._abandon_held()
            return ok
        finally:
            self._recovery = None

    def _ensure_receiving(self) -> None:
        task = self._receive_task
        if task is None or task.done():
            self._receive_task = self.create_task(self._receive_task_handler(self._report_error))
        self._receiving_started()

    @contextlib.asynccontextmanager
    async def _held_open(self) -> AsyncIterator[None]:
        keeper = asyncio.create_task(self._keep_held_open())
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_held_open(self) -> None:
        while True:
            for context_id in self._held:
                self._refresh_audio_context(context_id)
            await asyncio.sleep(KEEP_OPEN_EVERY_SECS)

    async def _close_connection_contexts(self) -> None:
        """End the connection's contexts, except those held to be said on the next one."""
        if self._holding:
            return
        await super()._close_connection_contexts()

    async def _reconnect_websocket(self, attempt_number: int) -> bool:
        """Reconnect keeping the held contexts, then send their unsaid text again."""
        self._holding = bool(self._held)
        try:
            ok = await super()._reconnect_websocket(attempt_number)
        finally:
            self._holding = False
        if ok:
            async with self._send_lock:
                await self._respeak_held()
        return ok

    async def _respeak_held(self) -> None:
        held, self._held = self._held, []
        for context_id in held:
            if not self.audio_context_available(context_id) or context_id in self._abandoned:
                continue  # interrupted meanwhile, played out, or handed to another TTS
            rest = self.unsaid(context_id)
            # From now on the context's text is what was said plus the rest sent below,
            # so a second drop sends only what is still unsaid.
            words = " ".join(self._sent.get(context_id, [])).split()
            said = words[: self._said.get(context_id, 0)]
            self._sent[context_id] = ([" ".join(said)] if said else []) + rest
            logger.info(f"{self} saying the unsaid rest of {context_id}: {rest!r}")
            await self._resend(context_id, rest, context_id in self._closed)

    async def _abandon_held(self) -> None:
        """End the held contexts with what was heard: the TTS is not coming back."""
        held, self._held = self._held, []
        for context_id in held:
            if self.audio_context_available(context_id):
                unsaid = " ".join(self.unsaid(context_id))
                logger.warning(f"{self} could not say {context_id}: {unsaid!r}")
                self._abandoned.add(context_id)
                await self.remove_audio_context(context_id)

    async def hand_over(self) -> str:
        """Give up every open context for another TTS to finish.

        Each ends with what the caller heard (its unsaid words are not recorded), and the
        provider stops synthesising it.

        Returns:
            The text not said yet, in order, with any text still being gathered into a sentence.
        """
        rests: list[str] = []
        for context_id in self.get_audio_contexts():
            if context_id not in self._sent or context_id in self._abandoned:
                continue
            rests.extend(self.unsaid(context_id))
            self._abandoned.add(context_id)
            with contextlib.suppress(Exception):  # the socket may be gone: nothing to stop
                await self._cancel_at_provider(context_id)
            await self.remove_audio_context(context_id)
        self._held = []
        with contextlib.suppress(Exception):
            pending = await self._text_aggregator.flush()
            if pending is not None:
                rests.append(pending.text)
        return " ".join(r.strip() for r in rests if r.strip())

    async def probe(self) -> bool:
        """Whether the socket is up and read; connect it once if nobody is reconnecting.

        A service written off after failed reconnects is made usable again once it connects.

        Returns:
            Whether the service can speak now.
        """
        if self._disconnecting or self._reconnect_in_progress or self._recovery is not None:
            return False
        task = self._receive_task
        if not (self._socket_open() and task is not None and not task.done()):
            await self._connect_websocket()
            if not self._socket_open():
                return False
            self._quick_failure_tracker.reset()
            self._ensure_receiving()
        if not self.is_usable:
            await self.set_usable(True)
        return True

    async def _apply_force_complete(self, context_id: str) -> None:
        """Complete a context's slots; an abandoned context's unsaid words stay unrecorded."""
        if context_id not in self._abandoned:
            await super()._apply_force_complete(context_id)
            return
        frames = self._aggregated_frame_sequencer.force_complete(
            context_id, self._word_timestamp_tracker.last_pts
        )
        for frame in frames:
            if not isinstance(frame, (TTSTextFrame, AggregatedTextProgressFrame)):
                await self.push_frame(frame)
