"""What the simulated callers say, what the LLM double answers, and the latency it costs.

The phrases are short, espeak-friendly sentences inside pocketsphinx's dictionary, so the STT
double recognises them from the caller's audio. Each has a one-sentence scripted reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simulators.callers.script import HangUp, Say, Step, WaitForBotSilence

VAD_STOP_SECS = 0.2
"""Silero VAD ``stop_secs`` of the receptionist (``TurnSettings.vad_stop_secs`` default)."""

GREETING_TIMEOUT_SECS = 20.0
REPLY_TIMEOUT_SECS = 20.0

_TOKEN_RE = re.compile(r"\s*\S+|\s+")  # the LLM double's word-sized streaming tokens
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Exchange:
    """One thing a caller says and the reply the LLM double streams back.

    Attributes:
        phrase: What the caller says (espeak-ng text; also an STT grammar phrase).
        match: Case-insensitive substring of the transcript that selects the reply.
        reply: The LLM's reply (one short sentence).
    """

    phrase: str
    match: str
    reply: str


EXCHANGES: tuple[Exchange, ...] = (
    Exchange(
        "I would like to book an appointment for tomorrow",
        "book an appointment",
        "Sure, what time tomorrow works best for you?",
    ),
    Exchange(
        "what time do you open on saturday",
        "open on saturday",
        "We open at nine on Saturday morning.",
    ),
    Exchange(
        "can I speak to someone please",
        "speak to someone",
        "Of course, let me put you through now.",
    ),
    Exchange("cancel my appointment", "cancel my appointment", "No problem, it is cancelled."),
    Exchange(
        "do you take new patients",
        "new patients",
        "Yes, we are happy to see new patients.",
    ),
)

OVERHEAD_FORMULA = (
    "overhead = voice_to_voice - provider_latency - turn_detection_wait, where "
    "provider_latency = stt_final_ms + llm_first_token_ms + "
    "tokens(first sentence of reply) / llm_tokens_per_sec * 1000 + tts_first_byte_ms "
    "(all from the doubles' latency profile, in ms), turn_detection_wait = VAD stop_secs; "
    "voice_to_voice = caller's last speech frame sent -> first voiced bot audio played at the "
    "caller; tokens are the LLM double's word-sized stream tokens"
)


def phrases() -> list[str]:
    """Every phrase a caller may say (the STT double's grammar)."""
    return [e.phrase for e in EXCHANGES]


def llm_rules() -> list[dict[str, Any]]:
    """LLM double rules: one scripted reply per phrase."""
    return [{"match": e.match, "reply": e.reply} for e in EXCHANGES]


def exchange_for(call_index: int, turn: int) -> Exchange:
    """The exchange caller ``call_index`` uses on ``turn`` (rotates so calls differ)."""
    return EXCHANGES[(call_index + turn) % len(EXCHANGES)]


def caller_script(call_index: int, turns: int) -> list[Step]:
    """Wait for the greeting, then ``turns`` times say a phrase and wait out the reply; hang up.

    Args:
        call_index: Which caller (chooses the phrases).
        turns: Caller turns after the greeting.

    Returns:
        The steps for ``TwilioCaller.run``.
    """
    script: list[Step] = [WaitForBotSilence(timeout=GREETING_TIMEOUT_SECS)]
    for turn in range(turns):
        script += [
            Say(exchange_for(call_index, turn).phrase),
            WaitForBotSilence(timeout=REPLY_TIMEOUT_SECS),
        ]
    script.append(HangUp())
    return script


def first_sentence(text: str) -> str:
    """The reply's first sentence: what TTS gets before the first audio can start."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


def token_count(text: str) -> int:
    """Tokens the LLM double streams for ``text`` (word-sized, leading space kept)."""
    return sum(1 for tok in _TOKEN_RE.findall(text) if tok.strip())


def provider_latency_secs(profile: dict[str, Any], reply: str) -> float:
    """Configured provider latency of one turn, in seconds.

    ``stt_final_ms + llm_first_token_ms + tokens(first sentence) / llm_tokens_per_sec * 1000
    + tts_first_byte_ms``.

    Args:
        profile: The doubles' latency profile (``DoublesClient.profile()``).
        reply: The LLM reply of that turn.

    Returns:
        Seconds.
    """
    llm_ms = token_count(first_sentence(reply)) / float(profile["llm_tokens_per_sec"]) * 1000
    total_ms = (
        float(profile["stt_final_ms"])
        + float(profile["llm_first_token_ms"])
        + llm_ms
        + float(profile["tts_first_byte_ms"])
    )
    return total_ms / 1000


def overhead_secs(
    voice_to_voice: float, profile: dict[str, Any], reply: str, vad_stop_secs: float
) -> float:
    """Voice-to-voice minus provider latency minus the turn-detection wait (see the formula)."""
    return voice_to_voice - provider_latency_secs(profile, reply) - vad_stop_secs
