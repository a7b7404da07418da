"""``BargeInStartStrategy``: starts user turns, and while the bot speaks, pauses, then decides.

A Pipecat user turn start strategy. When the caller starts speaking over the bot, the bot's
audio is paused at the caller (``transports.playout.PlayoutGate``) instead of flushed. The
caller's utterance, and only that utterance, is then judged by its words:

* a real interruption (any non-acknowledgement word, an explicit "wait" / "stop" / "no" /
  "hold on", or speech that goes on past ``interrupt_after_secs``) starts the user turn with
  Pipecat's interruption: the bot stops, the context keeps what was heard;
* a backchannel ("mm-hmm", "okay", "got it") or a noise with no words resumes the bot where it
  paused; no LLM turn starts and the context does not record it (a ``UserBackchannelFrame``
  goes down the pipeline instead of a transcription).

When the bot is not speaking, any speech starts the turn at once, as Pipecat's VAD strategy
does. Event handlers: ``on_backchannel(strategy, text, paused_secs)`` and
``on_interruption(strategy, text, reason, paused_secs)``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    UserBackchannelFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_start import BaseUserTurnStartStrategy
from pipecat.utils.time import time_now_iso8601

from transports.playout import PlayoutGate
from turntaking.acoustic import UtteranceEnd
from turntaking.lexicon import interrupts, is_backchannel


@dataclass(frozen=True)
class BargeInPolicy:
    """How the caller may talk over the bot, from ``TurnSettings``.

    Attributes:
        mode: ``adaptive`` (pause, then decide), ``immediate`` (any speech stops the bot, as
            Pipecat's VAD strategy) or ``off`` (the bot finishes what it is saying).
        interrupt_after_secs: Speech over the bot that goes on this long interrupts even
            before any word is transcribed.
        resume_after_secs: After the caller stops, how long to wait for the words of what
            they said before resuming (nothing transcribed means it was a noise).
        grace_secs: Speech starting this soon after the bot's audio ended is judged as if the
            bot were still speaking (the caller is still hearing its last words).
        max_backchannel_words: Longer utterances are never acknowledgements.
        extra_backchannels: More acknowledgement phrases the persona accepts (lowercase).
    """

    mode: str = "adaptive"
    interrupt_after_secs: float = 1.0
    resume_after_secs: float = 0.3
    grace_secs: float = 0.4
    max_backchannel_words: int = 4
    extra_backchannels: frozenset[str] = frozenset()


class BargeInStartStrategy(BaseUserTurnStartStrategy):
    """Start strategy with backchannel-aware barge-in.

    Args:
        policy: The persona's barge-in settings.
        gate: The call's playout gate; None decides the same way without pausing.
    """

    def __init__(self, *, policy: BargeInPolicy, gate: PlayoutGate | None = None) -> None:
        super().__init__(enable_interruptions=policy.mode != "off")
        self._policy = policy
        self._gate = gate
        self._turn = False
        self._bot_speaking = False
        self._bot_stopped_at = 0.0
        self._vad_speaking = False
        self._deciding = False
        self._paused_at = 0.0
        self._finals: list[str] = []
        self._interim = ""
        self._settled_at = 0.0  # when the last backchannel was settled
        self._ended = UtteranceEnd()
        self._timer: asyncio.Task | None = None
        self._register_event_handler("on_backchannel")
        self._register_event_handler("on_interruption")

    async def cleanup(self) -> None:
        """Stop timers; never leave the bot paused."""
        await super().cleanup()
        await self._cancel_timer()
        if self._gate is not None and self._gate.paused:
            await self._gate.resume()

    async def handle_user_turn_started(self) -> None:
        """A user turn is on: speech now belongs to it until it ends."""
        self._turn = True

    async def handle_user_turn_stopped(self) -> None:
        """The user turn ended."""
        self._turn = False

    def _bot_audible(self) -> bool:
        """Whether the caller hears, or just heard, the bot."""
        recent = time.monotonic() - self._bot_stopped_at < self._policy.grace_secs
        return self._bot_speaking or self._deciding or recent

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        """Track the bot and the caller; decide turn starts and barge-ins."""
        if isinstance(frame, InputAudioRawFrame):
            if self._deciding and self._ended.feed(frame.audio, frame.sample_rate):
                await self._maybe_settle_early()
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            await self._on_bot_stopped()
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._vad_speaking = True
            return await self._on_speech_started()
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._vad_speaking = False
            if self._deciding:
                await self._on_speech_stopped()
        elif isinstance(frame, (TranscriptionFrame, InterimTranscriptionFrame)):
            return await self._on_words(frame.text, final=isinstance(frame, TranscriptionFrame))
        return ProcessFrameResult.CONTINUE

    async def _on_bot_stopped(self) -> None:
        self._bot_speaking = False
        self._bot_stopped_at = time.monotonic()

    async def _on_speech_started(self) -> ProcessFrameResult:
        if self._turn:
            return ProcessFrameResult.CONTINUE  # more of a turn already under way
        if not self._bot_audible() or self._policy.mode == "immediate":
            await self.trigger_user_turn_started()
            return ProcessFrameResult.STOP
        if self._policy.mode == "off":
            await self.trigger_user_turn_started(enable_interruptions=False)
            return ProcessFrameResult.STOP
        # A new utterance over the bot: its words are judged alone.
        self._finals, self._interim = [], ""
        self._ended.reset()
        if not self._deciding:
            self._deciding = True
            self._paused_at = time.monotonic()
            if self._gate is not None:
                await self._gate.pause()
        self._arm(self._policy.interrupt_after_secs, self._speech_went_on)
        return ProcessFrameResult.STOP

    async def _on_speech_stopped(self) -> None:
        text = self._text()
        if self._finals and is_backchannel(text, *self._vocabulary()):
            await self._settle_backchannel(text)
        else:
            self._arm(self._policy.resume_after_secs, self._no_words)

    async def _on_words(self, text: str, *, final: bool) -> ProcessFrameResult:
        if not text.strip() or self._turn:
            return ProcessFrameResult.CONTINUE
        if self._deciding:
            if final:
                self._finals.append(text.strip())
                self._interim = ""
            else:
                self._interim = text.strip()
            words = self._text()
            if interrupts(words, *self._vocabulary(), partial=not final):
                await self._interrupt(words, "words")
            elif final and not self._vad_speaking:
                await self._settle_backchannel(words)
            elif self._ended.ended:
                await self._maybe_settle_early()
            return ProcessFrameResult.STOP
        recently_settled = time.monotonic() - self._settled_at < 1.5
        if (self._bot_audible() or recently_settled) and is_backchannel(text, *self._vocabulary()):
            if final:  # words without a VAD start, or late words of a settled backchannel
                await self._report_backchannel(text.strip())
            return ProcessFrameResult.STOP
        # Words and no turn: the VAD missed the speech (Pipecat's transcription fallback).
        await self.trigger_user_turn_started()
        return ProcessFrameResult.STOP

    async def _maybe_settle_early(self) -> None:
        """Resume as soon as the voice has ended if the words heard so far acknowledge.

        The VAD reports the end 0.2 s and more after the voice; an interim that holds only
        acknowledgements (or the start of one: "I" of "I see"), or a final of nothing else
        (an STT that endpoints on its own sends it before the VAD's stop), lets a backchannel
        end its pause as soon as the caller's voice has. A late final that says otherwise
        still interrupts.
        """
        text = self._text()
        if self._interim:
            acknowledges = not interrupts(text, *self._vocabulary(), partial=True)
        else:  # an STT that endpoints on its own sent the final before the VAD's stop
            acknowledges = bool(self._finals) and is_backchannel(text, *self._vocabulary())
        if acknowledges:
            await self._settle_backchannel(text)

    def _vocabulary(self) -> tuple[frozenset[str], int]:
        return self._policy.extra_backchannels, self._policy.max_backchannel_words

    def _text(self) -> str:
        return " ".join([*self._finals, self._interim]).strip()

    async def _speech_went_on(self) -> None:
        if self._deciding and self._vad_speaking:
            await self._interrupt(self._text(), "long_speech")

    async def _no_words(self) -> None:
        if self._deciding and not self._vad_speaking:
            await self._settle_backchannel(self._text())

    async def _interrupt(self, text: str, reason: str) -> None:
        paused = time.monotonic() - self._paused_at
        self._deciding = False
        await self._cancel_timer()
        logger.debug(f"{self}: barge-in ({reason}) {text!r} after {paused:.2f} s paused")
        await self._call_event_handler("on_interruption", text, reason, paused)
        if self._gate is not None:
            # Drop the held audio first: the gate then stays shut until the interruption
            # below has emptied the output, so nothing stale slips out in between.
            await self._gate.discard()
        await self.trigger_user_turn_started()

    async def _settle_backchannel(self, text: str) -> None:
        paused = time.monotonic() - self._paused_at
        self._deciding = False
        await self._cancel_timer()
        if self._gate is not None:
            await self._gate.resume()
        self._settled_at = time.monotonic()
        logger.debug(f"{self}: backchannel {text!r}, resumed after {paused:.2f} s")
        await self._call_event_handler("on_backchannel", text, paused)
        if self._finals:  # transcribed: keep it out of the context (a later final is too)
            await self._report_backchannel(text)

    async def _report_backchannel(self, text: str) -> None:
        """Keep the acknowledgement out of the context; tell the pipeline it was heard."""
        await self.trigger_reset_aggregation()
        await self.push_frame(UserBackchannelFrame(text, user_id="", timestamp=time_now_iso8601()))

    def _arm(self, delay: float, action) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = self.task_manager.create_task(self._fire(delay, action), f"{self}::timer")

    async def _fire(self, delay: float, action) -> None:
        await asyncio.sleep(delay)
        self._timer = None
        await action()

    async def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and not timer.done() and timer is not asyncio.current_task():
            await self.task_manager.cancel_task(timer)
