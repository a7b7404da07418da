"""A receptionist line for the turn-taking incidents: exact-text STT, the issue's provider delays.

The caller speaks the benchmark's multi-voice corpus (``bench/turn_corpus.py``); the STT double
answers with the registered text of what it hears, so what is tested is the bot's turn-taking,
not speech recognition.
"""

from __future__ import annotations

import numpy as np

from bench.turn_corpus import Item, corpus
from bench.turn_measure import voiced_secs
from bench.turn_plan import LONG_REPLY, TRIGGER, llm_rules, trigger_pcm
from bench.turns import TURNS_PROFILE
from simulators.callers.result import CallResult
from simulators.callers.script import HangUp, Say, Step, WaitForBotSilence

PROFILE = dict(TURNS_PROFILE)  # the provider delays, Deepgram-like endpointing
VOICES = ("espeak-en-us", "festival-slt-hts", "festival-kal")
LAST_SENTENCE = "payment plans for larger treatments"  # the end of LONG_REPLY
assert LAST_SENTENCE in LONG_REPLY


def item(kind: str, text: str, voice: str, pause_secs: float | None = None) -> Item:
    """The corpus item of ``kind`` whose label is ``text`` (or starts with it) in ``voice``."""
    for it in corpus(voices=[voice], kinds=[kind], starts=text):
        if it.text.startswith(text) and (pause_secs is None or it.pause_secs == pause_secs):
            return it
    raise LookupError(f"no {kind} {text!r} in {voice}")


def say_each(items: list[Item]) -> list[Step]:
    """A call that waits out the greeting, says each item after the bot's reply, hangs up."""
    steps: list[Step] = [WaitForBotSilence(timeout=15)]
    for it in items:
        steps += [Say(it.pcm), WaitForBotSilence(timeout=15)]
    return [*steps, HangUp()]


def open_line(doubles, launcher_factory, items: list[Item], **env: str):
    """Reset the doubles, register what the caller will say, start a launcher."""
    doubles.client.reset()
    doubles.client.set_profile(**PROFILE)
    voices = sorted({i.voice for i in items})
    regs: list[tuple[np.ndarray, int, list[str]]] = [
        (i.pcm, i.rate, list(i.chunks)) for i in items
    ]
    regs += [(trigger_pcm(v), 8000, [TRIGGER]) for v in voices]
    answer = doubles.client.stt_utterances(regs)
    assert not answer.get("rejected"), answer
    doubles.client.llm_rules(llm_rules())
    env.setdefault("ANALYSIS_ENABLED", "false")  # its LLM request is not part of the call
    return launcher_factory(**env)


def last_user_messages(doubles) -> list[str]:
    """The last user message of every LLM request, in order."""
    out = []
    for r in doubles.client.llm_requests():
        users = [m for m in r["messages"] if m["role"] == "user"]
        out.append(str(users[-1]["content"]) if users else "")
    return out


def heard_after(result: CallResult, t: float) -> float:
    """Seconds of bot voice the caller heard after ``t``."""
    return voiced_secs(result, t, result.duration_secs)
