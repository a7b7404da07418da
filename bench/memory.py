"""``python -m bench memory``: memory recall latency through the real local backend.

Fills a fresh SQLite database (the launcher's ``storage.sqlite`` backend, FTS5/BM25) with N
memories of one caller (the worst case: every memory is a candidate), then times recalls as
a call makes them (``memory.local.LocalMemory.recall``, limit 5): queries that share words
with memories, and queries that match nothing (the backend then returns the most recent
memories). Prints p50/p95/max and writes a JSON next to the other results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from memory.local import LocalMemory
from storage.sqlite import SQLiteStorage

_DEFAULT_OUT = Path(__file__).resolve().parent / "results"
_NOUNS = (
    "goal run mile gym diet sleep water book piano guitar dog cat garden job meeting report "
    "sister brother mother father friend trip flight hotel doctor dentist class exam budget "
    "savings rent car bike coffee tea breakfast dinner walk yoga swim project deadline team "
    "manager interview weekend birthday party movie song recipe kitchen painting novel lesson"
).split()
_VERBS = "wants likes plans finished started skipped missed enjoys hates booked visited".split()
_EXTRA = "every day morning evening often rarely again soon later today tomorrow weekly".split()


def _sentence(rng: random.Random) -> str:
    words = [*rng.sample(_NOUNS, 3), *rng.sample(_EXTRA, 2)]
    return f"The caller {rng.choice(_VERBS)} the {' '.join(words)}"


def add_memory_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``memory`` subcommand."""
    p = sub.add_parser("memory", help="memory recall p50/p95 at N memories (local SQLite FTS5)")
    p.add_argument("--memories", type=int, default=10000, help="memories of the caller (N)")
    p.add_argument("--queries", type=int, default=500, help="timed recalls per kind")
    p.add_argument("--out", type=Path, default=_DEFAULT_OUT, help="directory for the JSON")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--log-level", default="WARNING")


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


async def _bench(args: argparse.Namespace, db: Path) -> dict:
    rng = random.Random(args.seed)
    storage = SQLiteStorage(db)
    await storage.open()
    try:
        backend = LocalMemory(storage)
        caller, tenant = "+15550100", "default"
        started = time.perf_counter()
        batch = [_sentence(rng) for _ in range(args.memories)]
        for i in range(0, len(batch), 500):
            await backend.add(tenant, caller, batch[i : i + 500], source_call_id=None)
        fill_secs = time.perf_counter() - started
        await backend.add(tenant, "+15550199", [_sentence(rng) for _ in range(100)])

        async def timed(query: str) -> float:
            t = time.perf_counter()
            found = await backend.recall(tenant, caller, query, 5)
            elapsed = time.perf_counter() - t
            assert found, "a recall returned nothing"
            return elapsed

        for _ in range(20):  # warm the page cache and statement cache
            await timed(" ".join(rng.sample(_NOUNS, 4)))
        matched = [await timed(f"how was my {' '.join(rng.sample(_NOUNS, 3))}")
                   for _ in range(args.queries)]
        unmatched = [await timed("xyzzy plugh") for _ in range(max(20, args.queries // 5))]
    finally:
        await storage.close()
    return {
        "memories": args.memories,
        "queries": args.queries,
        "fill_secs": round(fill_secs, 2),
        "matched": _stats(matched),
        "unmatched": _stats(unmatched),
        "target_p95_ms": 10,
    }


def run_memory(args: argparse.Namespace) -> int:
    """Run the memory benchmark; 0 if the matched-query p95 is within the 10 ms target."""
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        result = asyncio.run(_bench(args, Path(tmp) / "bench.db"))
    result["when"] = datetime.now().isoformat(timespec="seconds")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.out / f"memory-N{args.memories}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    m, u = result["matched"], result["unmatched"]
    print(
        f"memory recall at {args.memories} memories (local SQLite FTS5, limit 5):\n"
        f"  matching queries:  p50 {m['p50_ms']} ms  p95 {m['p95_ms']} ms  max {m['max_ms']} ms\n"
        f"  no match (recent): p50 {u['p50_ms']} ms  p95 {u['p95_ms']} ms  max {u['max_ms']} ms\n"
        f"  target p95 <= 10 ms; filled in {result['fill_secs']} s; wrote {path}"
    )
    return 0 if m["p95_ms"] <= 10 else 1
