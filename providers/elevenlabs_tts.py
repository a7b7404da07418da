"""ElevenLabs websocket TTS that never loses a sentence to its socket (``providers.tts_respeak``).

ElevenLabs sends each audio message with its character alignment, so a word is said once its
alignment arrives. A context sent again on a new socket is opened there with its voice settings
(the same context id), and a word cut by the drop is sent whole. A socket the server closes
normally (``1000``) while not asked to is treated as a drop too (Pipecat would stop reading for
good).
"""

from __future__ import annotations

from loguru import logger
from pipecat.services.elevenlabs.tts import ElevenLabsTTSService
from websockets.exceptions import ConnectionClosedOK

from providers.tts_respeak import RespeakingTTS

KEEPALIVE_SECS = 10  # as Pipecat's ElevenLabs service sends them


class ResilientElevenLabsTTSService(RespeakingTTS, ElevenLabsTTSService):
    """``ElevenLabsTTSService`` that says what a dropped or down socket left unsaid."""

    async def _close_context(self, context_id: str) -> None:
        """Close the provider context; remembered, to close it again on a new socket."""
        self._closed.add(context_id)
        if context_id not in self._held:  # else its re-send closes it
            await super()._close_context(context_id)

    async def _receive_messages(self) -> None:
        """Read the socket; a normal close we did not ask for counts as a drop."""
        try:
            await super()._receive_messages()
        except ConnectionClosedOK as exc:
            if self._disconnecting:
                raise
            logger.warning(f"{self} socket closed by the server mid-call ({exc}): reconnecting")

    def _context_opened(self, context_id: str) -> None:
        self._reset_word_clock()  # as Pipecat does for a context it opens

    async def _cancel_at_provider(self, context_id: str) -> None:
        await ElevenLabsTTSService._close_context(self, context_id)

    def _receiving_started(self) -> None:
        self._create_keepalive_task(interval=KEEPALIVE_SECS)

    async def _resend(self, context_id: str, rest: list[str], closed: bool) -> None:
        # A word cut by the drop is sent again whole: drop its received fragment.
        self._partial_word, self._partial_word_start_time = "", 0.0
        await self._send_context_init(context_id)
        for text in rest:
            await self._send_text(text + " ", context_id)
        if closed:
            await self.flush_audio(context_id=context_id)
            await self._close_context(context_id)
