"""The end-of-turn decision: three signals in, "answer now" or "wait until" out.

Signals: the words so far (finished clause, question, closing, or a dangling "for" / "and" /
"um"), smart-turn v3's probability that the audio sounds finished, and the silence since the
caller's voice ended, counted on the audio's own clock so the verdict does not change when the
machine is busy. Every path ends within a bound: there is no open-ended wait.
"""

from __future__ import annotations

from dataclasses import dataclass

from turntaking.lexicon import TextCue, text_cue


@dataclass(frozen=True)
class EndOfTurnPolicy:
    """How long the bot gives the caller, from ``TurnSettings``.

    Attributes:
        max_wait_secs: The cap: silence after which even an unfinished-sounding utterance
            ("... an appointment for") is answered.
        hold_secs: Silence after which a neutral utterance is answered although smart-turn
            says it does not sound finished (the model misjudges some voices).
        complete_threshold: Smart-turn probability from which a neutral utterance counts as
            finished.
        transcript_wait_secs: Silence after which the words in hand count as final when the
            STT cannot confirm a final transcript (its p99 time to final).
    """

    max_wait_secs: float = 1.6
    hold_secs: float = 0.45
    complete_threshold: float = 0.5
    transcript_wait_secs: float = 0.35


@dataclass(frozen=True)
class TurnSignals:
    """What is known about the caller's turn at one moment.

    Attributes:
        silence_secs: Silence since the caller's voice ended (audio clock).
        text: The turn's words so far: final transcripts, then the latest interim.
        final: Whether a final transcript covers the caller's latest speech.
        probability: Smart-turn's probability that the turn is finished; None while it runs.
    """

    silence_secs: float
    text: str
    final: bool
    probability: float | None


@dataclass(frozen=True)
class Verdict:
    """The decision.

    Attributes:
        answer: Answer now.
        reason: Why (``words``, ``acoustic``, ``hold``, ``cap``, ``no_words``), or what the
            decision waits for (``wait_words``, ``wait_final``, ``wait_model``, ``wait_more``).
        wait_until_secs: When waiting: the silence at which to decide again at the latest (the
            decision is also re-run when any signal changes). None when answering.
    """

    answer: bool
    reason: str
    wait_until_secs: float | None = None


def _wait(reason: str, until: float) -> Verdict:
    return Verdict(False, reason, until)


def decide(s: TurnSignals, policy: EndOfTurnPolicy) -> Verdict:
    """Answer now, or wait (never past ``policy.max_wait_secs`` once the words are in).

    Args:
        s: The signals now.
        policy: The persona's limits.

    Returns:
        The verdict.
    """
    if not s.text.strip():
        # Nothing transcribed yet: the words are needed to answer at all. A segmented STT
        # (Whisper-style) only transcribes after the speech ends, so wait for it, bounded.
        limit = max(policy.max_wait_secs, policy.transcript_wait_secs)
        if s.silence_secs >= limit:
            return Verdict(True, "no_words")
        return _wait("wait_words", limit)
    if not s.final and s.silence_secs < policy.transcript_wait_secs:
        return _wait("wait_final", policy.transcript_wait_secs)
    cue = text_cue(s.text)
    if cue is TextCue.COMPLETE:
        return Verdict(True, "words")
    if cue is TextCue.UNFINISHED:
        if s.silence_secs >= policy.max_wait_secs:
            return Verdict(True, "cap")
        return _wait("wait_more", policy.max_wait_secs)
    if s.probability is not None and s.probability >= policy.complete_threshold:
        return Verdict(True, "acoustic")
    if s.silence_secs >= policy.hold_secs:
        return Verdict(True, "hold")
    return _wait("wait_model" if s.probability is None else "wait_more", policy.hold_secs)
