"""ElevenLabs websocket TTS that finishes a reply its socket dropped, and records only speech.

Pipecat's ``ElevenLabsTTSService`` reconnects a socket that closes mid-reply, but it first ends
every open audio context (``WebsocketTTSService._close_connection_contexts``): the text already
sent and not yet synthesised is never spoken, and ending the context force-completes its words
(``AggregatedFrameSequencer.force_complete``), so the transcript and the LLM context get the
whole reply. Incident: the socket closed 3 messages into a 7.8 s reply; the caller heard 0.96 s,
then silence, and the whole reply was stored.

Here the contexts open on the dropped socket stay open while it reconnects. The words the
provider aligned (its audio arrived) are counted per context; once the new socket is up, the
same context ids are opened on it and the unsynthesised rest of each is sent again (and closed
again if the reply had ended), so its audio lands in the same audio context, in order, and its
word timestamps complete the same transcript entry. A socket the server closes normally
(``1000``) while not asked to is treated as a drop too (Pipecat would stop reading for good).
If the reconnect fails for good, those contexts end with only what the caller heard: their
unsaid words are not force-completed into the transcript.
"""

from __future__ import annotations

import asyncio
import contextlib

from loguru import logger
from pipecat.frames.frames import AggregatedTextProgressFrame, TTSTextFrame
from pipecat.services.elevenlabs.tts import ElevenLabsTTSService
from websockets.exceptions import ConnectionClosedOK

KEEP_OPEN_EVERY_SECS = 1.0  # refresh the held contexts well inside Pipecat's 3 s audio timeout


class ResilientElevenLabsTTSService(ElevenLabsTTSService):
    """``ElevenLabsTTSService`` that re-speaks what a dropped socket left unsaid."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sent: dict[str, list[str]] = {}  # context id -> text sent for it, in order
        self._aligned: dict[str, int] = {}  # context id -> words the provider aligned
        self._closed: set[str] = set()  # contexts the reply's end has closed (flush, close)
        self._held: list[str] = []  # contexts kept open across a reconnect, in order
        self._abandoned: set[str] = set()  # held contexts the reconnect could not save
        self._holding = False

    # Bookkeeping: what was sent, what came back aligned.

    async def _send_text(self, text: str, context_id: str) -> None:
        """Send text and remember it, to re-send what a drop leaves unsynthesised."""
        if context_id:
            self._sent.setdefault(context_id, []).append(text)
        await super()._send_text(text, context_id)

    async def add_word_timestamps(self, word_times, context_id=None, *args, **kwargs) -> None:
        """Count the words the provider aligned (their audio arrived), then pass them on."""
        if context_id in self._sent:
            self._aligned[context_id] = self._aligned.get(context_id, 0) + len(word_times)
        await super().add_word_timestamps(word_times, context_id, *args, **kwargs)

    async def _close_context(self, context_id: str) -> None:
        """Close the provider context; remembered, to close it again on a new socket."""
        self._closed.add(context_id)
        await super()._close_context(context_id)

    def _forget(self, context_id: str) -> None:
        self._sent.pop(context_id, None)
        self._aligned.pop(context_id, None)
        self._closed.discard(context_id)
        self._abandoned.discard(context_id)

    async def on_audio_context_completed(self, context_id: str) -> None:
        """Forget a context that has played out."""
        self._forget(context_id)
        await super().on_audio_context_completed(context_id)

    async def on_audio_context_interrupted(self, context_id: str) -> None:
        """Forget a context the caller interrupted (Pipecat closes it at the provider)."""
        self._forget(context_id)
        await super().on_audio_context_interrupted(context_id)

    def unsaid(self, context_id: str) -> str:
        """The text sent for a context that the provider has not aligned yet.

        Args:
            context_id: The audio context.

        Returns:
            The words after the last aligned one (a word cut by the drop is sent whole).
        """
        words = " ".join(self._sent.get(context_id, [])).split()
        return " ".join(words[self._aligned.get(context_id, 0) :])

    # The drop: hold the contexts, reconnect, re-send the rest.

    async def _receive_messages(self) -> None:
        """Read the socket; a normal close we did not ask for counts as a drop."""
        try:
            await super()._receive_messages()
        except ConnectionClosedOK as exc:
            if self._disconnecting:
                raise
            logger.warning(f"{self} socket closed by the server mid-call ({exc}): reconnecting")

    async def _maybe_try_reconnect(self, error_message, report_error, error=None) -> bool:
        """Hold the dropped socket's contexts open through Pipecat's reconnect cycle.

        Returns:
            Whether the receive loop goes on (Pipecat's meaning).
        """
        if self._disconnecting:
            return await super()._maybe_try_reconnect(error_message, report_error, error)
        held = [c for c in self.get_audio_contexts() if c in self._sent and c not in self._held]
        self._held.extend(held)
        if held:
            logger.warning(f"{self} socket dropped mid-reply; holding {held} to re-speak")
        keeper = asyncio.create_task(self._keep_held_open())
        try:
            ok = await super()._maybe_try_reconnect(error_message, report_error, error)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        if not ok:
            await self._abandon_held()
        return ok

    async def _keep_held_open(self) -> None:
        while True:
            for context_id in self._held:
                self._refresh_audio_context(context_id)
            await asyncio.sleep(KEEP_OPEN_EVERY_SECS)

    async def _close_connection_contexts(self) -> None:
        """End the connection's contexts, except those held to be re-spoken."""
        if self._holding:
            return
        await super()._close_connection_contexts()

    async def _reconnect_websocket(self, attempt_number: int) -> bool:
        """Reconnect keeping the held contexts, then re-send their unsaid text."""
        self._holding = bool(self._held)
        try:
            ok = await super()._reconnect_websocket(attempt_number)
        finally:
            self._holding = False
        if ok:
            await self._respeak_held()
        return ok

    async def _respeak_held(self) -> None:
        held, self._held = self._held, []
        for context_id in held:
            if not self.audio_context_available(context_id):
                continue  # interrupted meanwhile, or played out
            rest = self.unsaid(context_id)
            # From now on the context's text is what was aligned plus the rest sent below,
            # so a second drop re-sends only what is still unsaid.
            words = " ".join(self._sent.get(context_id, [])).split()
            aligned = words[: self._aligned.get(context_id, 0)]
            self._sent[context_id] = [" ".join(aligned)] if aligned else []
            # A word cut by the drop is sent again whole: drop its received fragment.
            self._partial_word, self._partial_word_start_time = "", 0.0
            logger.info(f"{self} re-speaking the unsaid rest of {context_id}: {rest!r}")
            await self._send_context_init(context_id)
            if rest:
                await self._send_text(rest + " ", context_id)
            if context_id in self._closed:
                await self.flush_audio(context_id=context_id)
                await self._close_context(context_id)

    async def _abandon_held(self) -> None:
        """End the held contexts with what was heard: the TTS is not coming back."""
        held, self._held = self._held, []
        for context_id in held:
            if self.audio_context_available(context_id):
                unsaid = self.unsaid(context_id)
                logger.warning(f"{self} could not re-speak {context_id}, unsaid: {unsaid!r}")
                self._abandoned.add(context_id)
                await self.remove_audio_context(context_id)

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
