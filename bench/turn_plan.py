"""What the turn-taking benchmark's callers say, in which voice, and what the LLM double answers.

Every measured turn is a ``TurnSpec``: a complete utterance (statement, question, closing), a
sentence with a mid-utterance pause, or speech over the bot (a backchannel or a real
interruption) spoken 1.5 s into a long reply that a trigger phrase asks for. Specs rotate over
every voice of the corpus so no figure rests on one synthetic voice. Each caller lane starts with
a calibration turn: the long reply heard in full, so a backchannel turn can tell whether the
caller heard all of it again.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.turn_corpus import COMPLETE_KINDS, PAUSE_SECS, Item, corpus
from bench.voices import cap_gaps, synthesize
from simulators.callers.script import (
    BargeIn,
    HangUp,
    Say,
    Step,
    WaitForBotSilence,
    WaitForBotSpeech,
)

RATE = 8000
TRIGGER = "Tell me about your services."
SHORT_REPLY = "Sure. I can help you with that."
LONG_REPLY = (
    "Of course. We offer cleanings, fillings, crowns and whitening for the whole family. "
    "Our hygienists are gentle and our dentists have twenty years of experience. "
    "We also accept most insurance plans and offer payment plans for larger treatments."
)
BARGE_AFTER_SECS = 1.5  # how much of the long reply plays before the caller talks over it
MAX_TURNS_PER_CALL = 16  # a lane places calls of at most this many turns, one after another

# Measured turns per concurrency level, by kind (pause: per pause length).
DEFAULT_COUNTS = {"complete": 40, "pause": 20, "backchannel": 24, "interrupt": 20}


@dataclass(frozen=True)
class TurnSpec:
    """One measured caller turn.

    Attributes:
        kind: ``complete``, ``pause``, ``backchannel``, ``interrupt`` or ``calibrate``.
        item: The corpus utterance (the trigger phrase for ``calibrate``).
        trigger: The trigger phrase's audio in the same voice (speech over the bot only).
    """

    kind: str
    item: Item
    trigger: np.ndarray | None = field(default=None, repr=False)


def trigger_pcm(voice: str) -> np.ndarray:
    """The trigger phrase ("Tell me about your services.") in ``voice``, 8 kHz."""
    return cap_gaps(synthesize(TRIGGER, voice, RATE), RATE)


def _trigger_item(voice: str) -> Item:
    return Item(f"trigger@{voice}", "trigger", voice, TRIGGER, (TRIGGER,), trigger_pcm(voice))


def build_plan(counts: dict[str, int], voices: list[str] | None = None) -> list[TurnSpec]:
    """The measured turns of one concurrency level, voices and texts interleaved.

    Args:
        counts: Turns per kind (``pause``: per pause length), see ``DEFAULT_COUNTS``.
        voices: Restrict to these voices (default: every voice of the corpus).

    Returns:
        The specs, mixed so that every lane gets every kind.
    """
    items = corpus(voices=voices)
    by_kind: dict[str, list[Item]] = {}
    for item in items:
        kind = "complete" if item.kind in COMPLETE_KINDS else item.kind
        if kind.startswith("interrupt"):
            kind = "interrupt"
        by_kind.setdefault(kind, []).append(item)
    triggers = {v: trigger_pcm(v) for v in sorted({i.voice for i in items})}
    groups: list[list[TurnSpec]] = []
    for kind in ("complete", "backchannel", "interrupt"):
        pool = _interleave(by_kind.get(kind, []))
        groups.append([
            TurnSpec(kind, item, triggers[item.voice] if kind != "complete" else None)
            for item in itertools.islice(itertools.cycle(pool), counts.get(kind, 0))
        ] if pool else [])
    for secs in PAUSE_SECS:
        pool = _interleave([i for i in by_kind.get("pause", []) if i.pause_secs == secs])
        groups.append([
            TurnSpec("pause", item)
            for item in itertools.islice(itertools.cycle(pool), counts.get("pause", 0))
        ] if pool else [])
    return _round_robin(groups)


def _interleave(items: list[Item]) -> list[Item]:
    """Alternate voices: one text per voice in turn, so a short run still covers them all."""
    per_voice: dict[str, list[Item]] = {}
    for item in items:
        per_voice.setdefault(item.voice, []).append(item)
    for i, voice in enumerate(sorted(per_voice)):  # start each voice at a different text
        rows = per_voice[voice]
        shift = i % max(len(rows), 1)
        per_voice[voice] = rows[shift:] + rows[:shift]
    out = []
    for row in itertools.zip_longest(*per_voice.values()):
        out.extend(i for i in row if i is not None)
    return out


def _round_robin(groups: list[list[TurnSpec]]) -> list[TurnSpec]:
    out = []
    for row in itertools.zip_longest(*groups):
        out.extend(s for s in row if s is not None)
    return out


def lanes(plan: list[TurnSpec], calls: int) -> list[list[list[TurnSpec]]]:
    """Split the plan over ``calls`` concurrent lanes, each a sequence of calls.

    Every call opens with a calibration turn in its first spec's voice.
    """
    per_lane = [plan[i::calls] for i in range(calls)]
    out = []
    for specs in per_lane:
        calls_of_lane = []
        for start in range(0, len(specs), MAX_TURNS_PER_CALL):
            chunk = specs[start : start + MAX_TURNS_PER_CALL]
            calibrate = TurnSpec("calibrate", _trigger_item(chunk[0].item.voice))
            calls_of_lane.append([calibrate, *chunk])
        out.append(calls_of_lane)
    return out


def script(specs: list[TurnSpec]) -> tuple[list[Step], list[tuple[int, TurnSpec, str]]]:
    """The caller's steps for one call, and which caller turn is which part of which spec.

    Returns:
        ``(steps, roles)``: ``roles`` lists ``(caller turn index, spec, role)`` with role
        ``say`` (the measured utterance), ``trigger`` or ``over`` (spoken over the bot).
    """
    steps: list[Step] = [WaitForBotSilence(timeout=20)]
    roles: list[tuple[int, TurnSpec, str]] = []
    turn = 0
    for spec in specs:
        if spec.kind in ("complete", "pause", "calibrate"):
            steps += [Say(spec.item.pcm, rate=RATE), WaitForBotSilence(timeout=20)]
            roles.append((turn, spec, "say"))
            turn += 1
            continue
        assert spec.trigger is not None
        steps += [
            Say(spec.trigger, rate=RATE),
            WaitForBotSpeech(timeout=20),
            BargeIn(spec.item.pcm, rate=RATE, after_bot_audio_secs=BARGE_AFTER_SECS,
                    timeout=20),
            WaitForBotSilence(timeout=20),
        ]
        roles += [(turn, spec, "trigger"), (turn + 1, spec, "over")]
        turn += 2
    steps.append(HangUp())
    return steps, roles


def llm_rules() -> list[dict[str, Any]]:
    """The LLM double's script: the long reply to the trigger, a short one to anything else."""
    return [
        {"match": "about your services", "reply": LONG_REPLY},
        {"match": None, "reply": SHORT_REPLY},
    ]


def registrations(plan: list[TurnSpec]) -> list[tuple[np.ndarray, int, list[str]]]:
    """Every utterance the callers will say, for the exact-text STT double."""
    seen: dict[str, tuple[np.ndarray, int, list[str]]] = {}
    for spec in plan:
        seen.setdefault(spec.item.id, (spec.item.pcm, RATE, list(spec.item.chunks)))
        if spec.trigger is not None or spec.kind == "calibrate":
            voice = spec.item.voice
            seen.setdefault(f"trigger@{voice}", (trigger_pcm(voice), RATE, [TRIGGER]))
    return list(seen.values())
