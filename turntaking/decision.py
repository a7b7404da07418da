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
        hold_secs: Silence up to which a neutral utterance waits when smart-turn is
            near-certain it is unfinished (probability below ``veto_threshold``).
        veto_threshold: Smart-turn probability below which it may hold a neutral utterance.
            Low on purpose: on the benchmark's nine synthetic voices the model scores a third
            of complete statements below 0.5, most closings below 0.1, and live 6 % of neutral
            utterances at or below 0.02 (``bench/
            smart_turn_study.py``), so only a near-certain "unfinished" may delay an answer.
        model_wait_secs: Silence up to which a neutral utterance waits for smart-turn's
            answer when the words are in first.
        transcript_wait_secs: Silence after which the words in hand count as final when the
            STT cannot confirm a final transcript (its p99 time to final).
        vad_stop_secs: The silence the VAD's stop waits for. Smart-turn always judges the
            speech followed by this much silence, as it hears it at the stop, even when it
            judges it earlier (on the STT's endpoint).
    """

    max_wait_secs: float = 1.6
    hold_secs: float = 0.6
    veto_threshold: float = 0.01
    model_wait_secs: float = 0.45
    transcript_wait_secs: float = 0.35
    vad_stop_secs: float = 0.2


@dataclass(frozen=True)
class TurnSignals:
    """What is known about the caller's turn at one moment.

    Attributes:
        silence_secs: Silence since the caller's voice ended (audio clock).
        text: The turn's words so far: final transcripts, then the latest interim.
        final: Whether a final transcript covers the caller's latest speech.
        probability: Smart-turn's probability that the turn is finished; None while it runs.
        has_final_words: Whether any final transcript has words: only finals reach the LLM,
            so a turn whose words are all interim is not answered yet.
    """

    silence_secs: float
    text: str
    final: bool
    probability: float | None
    has_final_words: bool = True


@dataclass(frozen=True)
class Verdict:
    """The decision.

    Attributes:
        answer: Answer now.
        reason: Why (``words``: complete words; ``acoustic``: neutral words and smart-turn
            did not object; ``model_late``: neutral words, smart-turn too slow to ask;
            ``hold``: smart-turn's objection timed out; ``cap``: unfinished words timed out;
            ``no_words``), or what it waits for (``wait_words``, ``wait_final``,
            ``wait_model``, ``wait_more``).
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
    if not s.text.strip() or not s.has_final_words:
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
    if s.probability is None:
        if s.silence_secs >= policy.model_wait_secs:
            return Verdict(True, "model_late")
        return _wait("wait_model", policy.model_wait_secs)
    if s.probability >= policy.veto_threshold:
        return Verdict(True, "acoustic")
    if s.silence_secs >= policy.hold_secs:
        return Verdict(True, "hold")
    return _wait("wait_more", policy.hold_secs)
