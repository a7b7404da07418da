"""Labelled caller utterances for the turn-taking benchmark: every text in every voice.

Kinds (see :data:`KINDS`): ``statement``, ``question`` and ``closing`` are complete utterances;
``pause`` items are one sentence with a silence of exactly ``pause_secs`` at a syntactically
unfinished point; ``backchannel`` items are what a listener says while the bot talks;
``interrupt_short`` and ``interrupt_long`` are real interruptions.

Every item's ``chunks`` are the texts of its speech runs in order (runs separated by at least
0.25 s of silence): checked against the audio at three silence levels (1 % of peak, RMS 300 and
RMS 500), so an exact-text STT double can register them. Natural pauses (commas) are shortened
to 0.2 s (:func:`bench.voices.cap_gaps`) so complete utterances are one speech run. A voice/text
combination whose audio fails a check (empty, clipped, implausible duration, wrong run count,
pause off by more than 20 ms) is dropped with a logged reason (:func:`dropped`).

``python -m bench.turn_corpus --summary`` prints counts and durations per kind and voice.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from loguru import logger

from bench.voices import (
    PEAK_LIMIT,
    VOICES,
    SynthesisError,
    cap_gaps,
    get_voice,
    pause_span,
    speech_runs,
    synthesize,
    synthesize_with_pause,
)

RATE = 8000
COMPLETE_KINDS = ("statement", "question", "closing")
KINDS = (*COMPLETE_KINDS, "pause", "backchannel", "interrupt_short", "interrupt_long")
PAUSE_SECS = (0.5, 0.6, 1.0, 1.5)
PAUSE_TOLERANCE_SECS = 0.02
MIN_GAP_SECS = 0.25  # speech runs are separated by at least this much silence
RUN_THRESHOLDS = (None, 300.0, 500.0)  # 1 % of peak, the callers' voice level, a stricter one
MIN_SPEECH_RMS = 1000.0  # far above the callers' voice threshold (RMS 300)

STATEMENTS = (
    "I would like to book a cleaning for next Monday.",
    "My name is Sarah Johnson.",
    "I need to cancel my appointment on Friday.",
    "I have a toothache on the left side.",
    "I'm calling about my bill from last month.",
    "I'd like to reschedule my appointment to next week.",
    "I was there last Tuesday for a filling.",
    "My daughter needs a checkup before school starts.",
    "My insurance is with Blue Cross.",
    "My date of birth is March third, nineteen eighty five.",
)
QUESTIONS = (
    "What time do you open on Saturday?",
    "Do you take new patients?",
    "How much does a cleaning cost?",
    "Is there parking near the office?",
    "Can I bring my son to the same appointment?",
    "Do you accept my insurance?",
    "Where are you located?",
    "Is Doctor Miller available on Thursday?",
)
CLOSINGS = (
    "Thanks, that's all, goodbye.",
    "No, that's everything, thank you.",
    "Okay, bye.",
    "Great, thank you so much, bye.",
    "That's all I needed, have a nice day.",
)
PAUSES = (  # (before the pause, after it): the first part is syntactically unfinished
    ("I'd like to book an appointment for", "next Tuesday."),  # preposition
    ("Can I come in with", "my daughter tomorrow?"),  # preposition
    ("My appointment is at", "three thirty on Wednesday."),  # preposition
    ("I need a cleaning and", "a checkup for my son."),  # conjunction
    ("I wanted to come in earlier but", "the traffic was terrible."),  # conjunction
    ("I can't make it on Monday because", "I have to work late."),  # conjunction
    ("I'd like to speak to the", "dentist about my crown."),  # article
    ("I'm calling about, um,", "my bill from last month."),  # filler
    ("I'd like to", "change my appointment time."),  # unfinished verb phrase
)
BACKCHANNELS = ("mm-hmm", "uh-huh", "okay", "yeah", "right", "I see", "sure", "got it")
INTERRUPTS_SHORT = ("wait", "stop", "no no", "hold on")
INTERRUPTS_LONG = (
    "Actually, can we do Thursday instead?",
    "Sorry, I need to change the time of my appointment.",
    "Wait, that's not what I asked.",
    "Hold on, I think you have the wrong date.",
    "No, I meant next week, not this week.",
)
# What each engine is given so the label is said naturally (default: the transcript).
_SPOKEN = {
    ("espeak", "mm-hmm"): "[[m-'hm-]]",  # espeak spells "mm" as letters
    ("festival", "mm-hmm"): "mmhum",  # a lexicon entry (m)(hh ah m): Festival spells "mm"
    ("festival", "uh-huh"): "uh huh",
}
# Transcript (one chunk) of the short labels.
_TRANSCRIPT = {
    "mm-hmm": "Mm-hmm.", "uh-huh": "Uh-huh.", "okay": "Okay.", "yeah": "Yeah.",
    "right": "Right.", "I see": "I see.", "sure": "Sure.", "got it": "Got it.",
    "wait": "Wait.", "stop": "Stop.", "no no": "No, no.", "hold on": "Hold on.",
}
DURATION_SECS = {  # plausible duration range per kind
    "statement": (1.0, 5.0), "question": (0.8, 4.0), "closing": (0.6, 4.0),
    "pause": (1.5, 7.0), "backchannel": (0.2, 0.9), "interrupt_short": (0.2, 1.2),
    "interrupt_long": (1.0, 5.0),
}

_DROPPED: list[tuple[str, str]] = []


@dataclass(frozen=True, eq=False)
class Item:
    """One labelled utterance in one voice.

    Attributes:
        id: Unique and stable, e.g. ``"pause-01-for-0600ms@festival-kal"``.
        kind: One of :data:`KINDS`.
        voice: A :data:`bench.voices.VOICES` name.
        text: The label: the whole utterance (``"mm-hmm"`` for a backchannel).
        chunks: Transcript of each speech run in order (normal punctuation).
        pcm: Mono int16 PCM at ``rate`` Hz, trimmed (starts and ends with speech).
        rate: Sample rate in Hz.
        pause_secs: ``pause`` items: length of the internal silence in seconds.
        pause_at_secs: ``pause`` items: where that silence starts, seconds into ``pcm``.
    """

    id: str
    kind: str
    voice: str
    text: str
    chunks: tuple[str, ...]
    pcm: np.ndarray = field(repr=False)
    rate: int = RATE
    pause_secs: float | None = None
    pause_at_secs: float | None = None

    @property
    def duration_secs(self) -> float:
        """Length of ``pcm`` in seconds."""
        return len(self.pcm) / self.rate


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def texts(kind: str) -> list[tuple[str, tuple[str, ...]]]:
    """``(label, chunks)`` of every text of ``kind`` (pause items: one per sentence)."""
    whole = {"statement": STATEMENTS, "question": QUESTIONS, "closing": CLOSINGS,
             "interrupt_long": INTERRUPTS_LONG}
    short = {"backchannel": BACKCHANNELS, "interrupt_short": INTERRUPTS_SHORT}
    if kind in whole:
        return [(t, (t,)) for t in whole[kind]]
    if kind in short:
        return [(t, (_TRANSCRIPT[t],)) for t in short[kind]]
    if kind == "pause":
        return [(f"{a} {b}", (a.rstrip(","), b)) for a, b in PAUSES]
    raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}")


def _check(item: Item) -> str | None:
    """Why ``item``'s audio is unusable, or None if it is fine."""
    pcm = item.pcm
    if len(pcm) == 0 or not np.any(pcm):
        return "empty audio"
    peak = int(np.max(np.abs(pcm.astype(np.int32))))
    if peak > PEAK_LIMIT:
        return f"peak {peak} above {PEAK_LIMIT} (clipping risk)"
    lo, hi = DURATION_SECS[item.kind]
    if not lo <= item.duration_secs <= hi:
        return f"duration {item.duration_secs:.2f} s outside {lo}-{hi} s"
    loud = pcm[np.abs(pcm) > 0.01 * peak].astype(np.float64)
    level = float(np.sqrt(np.mean(loud * loud)))
    if level < MIN_SPEECH_RMS:
        return f"speech RMS {level:.0f} below {MIN_SPEECH_RMS:.0f}"
    for thr in RUN_THRESHOLDS:
        runs = len(speech_runs(pcm, item.rate, MIN_GAP_SECS, threshold=thr))
        if runs != len(item.chunks):
            where = "1% of peak" if thr is None else f"RMS {thr:.0f}"
            return f"{runs} speech runs at {where}, expected {len(item.chunks)}"
    if item.kind == "pause":
        a, b = pause_span(pcm, item.rate)
        got = (b - a) / item.rate
        if abs(got - (item.pause_secs or 0.0)) > PAUSE_TOLERANCE_SECS:
            return f"pause measures {got:.3f} s, wanted {item.pause_secs}"
    return None


def _make(
    kind: str, voice: str, starts: str | None = None
) -> Iterator[tuple[str, Item | str]]:
    """``(id, item)`` for every text of ``kind`` in ``voice``, or ``(id, reason)`` on failure.

    ``starts`` keeps only the texts whose label starts with it (nothing else is synthesised).
    """
    engine = get_voice(voice).engine
    for n, (label, chunks) in enumerate(texts(kind), 1):
        if starts is not None and not label.startswith(starts):
            continue
        if kind == "pause":
            first, second = PAUSES[n - 1]
            slug = f"{n:02d}-{_slug(first).rsplit('-', 1)[-1]}"
            for secs in PAUSE_SECS:
                item_id = f"pause-{slug}-{int(secs * 1000):04d}ms@{voice}"
                try:
                    pcm = synthesize_with_pause(first, second, secs, voice, RATE)
                except SynthesisError as e:
                    yield item_id, str(e)
                    continue
                a, _ = pause_span(pcm, RATE)
                yield item_id, Item(item_id, kind, voice, label, chunks, pcm, RATE,
                                    pause_secs=secs, pause_at_secs=a / RATE)
            continue
        item_id = f"{kind}-{n:02d}-{_slug(label)[:32]}@{voice}"
        try:
            pcm = synthesize(_SPOKEN.get((engine, label), chunks[0]), voice, RATE)
        except SynthesisError as e:
            yield item_id, str(e)
            continue
        yield item_id, Item(item_id, kind, voice, label, chunks, cap_gaps(pcm, RATE), RATE)


def corpus(
    voices: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    starts: str | None = None,
) -> list[Item]:
    """Every text of every kind in every voice, in a fixed order (voices, then kinds, then texts).

    Args:
        voices: Voice names (default: all of :data:`bench.voices.VOICES`).
        kinds: Kinds (default: all of :data:`KINDS`).
        starts: Only the texts whose label starts with this (a test needing one utterance).

    Returns:
        The items that passed the checks; the dropped ones are in :func:`dropped`.
    """
    pairs = [(kind, get_voice(v).name) for v in list(voices or VOICES) for kind in (kinds or KINDS)]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # cold cache
        made_lists = list(pool.map(lambda pair: list(_make(*pair, starts)), pairs))  # in order
    items: list[Item] = []
    for item_id, made in itertools.chain.from_iterable(made_lists):
        reason = made if isinstance(made, str) else _check(made)
        if reason is None and isinstance(made, Item):
            items.append(made)
        elif (item_id, reason) not in _DROPPED:
            _DROPPED.append((item_id, str(reason)))
            logger.warning(f"dropped {item_id}: {reason}")
    return items


def dropped() -> list[tuple[str, str]]:
    """``(item id, reason)`` of every item dropped so far in this process."""
    return list(_DROPPED)


def _summary(items: list[Item]) -> str:
    voices = list(dict.fromkeys(i.voice for i in items))
    lines = [f"{len(items)} items, {len(voices)} voices, {sum(i.duration_secs for i in items):.0f}"
             " s of speech", "", "per kind (all voices): n, duration mean [min-max] s"]
    for kind in KINDS:
        d = [i.duration_secs for i in items if i.kind == kind]
        if d:
            lines.append(f"  {kind:16s} {len(d):4d}  {np.mean(d):.2f} [{min(d):.2f}-{max(d):.2f}]")
    lines += ["", "per voice and kind: n mean(s)"]
    head = f"  {'voice':24s}" + "".join(f"{k:>18s}" for k in KINDS)
    lines.append(head)
    for v in voices:
        row = f"  {v:24s}"
        for kind in KINDS:
            d = [i.duration_secs for i in items if i.voice == v and i.kind == kind]
            row += f"{len(d):>11d} {np.mean(d) if d else 0:5.2f}s"
        lines.append(row)
    gone = dropped()
    lines += ["", f"dropped: {len(gone)}"] + [f"  {i}: {r}" for i, r in gone]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.turn_corpus --summary [--voice V ...] [--kind K ...]``."""
    p = argparse.ArgumentParser(prog="python -m bench.turn_corpus", description=__doc__)
    p.add_argument("--summary", action="store_true", help="print counts and durations")
    p.add_argument("--voice", action="append", choices=list(VOICES), help="repeatable")
    p.add_argument("--kind", action="append", choices=list(KINDS), help="repeatable")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    items = corpus(args.voice, args.kind)
    if args.summary:
        print(_summary(items))
    else:
        print(f"{len(items)} items ({len(dropped())} dropped); --summary for details")
    return 0


if __name__ == "__main__":
    sys.exit(main())
