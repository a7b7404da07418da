"""How far can Pipecat's smart-turn v3 model be trusted, per caller voice? Measure, don't tune.

``python -m bench.smart_turn_study`` runs the bundled model
(:class:`~pipecat.audio.turn.smart_turn.local_smart_turn_v3.LocalSmartTurnAnalyzerV3`, one CPU
thread) on the turn corpus (:mod:`bench.turn_corpus`) the way the bot runs it at the end of
speech: 0.7 s of silence before the speech start, the speech, then 0.2 s of silence (Silero VAD
``stop_secs`` 0.2), G.711 μ-law round-tripped like a Twilio call, at 8 kHz, as float32 in
[-1, 1]. Groups:

* ``complete``: statements, questions and closings (should be "complete", p > 0.5);
* ``pause_first``: a pause item up to its pause + 0.2 s (should be "incomplete"); the part
  before the pause is the same for every pause length, so each sentence counts once per voice;
* ``backchannel``: "mm-hmm", "okay", ... (a turn of its own: what the model says is reported).

Prints a table per voice and group (n, mean, min, p10, p50, p90, share with p > 0.5) and the
time of one inference, and writes the raw results to ``bench/results/smart_turn_study-*.json``.
"""

from __future__ import annotations

import config.blas  # noqa: F401  (first: one BLAS thread before numpy loads)

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from loguru import logger

from bench.turn_corpus import COMPLETE_KINDS, Item, corpus, dropped
from bench.voices import VOICES
from simulators.callers.audio import mulaw_decode, mulaw_encode

RATE = 8000
PRE_SPEECH_SECS = 0.7  # pre_speech_ms 500 + VAD start_secs 0.2
STOP_SECS = 0.2  # VAD stop_secs: the model runs after this much silence
GROUPS = ("complete", "pause_first", "backchannel")
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Sample:
    """One model input: what the bot would analyse at the end of a stretch of speech."""

    id: str
    voice: str
    kind: str
    group: str
    audio: np.ndarray  # float32 in [-1, 1] at RATE


def _as_bot_hears(pcm: np.ndarray) -> np.ndarray:
    """Pad like the bot's buffer, pass through μ-law, return float32 like Pipecat does."""
    padded = np.concatenate([np.zeros(int(PRE_SPEECH_SECS * RATE), dtype=np.int16), pcm])
    return mulaw_decode(mulaw_encode(padded)).astype(np.float32) / 32768.0


def samples(items: list[Item]) -> list[Sample]:
    """Model inputs for every relevant corpus item (see the module docstring)."""
    out: list[Sample] = []
    seen: set[tuple[str, str]] = set()
    tail = np.zeros(int(STOP_SECS * RATE), dtype=np.int16)
    for it in items:
        if it.kind in COMPLETE_KINDS or it.kind == "backchannel":
            group = "complete" if it.kind in COMPLETE_KINDS else "backchannel"
            out.append(Sample(it.id, it.voice, it.kind, group,
                              _as_bot_hears(np.concatenate([it.pcm, tail]))))
        elif it.kind == "pause" and it.pause_at_secs is not None:
            if (it.voice, it.text) in seen:
                continue
            seen.add((it.voice, it.text))
            end = int(round((it.pause_at_secs + STOP_SECS) * RATE))  # the pause's own silence
            sample_id = it.id.rsplit("@", 1)[0].rsplit("-", 1)[0] + f"-first@{it.voice}"
            out.append(Sample(sample_id, it.voice, it.kind, "pause_first",
                              _as_bot_hears(it.pcm[:end])))
    return out


def _stats(p: list[float]) -> dict[str, float]:
    a = np.asarray(p, dtype=np.float64)
    return {"n": len(a), "mean": float(a.mean()), "min": float(a.min()),
            "p10": float(np.percentile(a, 10)), "p50": float(np.percentile(a, 50)),
            "p90": float(np.percentile(a, 90)), "share_complete": float(np.mean(a > 0.5))}


def _line(r: dict[str, object]) -> str:
    return (f"{r['voice']:24s} {r['group']:12s} {r['n']:4d} {r['mean']:6.3f} {r['min']:6.3f} "
            f"{r['p10']:6.3f} {r['p50']:6.3f} {r['p90']:6.3f} {r['share_complete']:6.0%}")


def table(results: list[dict[str, object]]) -> tuple[str, list[dict[str, object]]]:
    """The per-voice, per-group table (text) and its rows (for the JSON)."""
    voices = list(dict.fromkeys(str(r["voice"]) for r in results))
    rows: list[dict[str, object]] = []
    head = (f"{'voice':24s} {'group':12s} {'n':>4s} {'mean':>6s} {'min':>6s} {'p10':>6s} "
            f"{'p50':>6s} {'p90':>6s} {'p>0.5':>6s}")
    lines = [head, "-" * len(head)]
    for group in GROUPS:
        for voice in [*voices, "ALL"]:
            p = [float(r["probability"]) for r in results  # type: ignore[arg-type]
                 if r["group"] == group and voice in ("ALL", r["voice"])]
            if not p:
                continue
            rows.append({"voice": voice, "group": group, **_stats(p)})
            lines.append(_line(rows[-1]))
        lines.append("")
    for kind in COMPLETE_KINDS:  # the complete group split by kind, all voices together
        p = [float(r["probability"]) for r in results if r["kind"] == kind]  # type: ignore[arg-type]
        if p:
            rows.append({"voice": "ALL", "group": kind, **_stats(p)})
            lines.append(_line(rows[-1]))
    return "\n".join(lines), rows


def run(voices: list[str] | None, out_dir: Path) -> Path:
    """Run the study, print the table and return the JSON path."""
    from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

    items = corpus(voices, [*COMPLETE_KINDS, "pause", "backchannel"])
    todo = samples(items)
    analyzer = LocalSmartTurnAnalyzerV3(cpu_count=1)
    analyzer.set_sample_rate(RATE)
    analyzer._predict_endpoint(todo[0].audio)  # warm-up (graph optimisation, allocations)
    results: list[dict[str, object]] = []
    times_ms: list[float] = []
    for s in todo:
        t0 = time.perf_counter()
        r = analyzer._predict_endpoint(s.audio)
        times_ms.append((time.perf_counter() - t0) * 1000)
        results.append({"id": s.id, "voice": s.voice, "kind": s.kind, "group": s.group,
                        "audio_secs": round(len(s.audio) / RATE, 3),
                        "probability": float(r["probability"])})
    text, rows = table(results)
    print(text)
    print(f"one inference (8 s window, 8 kHz input, 1 thread): median "
          f"{np.median(times_ms):.1f} ms, p90 {np.percentile(times_ms, 90):.1f} ms, "
          f"n={len(times_ms)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"smart_turn_study-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps({
        "config": {"rate": RATE, "pre_speech_secs": PRE_SPEECH_SECS, "stop_secs": STOP_SECS,
                   "mulaw": True, "model": "smart-turn-v3.2-cpu (pipecat bundled)",
                   "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS")},
        "inference_ms": {"median": float(np.median(times_ms)),
                         "p90": float(np.percentile(times_ms, 90)), "all": times_ms},
        "summary": rows, "dropped": dropped(), "results": results,
    }, indent=1))
    print(f"raw results: {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.smart_turn_study [--voice V ...] [--out DIR]``."""
    p = argparse.ArgumentParser(prog="python -m bench.smart_turn_study",
                                description=__doc__.split("\n")[0])
    p.add_argument("--voice", action="append", choices=list(VOICES), help="repeatable")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default bench/results/")
    args = p.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    run(args.voice, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
