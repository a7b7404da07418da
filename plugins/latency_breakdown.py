"""Where every millisecond of a turn goes, from Pipecat's ``UserBotLatencyObserver``.

Pipecat's observer (with ``enable_metrics``) names each stretch of a user→bot cycle, from the
moment it dates the end of speech (VAD stop minus VAD ``stop_secs``) to the bot's first audio
leaving the output transport (``BotStartedSpeakingFrame``). Those contributions tile the
interval, so our stages add up to the total exactly. ``InputClock`` then moves the start to
when the caller's voice really ended (the last 10 ms of caller audio above ``VOICE_RMS``, on
the audio's own real-time clock), which is what the caller experiences:

- ``end_of_turn``: silence the VAD waits out, plus turn detection up to the moment the user
  turn is decided (``UserStoppedSpeakingFrame``);
- ``stt``: VAD stop → the final transcript;
- ``llm``: the LLM request → first token, then the first sentence's tokens the TTS waits for;
- ``tts``: first sentence → first audio (TTS first byte);
- ``tool``: tool handlers that ran before the bot spoke;
- ``own``: everything else: our processors (memory recall, ...), frame hops, output transport,
  and input backlog (caller audio the launcher had received but not yet processed when the VAD
  decided: a busy event loop hears the silence late; ``InputClock`` measures it on the audio's
  own clock, since callers send audio in real time);
- ``total``: the caller's silence → the first bot audio sent to the caller.

Per turn: a ``TurnMetrics`` row in storage, the ``switchboard_turn_stage_seconds{stage}``
histogram, and one log line. At the end: a p50/p95 summary per stage on the call row
(``latency``), also shown in ``GET /calls/{id}`` with the time to first greeting and the time
spent in tool calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from loguru import logger
from pipecat.frames.frames import (
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    InputAudioRawFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    MeasuredFrom,
    UserBotLatencyObserver,
)
from pipecat.processors.frame_processor import FrameDirection

from assembly.call import Call, CallPlugin
from storage import TurnMetrics
from turntaking.levels import peak

STAGES = ("end_of_turn", "stt", "llm", "tts", "tool", "own")
VOICE_RMS = 300.0  # 10 ms RMS (int16) above which caller audio counts as voice
RESOURCE_KEY = "latency_breakdown"

_STAGE_OF = {
    "endpointing_wait": "end_of_turn",
    "waiting_for_user": "end_of_turn",
    "transcription": "stt",
    "llm_inference": "llm",
    "llm_tool_call": "llm",
    "awaiting_speakable_text": "llm",
    "sentence_aggregation": "llm",
    "turn_completion": "llm",
    "speech_synthesis": "tts",
    "function_handler": "tool",
}


def stage_seconds(breakdown: LatencyBreakdown) -> dict[str, float]:
    """Seconds per stage (``STAGES`` plus ``total``); the stages sum to ``total``."""
    out = dict.fromkeys(STAGES, 0.0)
    decided = None
    if breakdown.user_turn_start_time is not None and breakdown.user_turn_secs is not None:
        decided = breakdown.user_turn_start_time + breakdown.user_turn_secs
    for c in breakdown.contributions:
        if c.key == "turn_detection" and decided is not None:
            # Up to the turn decision it is end-of-turn wait; after it, our own processors.
            waited = min(max(decided - c.start_time, 0.0), c.duration_secs)
            out["end_of_turn"] += waited
            out["own"] += c.duration_secs - waited
        elif c.key == "turn_detection":
            out["end_of_turn"] += c.duration_secs
        else:
            out[_STAGE_OF.get(c.key, "own")] += c.duration_secs
    out["total"] = sum(c.duration_secs for c in breakdown.contributions)
    return out


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class CallLatency:
    """One call's latency records (kept on ``call.resources``)."""

    turns: list[dict[str, float]] = field(default_factory=list)  # ms per stage, per turn
    first_greeting_ms: float | None = None
    tool_ms_total: float = 0.0
    input_lag_secs: float = 0.0  # backlog at the latest VAD stop (see ``InputClock``)
    silence_error_secs: float = 0.0  # silence the VAD heard beyond its stop_secs (ditto)

    def summary(self) -> dict[str, Any]:
        """p50/p95 per stage (ms), turns, time to first greeting and total tool time."""
        stages = {}
        for stage in (*STAGES, "total"):
            values = [t[stage] for t in self.turns if t.get(stage) is not None]
            if values:
                stages[stage] = {
                    "p50": round(percentile(values, 50), 1),
                    "p95": round(percentile(values, 95), 1),
                }
        return {
            "turns": len(self.turns),
            "first_greeting_ms": self.first_greeting_ms,
            "tool_ms_total": round(self.tool_ms_total, 1),
            "stages": stages,
        }


class InputClock(BaseObserver):
    """How far behind real time the caller's audio was processed when the VAD called a stop.

    Caller audio arrives in real time, so ``arrival - audio position`` is smallest for frames
    read without delay; that minimum maps audio time to the pipeline clock. At a VAD stop,
    the backlog is the push time minus the mapped time of the audio received so far.
    """

    def __init__(self, record: CallLatency, stop_secs: float, voice_rms: float = VOICE_RMS):
        super().__init__(observe_every_push=False)
        self._record = record
        self._stop_secs = stop_secs
        self._voice_rms = voice_rms
        self._position = 0.0  # seconds of caller audio received
        self._offset: float | None = None  # pipeline clock - audio position, at best
        self._voiced_end: float | None = None  # audio position where the last voice ended

    def _note_voice(self, frame: InputAudioRawFrame, start: float) -> None:
        """Remember where voice last ended, to 10 ms (Silero decides on 32 ms windows)."""
        raw = np.frombuffer(frame.audio, dtype=np.int16)
        if peak(raw) <= self._voice_rms:
            return  # no 10 ms block of it can be voiced (most frames: the caller is listening)
        step = frame.sample_rate // 100 * frame.num_channels
        pcm = raw.astype(np.float32)
        blocks = len(pcm) // step
        if blocks == 0:
            return
        rms = np.sqrt(np.mean(pcm[: blocks * step].reshape(blocks, step) ** 2, axis=1))
        voiced = np.flatnonzero(rms > self._voice_rms)
        if len(voiced):
            self._voiced_end = start + (int(voiced[-1]) + 1) * 0.01

    async def on_push_frame(self, data: FramePushed) -> None:
        """Advance the audio clock; note the backlog at each VAD stop."""
        frame = data.frame
        if data.direction != FrameDirection.DOWNSTREAM:
            return
        if isinstance(frame, InputAudioRawFrame) and frame.sample_rate:
            start = self._position
            self._position += len(frame.audio) / (2 * frame.sample_rate * frame.num_channels)
            offset = data.timestamp / 1e9 - self._position
            self._offset = offset if self._offset is None else min(self._offset, offset)
            self._note_voice(frame, start)
        elif isinstance(frame, VADUserStoppedSpeakingFrame) and self._offset is not None:
            lag = data.timestamp / 1e9 - (self._offset + self._position)
            self._record.input_lag_secs = max(0.0, lag)
            if self._voiced_end is not None:
                # Pipecat dates the end of speech at VAD stop - stop_secs; the silence the VAD
                # actually heard differs by up to a window or two (measured: up to ~50 ms).
                heard = self._position - self._voiced_end
                self._record.silence_error_secs = heard - self._stop_secs


class ToolTimer(BaseObserver):
    """Time spent in tool calls over the whole call (``FunctionCallInProgress`` → result)."""

    def __init__(self, record: CallLatency):
        super().__init__(observe_every_push=False)
        self._record = record
        self._starts: dict[str, float] = {}

    async def on_push_frame(self, data: FramePushed) -> None:
        """Start and stop the clock per tool call id."""
        if data.direction != FrameDirection.DOWNSTREAM:
            return
        frame = data.frame
        if isinstance(frame, FunctionCallInProgressFrame):
            self._starts[frame.tool_call_id] = time.monotonic()
        elif isinstance(frame, FunctionCallResultFrame):
            started = self._starts.pop(frame.tool_call_id, None)
            if started is not None:
                self._record.tool_ms_total += (time.monotonic() - started) * 1000


class LatencyBreakdownPlugin(CallPlugin):
    """Per-turn latency stages → storage, ``/metrics``, logs; per-call summary at the end.

    Args:
        storage: The storage backend (``add_turn_metrics``, ``update_call``) or None.
        metrics: The launcher's metrics (``turn_stage_seconds``, ``voice_to_voice_seconds``)
            or None.
    """

    def __init__(self, storage: Any = None, metrics: Any = None):
        self.storage = storage
        self.metrics = metrics

    def observers(self, call: Call) -> list[BaseObserver]:
        """Pipecat's latency observer wired to this call, and the tool timer."""
        record = CallLatency()
        call.resources[RESOURCE_KEY] = record
        observer = UserBotLatencyObserver()

        @observer.event_handler("on_first_bot_speech_latency")
        async def _on_greeting(_observer: Any, seconds: float) -> None:
            call.first_speech_secs = seconds
            record.first_greeting_ms = round(seconds * 1000, 1)
            logger.info(f"[{call.ctx.call_id}] first greeting after {seconds * 1000:.0f} ms")

        @observer.event_handler("on_latency_breakdown")
        async def _on_breakdown(_observer: Any, breakdown: LatencyBreakdown) -> None:
            if breakdown.measured_from == MeasuredFrom.USER_SILENCE:
                await self._on_turn(call, record, breakdown)

        clock = InputClock(record, stop_secs=call.persona.turns.vad_stop_secs)
        return [observer, ToolTimer(record), clock]

    async def _on_turn(self, call: Call, record: CallLatency, breakdown: LatencyBreakdown) -> None:
        secs = stage_seconds(breakdown)
        lag, record.input_lag_secs = record.input_lag_secs, 0.0
        early, record.silence_error_secs = record.silence_error_secs, 0.0
        secs["own"] += lag  # the caller's silence began this much before the VAD heard it
        secs["end_of_turn"] += early  # ... and this much before VAD stop - stop_secs
        secs["total"] += lag + early
        ms = {stage: round(value * 1000, 1) for stage, value in secs.items()}
        record.turns.append(ms)
        call.turn_latencies.append(secs["total"])
        turn = len(record.turns)
        parts = " + ".join(f"{s} {ms[s]:.0f}" for s in STAGES)
        logger.info(
            f"[{call.ctx.call_id}] turn {turn}: total {ms['total']:.0f} ms = {parts}"
            f" (input backlog {lag * 1000:.0f})"
        )
        if self.metrics is not None:
            for stage, value in secs.items():
                self.metrics.turn_stage_seconds.labels(stage=stage).observe(value)
            self.metrics.voice_to_voice_seconds.observe(secs["total"])
        if self.storage is not None:
            row = TurnMetrics(call_id=call.ctx.call_id, turn=turn, **{
                f"{stage}_ms": ms[stage] for stage in (*STAGES, "total")
            })
            try:  # observer handlers run as tasks: this write is off the audio path
                await self.storage.add_turn_metrics(row)
            except Exception as exc:
                logger.warning(f"[{call.ctx.call_id}] turn metrics not stored: {exc!r}")

    def details(self, call: Call) -> dict[str, Any]:
        """What ``GET /calls/{id}`` shows: per-turn stages and the summary so far."""
        record = call.resources.get(RESOURCE_KEY)
        if not isinstance(record, CallLatency):
            return {}
        return {"latency": {"turns_ms": list(record.turns), **record.summary()}}

    async def detach(self, call: Call) -> None:
        """Write the per-call summary to the call row (a missing row is not an error)."""
        record = call.resources.get(RESOURCE_KEY)
        if self.storage is None or not isinstance(record, CallLatency):
            return
        try:
            await self.storage.update_call(call.ctx.call_id, latency=record.summary())
        except KeyError:
            logger.debug(f"[{call.ctx.call_id}] no call row for the latency summary")
        except Exception as exc:
            logger.warning(f"[{call.ctx.call_id}] latency summary not stored: {exc!r}")
