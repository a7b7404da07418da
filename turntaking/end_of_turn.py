"""``EndOfTurnStopStrategy``: ends the caller's turn from words, smart-turn and silence.

A Pipecat user turn stop strategy. It runs smart-turn over the turn's audio (off the frame path)
when the STT's endpoint final says the speech ended, or else when the VAD reports the caller
stopped, reads the transcript as it arrives, and re-decides on every change and every 20 ms of
silence (``turntaking.decision``). A complete utterance is
answered as soon as its final transcript is in; an unfinished one waits, at most
``max_wait_secs`` of silence. Silence is counted in audio received, not wall time. Complete
words that arrive before the VAD's stop start the reply early (``turntaking.early_reply``).

Event handlers:
    on_end_of_turn(strategy, decision: EndOfTurnDecision): the turn was ended, and why.
    on_reply_lost(strategy): a confirmed early reply was withdrawn: run the LLM again.
    on_final_missing(strategy, text: str): the STT sent words but no final for them, and the
        turn's wait ran out: the interim ``text`` should reach the context as the caller's
        words (rather than the turn going unanswered). The strategy then sees it as a final.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from loguru import logger
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    EagerEndOfTurnCancelFrame,
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    MetricsFrame,
    STTMetadataFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameProcessorSetup
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_stop import BaseUserTurnStopStrategy

from turntaking.acoustic import PRE_SPEECH_SECS, AudioRing, TurnModel, VoiceResumption
from turntaking.decision import EndOfTurnPolicy, TurnSignals, Verdict, decide
from turntaking.early_reply import EarlyReply
from turntaking.lexicon import TextCue, text_cue

STALLED_AUDIO_SECS = 1.0  # no audio for this long: count silence on the wall clock instead
PROMOTED_WAIT_SECS = 0.5  # the interim handed on as a final comes back within this
RESUME_HOLD_LIMIT_SECS = 1.0  # a resumption the VAD never confirms holds at most this past the cap


@dataclass(frozen=True)
class EndOfTurnDecision:
    """Why a turn ended (for logs, metrics and the benchmark).

    Attributes:
        reason: ``words``, ``acoustic``, ``hold``, ``cap`` or ``no_words``.
        silence_secs: Silence after the caller's voice when the turn ended.
        probability: Smart-turn's probability, if it had answered.
        cue: What the words suggested (``complete``, ``unfinished``, ``neutral``).
        text: The turn's words.
        early_reply: Whether the reply was already generated (started on the words before
            the VAD's stop) and was released rather than requested now.
    """

    reason: str
    silence_secs: float
    probability: float | None
    cue: str
    text: str
    early_reply: bool = False


class EndOfTurnStopStrategy(BaseUserTurnStopStrategy):
    """Ends user turns on one decision from words, smart-turn v3 and silence.

    Args:
        policy: The persona's waits (``TurnSettings``).
        model: Smart-turn for this call, or None to decide from words and silence alone.
        early_reply: Start the reply on complete words before the end of turn is confirmed.
    """

    def __init__(
        self,
        *,
        policy: EndOfTurnPolicy,
        model: TurnModel | None = None,
        early_reply: bool = True,
    ) -> None:
        super().__init__()
        self._policy = policy
        self._model = model
        self._audio = AudioRing()
        self._resumption = VoiceResumption()
        self._closed = False  # a finalized transcript covered everything before the VAD stop
        self._turn = False
        self._speaking = False
        self._utterance_start: float | None = None  # audio clock, last VAD start
        self._speech_start: float | None = None  # first speech of the current turn
        self._voice_end: float | None = None  # audio clock
        self._voice_end_wall = 0.0
        self._last_audio_wall = time.monotonic()
        self._finals: list[str] = []
        self._last_final_at: float | None = None  # audio clock when the latest final arrived
        self._last_final_endpoint = False  # the STT sent it on hearing the speech end
        self._interim = ""
        self._finalized = False
        self._probability: float | None = None
        self._inferred_to: float | None = None  # audio clock where the model's input ends
        self._last_loud = 0.0  # audio clock at the end of the latest loud chunk
        self._generation = 0
        self._deadline: float | None = None
        self._just_started = False
        self._inference: asyncio.Task | None = None
        self._safety: asyncio.Task | None = None
        self._early = EarlyReply(
            self, enabled=early_reply, on_lost=lambda: self._call_event_handler("on_reply_lost")
        )
        self._register_event_handler("on_end_of_turn")
        self._register_event_handler("on_reply_lost")
        self._register_event_handler("on_final_missing")
        self._promoted = False  # this turn's interim words were handed on as its final

    async def setup(self, setup: FrameProcessorSetup) -> None:
        """Learn the input sample rate."""
        await super().setup(setup)
        self._audio.set_rate(setup.audio_in_sample_rate)
        if self._model is not None:
            self._model.set_rate(setup.audio_in_sample_rate)

    async def cleanup(self) -> None:
        """Stop pending work."""
        await super().cleanup()
        await self._cancel_tasks()

    async def handle_user_turn_started(self) -> None:
        """Arm for the turn now starting.

        The start strategy runs before this strategy sees the frame that started the turn, so
        whether the turn began with its speech (a VAD start) or after it (a barge-in decided
        on the words of speech that already ended) is settled in ``process_frame``.
        """
        await self._cancel_tasks()
        self._early.settled()
        await self._early.withdraw("a new turn")
        self._turn = True
        self._just_started = True
        self._resumption.reset()
        self._finals, self._interim, self._probability = [], "", None
        self._speech_start = None
        self._promoted = False

    async def handle_user_turn_stopped(self) -> None:
        """Forget the finished turn."""
        await self._cancel_tasks()
        await self._early.withdraw("the turn ended otherwise")
        self._turn = self._just_started = False
        self._finals, self._interim, self._probability = [], "", None
        self._speech_start = None

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        """Track audio, VAD, transcripts; decide when anything changes."""
        await self._track(frame)
        if self._just_started:
            await self._settle_start()
        return ProcessFrameResult.CONTINUE

    async def _settle_start(self) -> None:
        self._just_started = False
        if self._speech_start is None:
            self._speech_start = (
                self._utterance_start if self._utterance_start is not None else self._audio.now
            )
        if not self._speaking and self._voice_end is not None:
            # Started by words of speech that already ended (a barge-in decided on its final).
            if self._model_may_matter():
                self._start_inference()
            await self._evaluate()

    async def _track(self, frame: Frame) -> None:
        if isinstance(frame, InputAudioRawFrame):
            self._audio.append(frame.audio)
            self._last_audio_wall = time.monotonic()
            if self._speaking:
                if self._resumption.voice(frame.audio):
                    self._last_loud = self._audio.now
                    self._inferred_to = None  # voice after what smart-turn judged: judge again
            elif self._deadline is not None:
                self._resumption.silence(frame.audio, self._audio.now, self._audio.rate)
            if self._deadline is not None and self._silence() >= self._deadline:
                await self._evaluate()
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            self._speaking = True
            self._utterance_start = max(0.0, self._audio.now - frame.start_secs)
            if self._turn and self._speech_start is None:
                self._speech_start = self._utterance_start
            await self._cancel_tasks()
            await self._early.withdraw("the caller's voice came back")
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            self._speaking = False
            self._voice_end = max(0.0, self._audio.now - frame.stop_secs)
            self._voice_end_wall = time.monotonic() - frame.stop_secs
            self._finalized = False
            self._closed = False
            judged = self._judged_whole_speech()
            if not judged:
                self._probability = None  # a verdict on earlier speech of this turn is stale
            if self._ended_by_stt_endpoint():
                self._finalized = self._closed = True
            if self._turn:
                if not judged and self._model_may_matter():
                    self._start_inference()
                await self._evaluate()
        elif isinstance(frame, TranscriptionFrame):
            # Deepgram marks the final its own endpointing sent (a pause heard) speech_final.
            self._last_final_endpoint = bool(getattr(frame.result, "speech_final", False))
            await self._on_transcript(frame.text, final=True, finalized=frame.finalized)
        elif isinstance(frame, InterimTranscriptionFrame):
            await self._on_transcript(frame.text, final=False, finalized=False)
        elif isinstance(frame, STTMetadataFrame) and frame.ttfs_p99_latency is not None:
            self._policy = replace(self._policy, transcript_wait_secs=frame.ttfs_p99_latency)
        elif isinstance(frame, EagerEndOfTurnCancelFrame):
            await self._early.withdrawn_by_llm()
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._early.settled()

    def _judged_whole_speech(self) -> bool:
        """Whether smart-turn already has (or is judging) all of the speech that just ended.

        True after an inference started on the STT's endpoint with no loud audio since: the
        model's input holds the whole utterance, so its verdict stands at the VAD's stop.
        """
        return self._inferred_to is not None

    def _ended_by_stt_endpoint(self) -> bool:
        """Whether the STT's own endpoint already closed the words before the VAD's stop.

        An STT that endpoints on its own (Deepgram's default) sends the last final during
        the VAD's stop window, marked as ending the speech or arriving after the voice ended;
        with no interim after it no words are pending, and the ``Finalize`` the VAD stop
        sends comes back empty.
        """
        if not self._finals or self._interim or self._last_final_at is None:
            return False
        after_voice = self._voice_end is not None and self._last_final_at >= self._voice_end
        return self._last_final_endpoint or after_voice

    async def _on_transcript(self, text: str, *, final: bool, finalized: bool) -> None:
        if not self._turn or not text.strip():
            return
        if final:
            self._finals.append(text.strip())
            self._last_final_at = self._audio.now
            self._interim = ""
            # A final that arrives after the VAD stop covers the speech before it: the STT
            # ended it on its own endpoint (Deepgram's default), or on our Finalize.
            after_stop = not self._speaking and self._voice_end is not None
            self._finalized = finalized or after_stop
            self._closed = self._closed or self._finalized
        else:
            self._interim = text.strip()
            self._finalized = False
            if self._closed and not self._speaking:
                self._resumption.words(self._audio.now)  # words after the final: caller's back
        if not self._speaking and self._voice_end is None:
            # Words with no VAD stop (the VAD missed the speech): silence counts from now.
            self._voice_end = self._audio.now
            self._voice_end_wall = time.monotonic()
        await self._evaluate()
        if self._turn:  # not answered yet: reply early to words that may be all, drop stale ones
            words = self._text()
            complete = final and text_cue(words) is not TextCue.UNFINISHED
            await self._early.words(words, complete=complete)
            if final and self._speaking and self._last_final_endpoint and self._model_may_matter():
                # The STT heard the speech end: judge the audio now, not after the VAD's stop,
                # with the rest of the silence the stop will have heard by then.
                heard = self._audio.now - self._last_loud
                self._start_inference(pad_secs=max(0.0, self._policy.vad_stop_secs - heard))

    def _text(self) -> str:
        return " ".join([*self._finals, self._interim]).strip()

    def _silence(self) -> float:
        if self._voice_end is None:
            return 0.0
        silence = self._audio.now - self._voice_end
        if time.monotonic() - self._last_audio_wall > STALLED_AUDIO_SECS:
            silence = max(silence, time.monotonic() - self._voice_end_wall)
        return silence

    async def _evaluate(self) -> None:
        if not self._turn or self._speaking or self._voice_end is None:
            return
        silence = self._silence()
        limit = self._policy.max_wait_secs + RESUME_HOLD_LIMIT_SECS
        if self._resumption.resuming(self._audio.now) and silence < limit:
            self._deadline = silence + 0.02  # look again at the next chunk
            self._arm_safety(silence)
            return
        signals = TurnSignals(
            self._silence(),
            self._text(),
            self._finalized,
            self._probability,
            has_final_words=bool(self._finals),
        )
        verdict = decide(signals, self._policy)
        if verdict.answer and verdict.reason == "no_words" and self._interim and not self._promoted:
            # Words with no final (the STT lost it): answer them rather than nothing.
            self._promoted = True
            logger.warning(f"{self}: no final transcript for {self._interim!r}: using it")
            await self._call_event_handler("on_final_missing", self._interim)
            self._deadline = signals.silence_secs + PROMOTED_WAIT_SECS
            self._arm_safety(signals.silence_secs)
            return
        if verdict.answer:
            await self._answer(signals, verdict)
            return
        if verdict.reason == "wait_model" and self._inference is None:
            self._start_inference()  # the words turned out neutral: now smart-turn matters
        self._deadline = verdict.wait_until_secs
        self._arm_safety(signals.silence_secs)

    def _model_may_matter(self) -> bool:
        """Whether smart-turn may decide this turn, judged at the VAD stop.

        Complete words (a question, a closing) decide without it, so its ~50 ms of inference
        (after Silero, the largest share of a call's CPU) is skipped for them. Words that
        look unfinished at the VAD stop are often an interim that lacks the last words ("...
        my appointment to" of "... to next week"), so they do not skip it.
        """
        text = self._text()
        return not text or text_cue(text) is not TextCue.COMPLETE

    async def _answer(self, signals: TurnSignals, verdict: Verdict) -> None:
        self._deadline = None
        early = self._early.answers(signals.text)
        decision = EndOfTurnDecision(
            reason=verdict.reason,
            silence_secs=round(signals.silence_secs, 3),
            probability=signals.probability,
            cue=text_cue(signals.text).value,
            text=signals.text,
            early_reply=early,
        )
        logger.debug(
            f"{self}: end of turn ({decision.reason}) after {decision.silence_secs:.2f} s "
            f"silence, cue {decision.cue}, p={decision.probability}"
        )
        await self._call_event_handler("on_end_of_turn", decision)
        if not await self._early.end_turn(signals.text):
            await self.trigger_user_turn_stopped()

    def _arm_safety(self, silence: float) -> None:
        """Re-decide on the wall clock if the audio clock stops advancing (audio stalled)."""
        if self._safety is not None or self._deadline is None:
            return
        delay = max(0.0, self._deadline - silence) + STALLED_AUDIO_SECS
        self._safety = self.task_manager.create_task(
            self._safety_check(delay), f"{self}::safety"
        )

    async def _safety_check(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._safety = None
        await self._evaluate()

    def _start_inference(self, pad_secs: float = 0.0) -> None:
        if self._model is None or self._speech_start is None:
            return
        self._generation += 1
        self._probability = None
        self._inferred_to = None
        audio = self._audio.since(max(0.0, self._speech_start - PRE_SPEECH_SECS), pad_secs)
        if len(audio) == 0:
            return
        self._inferred_to = self._audio.now
        self._inference = self.task_manager.create_task(
            self._infer(audio, self._generation), f"{self}::smart_turn"
        )

    async def _infer(self, audio, generation: int) -> None:
        assert self._model is not None
        metrics = await self._model.probability(audio)
        if generation != self._generation:
            return  # the caller spoke again, or a later inference replaced it: stale
        self._probability = metrics.probability
        await self.push_frame(MetricsFrame(data=[metrics]))
        await self._evaluate()

    async def _cancel_tasks(self) -> None:
        self._generation += 1
        self._deadline = None
        self._inferred_to = None
        for task in (self._inference, self._safety):
            if task is not None and not task.done() and task is not asyncio.current_task():
                await self.task_manager.cancel_task(task)
        self._inference = self._safety = None
