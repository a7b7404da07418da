"""What a simulated call measured, as plain dataclasses (``CallResult.to_dict()`` is JSON-ready).

All times are seconds relative to the moment the caller sent Twilio's ``start`` message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulators.callers.playout import PlayoutModel
from simulators.callers.twiml import TwimlAnswer

_PCM_MARGIN_SECS = 0.2  # context kept around each bot utterance's audio


@dataclass
class CallerTurn:
    """One caller utterance (a ``Say`` or ``BargeIn`` step).

    Attributes:
        index: Position among the caller's turns.
        label: The text spoken, or ``"<pcm>"`` for raw audio.
        start: When the first speech chunk's audio began (send time of that chunk minus 20 ms).
        end: When the last speech chunk was sent (end of the caller's voice).
        barge_in: True if spoken by a ``BargeIn`` step.
        voice_to_voice_secs: ``end`` to the start of the first bot utterance after it (and before
            the caller's next turn), or None if the bot did not answer.
        reply_utterance: Index into ``CallResult.bot_utterances`` of that reply.
    """

    index: int
    label: str
    start: float
    end: float
    barge_in: bool = False
    voice_to_voice_secs: float | None = None
    reply_utterance: int | None = None


@dataclass
class BotUtterance:
    """A stretch of bot speech as the caller heard it.

    Attributes:
        index: Position among the bot's utterances.
        start: Playout time of its first voiced audio.
        end: Playout time of its last voiced audio (after any ``clear`` truncation).
        first_arrival: When the media message carrying its first voiced audio arrived.
        gaps: Underruns inside it as ``(at, duration_secs)``.
        truncated_by_clear: True if a ``clear`` discarded queued audio of this utterance.
        pcm: The played-out audio of ``[start - 0.2, end + 0.2]`` (clipped), int16 at 8 kHz.
    """

    index: int
    start: float
    end: float
    first_arrival: float
    gaps: list[tuple[float, float]] = field(default_factory=list)
    truncated_by_clear: bool = False
    pcm: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16), repr=False)

    @property
    def duration(self) -> float:
        """Seconds from first to last voiced audio."""
        return self.end - self.start

    @property
    def max_gap_secs(self) -> float:
        """Longest underrun inside the utterance (0 if none)."""
        return max((d for _, d in self.gaps), default=0.0)


@dataclass
class BargeInMetrics:
    """How the bot reacted when the caller talked over it.

    Attributes:
        turn_index: The caller turn that barged in.
        start: When the caller started speaking.
        bot_speaking: Whether bot audio was playing at ``start``.
        clear_at: First ``clear`` received at or after ``start``.
        clear_latency_secs: ``clear_at - start``.
        audio_stop_secs: From ``start`` to the end of the bot utterance that was playing.
    """

    turn_index: int
    start: float
    bot_speaking: bool
    clear_at: float | None = None
    clear_latency_secs: float | None = None
    audio_stop_secs: float | None = None


@dataclass
class MessageRecord:
    """One websocket message; ``data`` is the JSON minus media payloads."""

    t: float
    direction: str  # "sent" | "received"
    event: str
    data: dict[str, Any] | None = None


@dataclass
class MarkRecord:
    """A ``mark`` from the bot and when the caller echoed it back (None if never)."""

    name: str
    received_at: float
    answered_at: float | None = None


@dataclass
class CallResult:
    """Everything one simulated call observed and measured."""

    call_sid: str
    stream_sid: str
    account_sid: str
    ws_url: str | None = None
    custom_parameters: dict[str, str] = field(default_factory=dict)
    twiml: TwimlAnswer | None = None
    rejected: bool = False
    rejected_text: str = ""
    connected: bool = False
    t0_monotonic: float = 0.0
    duration_secs: float = 0.0
    hung_up_by_bot: bool = False
    close_code: int | None = None
    close_reason: str = ""
    time_to_first_audio_secs: float | None = None  # the first voiced bot audio played
    time_to_first_bot_byte_secs: float | None = None  # the first bot audio, voiced or not
    turns: list[CallerTurn] = field(default_factory=list)
    bot_utterances: list[BotUtterance] = field(default_factory=list)
    barge_ins: list[BargeInMetrics] = field(default_factory=list)
    gap_threshold_secs: float = 0.06
    max_gap_secs: float = 0.0
    gaps_over_threshold: int = 0
    clears: list[float] = field(default_factory=list)
    marks: list[MarkRecord] = field(default_factory=list)
    sent_media: int = 0
    received_media: int = 0
    bot_audio_received_secs: float = 0.0
    sent_media_times: list[float] = field(default_factory=list, repr=False)
    messages: list[MessageRecord] = field(default_factory=list, repr=False)
    bot_audio: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16), repr=False)
    sample_rate: int = 8000
    errors: list[str] = field(default_factory=list)
    # (at, secs) each time the caller fell behind its frame clock by over 0.1 s (our own stall).
    caller_stalls: list[tuple[float, float]] = field(default_factory=list)

    @property
    def voice_to_voice_secs(self) -> list[float | None]:
        """Voice-to-voice latency of each caller turn, in order."""
        return [t.voice_to_voice_secs for t in self.turns]

    def events(self, direction: str | None = None) -> list[str]:
        """Event names in order, optionally only ``"sent"`` or ``"received"``."""
        return [m.event for m in self.messages if direction in (None, m.direction)]

    def analyse(self, model: PlayoutModel, end: float) -> None:
        """Fill the derived metrics from the playout model once the call is over."""
        self.bot_audio = model.timeline(end)
        self.bot_audio_received_secs = round(model.received_secs, 3)
        self.clears = [round(c.at, 4) for c in model.clears]
        for i, span in enumerate(model.utterances()):
            a = max(0, int((span.start - _PCM_MARGIN_SECS) * self.sample_rate))
            b = int(np.ceil((span.end + _PCM_MARGIN_SECS) * self.sample_rate))
            self.bot_utterances.append(
                BotUtterance(
                    index=i,
                    start=round(span.start, 4),
                    end=round(span.end, 4),
                    first_arrival=round(span.first_arrival, 4),
                    gaps=[(round(x, 4), round(d, 4)) for x, d in model.gaps_within(span.start,
                                                                                   span.end)],
                    truncated_by_clear=any(
                        c.discarded_secs > 0 and span.start <= c.at <= span.end + 0.05
                        for c in model.clears
                    ),
                    pcm=self.bot_audio[a:b].copy(),
                )
            )
        utts = self.bot_utterances
        self.time_to_first_audio_secs = utts[0].start if utts else None
        first = model.chunks[0].arrival if model.chunks else None
        self.time_to_first_bot_byte_secs = None if first is None else round(first, 4)
        gaps = [d for u in utts for _, d in u.gaps]
        self.max_gap_secs = round(max(gaps, default=0.0), 4)
        self.gaps_over_threshold = sum(d > self.gap_threshold_secs for d in gaps)
        for i, turn in enumerate(self.turns):
            limit = self.turns[i + 1].start if i + 1 < len(self.turns) else float("inf")
            reply = next((u for u in utts if turn.end <= u.start < limit), None)
            if reply is not None:
                turn.reply_utterance = reply.index
                turn.voice_to_voice_secs = round(float(reply.start - turn.end), 4)
        for b in self.barge_ins:
            b.clear_at = next((round(c, 4) for c in self.clears if c >= b.start), None)
            if b.clear_at is not None:
                b.clear_latency_secs = round(b.clear_at - b.start, 4)
            playing = next((u for u in utts if u.start <= b.start <= u.end), None)
            if playing is not None:
                b.audio_stop_secs = round(playing.end - b.start, 4)

    def to_dict(self, include_messages: bool = False) -> dict[str, Any]:
        """A JSON-serialisable summary (audio arrays are left out; messages on request)."""
        out: dict[str, Any] = {
            k: getattr(self, k)
            for k in (
                "call_sid", "stream_sid", "account_sid", "ws_url", "custom_parameters",
                "rejected", "rejected_text", "connected", "duration_secs", "hung_up_by_bot",
                "close_code", "close_reason", "time_to_first_audio_secs",
                "time_to_first_bot_byte_secs", "gap_threshold_secs",
                "max_gap_secs", "gaps_over_threshold", "clears", "sent_media", "received_media",
                "bot_audio_received_secs", "errors",
            )
        }
        out["voice_to_voice_secs"] = self.voice_to_voice_secs
        out["turns"] = [vars(t).copy() for t in self.turns]
        out["bot_utterances"] = [
            {k: v for k, v in vars(u).items() if k != "pcm"} | {"max_gap_secs": u.max_gap_secs}
            for u in self.bot_utterances
        ]
        out["barge_ins"] = [vars(b).copy() for b in self.barge_ins]
        out["marks"] = [vars(m).copy() for m in self.marks]
        out["twiml"] = None if self.twiml is None else {
            k: getattr(self.twiml, k)
            for k in ("status_code", "stream_url", "parameters", "say", "hangup")
        }
        if include_messages:
            out["messages"] = [vars(m).copy() for m in self.messages]
        return _plain(out)


def _plain(obj: Any) -> Any:
    """Recursively turn numpy scalars and tuples into plain JSON types."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
