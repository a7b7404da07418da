"""Cartesia websocket TTS that never loses a sentence to its socket (``providers.tts_respeak``).

Cartesia may time a transcript's words before their audio has arrived, so a word counts as said
only once the context's audio reaches the start of the next word (or the context is done); the
words timed beyond the audio that arrived are the unsaid rest. A context sent again on a new
socket is a new context for Cartesia, whose times start at zero: they are shifted by the audio
the context already had. Pipecat's service reconnects a socket the server closed normally
without saying what it left unsaid; here that close goes through the same reconnect cycle as a
drop.
"""

from __future__ import annotations

import json

from pipecat.frames.frames import TTSAudioRawFrame, TTSStoppedFrame
from pipecat.services.cartesia.tts import CartesiaTTSService

from providers.tts_respeak import RespeakingTTS


class ResilientCartesiaTTSService(RespeakingTTS, CartesiaTTSService):
    """``CartesiaTTSService`` that says what a dropped or down socket left unsaid."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._audio_secs: dict[str, float] = {}  # context id -> audio arrived for it
        self._shift: dict[str, float] = {}  # context id -> added to its times (a re-send)
        self._timed: dict[str, list[tuple[str, float]]] = {}  # words timed, audio not there
        self._timing_args: dict[str, dict] = {}

    async def _receive_messages(self) -> None:
        """Read the socket until it closes; Pipecat's loop then reconnects and re-sends."""
        await self._process_messages()

    async def add_word_timestamps(self, word_times, context_id=None, *args, **kwargs) -> None:
        """Hold timed words until their audio has arrived."""
        if context_id not in self._sent or args:
            await super().add_word_timestamps(word_times, context_id, *args, **kwargs)
            return
        shift = self._shift.get(context_id, 0.0)
        self._timed.setdefault(context_id, []).extend((w, t + shift) for w, t in word_times)
        self._timing_args[context_id] = kwargs
        await self._release_words(context_id, done=False)

    async def append_to_audio_context(self, context_id: str | None, frame) -> None:
        """Append audio (counting it) or the context's end (after the words it completes)."""
        if isinstance(frame, TTSStoppedFrame) and context_id in self._timed:
            await self._release_words(context_id, done=True)
        await super().append_to_audio_context(context_id, frame)
        if isinstance(frame, TTSAudioRawFrame) and context_id in self._sent:
            per_sec = 2 * max(frame.num_channels, 1) * frame.sample_rate
            self._audio_secs[context_id] = self._audio_secs.get(context_id, 0.0) + (
                len(frame.audio) / per_sec
            )
            await self._release_words(context_id, done=False)

    async def _release_words(self, context_id: str, done: bool) -> None:
        timed = self._timed.get(context_id, [])
        heard = self._audio_secs.get(context_id, 0.0)
        count = len(timed)
        if not done:  # a word is said once the audio reaches the next word's start
            count = 0
            while count + 1 < len(timed) and timed[count + 1][1] <= heard:
                count += 1
        if count:
            words, self._timed[context_id] = timed[:count], timed[count:]
            kwargs = self._timing_args.get(context_id, {})
            await super().add_word_timestamps(words, context_id, **kwargs)

    async def flush_audio(self, context_id: str | None = None) -> None:
        """End the context at the provider; remembered, to end it again on a new socket."""
        flush_id = context_id or self.get_active_audio_context_id()
        if flush_id:
            self._closed.add(flush_id)
        await super().flush_audio(context_id)

    def _forget(self, context_id: str) -> None:
        super()._forget(context_id)
        for kept in (self._audio_secs, self._shift, self._timed, self._timing_args):
            kept.pop(context_id, None)

    async def _cancel_at_provider(self, context_id: str) -> None:
        if self._socket_open():
            await self._websocket.send(json.dumps({"context_id": context_id, "cancel": True}))

    async def _resend(self, context_id: str, rest: list[str], closed: bool) -> None:
        # The new Cartesia context times from zero, after the audio this one already has; the
        # words timed on the old socket without their audio are in ``rest``.
        self._shift[context_id] = self._audio_secs.get(context_id, 0.0)
        self._timed[context_id] = []
        for text in rest:
            await self._websocket.send(self._build_msg(text=text, context_id=context_id))
        if closed:
            await super().flush_audio(context_id=context_id)
