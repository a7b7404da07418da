"""``python -m bench rooms``: room request -> bot joined, through the real launcher.

Each room request is ``POST /rooms`` (LiveKit: RoomService create, two tokens, a bot started);
"joined" is the moment the bot's signal connection reaches the LiveKit double, which records
the wall-clock time of every join. Requests are sequential, spaced so calls do not pile up.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.stack import running_stack
from bench.stats import spread


@dataclass
class RoomsConfig:
    """What to run: ``rooms`` requests, the launcher env and where results go."""

    rooms: int
    out: Path
    launcher_env: dict[str, str]
    profile: dict[str, Any]
    spacing_secs: float = 0.5


def _join_at(stack: Any, room: str, timeout: float = 20.0) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        joins = [j for j in stack.client.livekit_joins() if j.get("room") == room]
        if joins:
            return min(float(j["at"]) for j in joins)
        time.sleep(0.02)
    return None


def run(cfg: RoomsConfig, command: list[str]) -> int:
    """Run the room requests and print p50/p95 of request -> join and of the HTTP answer."""
    joined_ms: list[float] = []
    answer_ms: list[float] = []
    failures = 0
    with running_stack(cfg.profile, cfg.launcher_env) as stack:
        url = f"{stack.launcher.base_url}/rooms"
        for _ in range(cfg.rooms):
            sent = time.time()
            answer = httpx.post(url, json={"persona": "assistant"}, timeout=30)
            answered = time.time()
            if answer.status_code != 200:
                failures += 1
                continue
            answer_ms.append((answered - sent) * 1000)
            at = _join_at(stack, answer.json()["room"])
            if at is None:
                failures += 1
            else:
                joined_ms.append((at - sent) * 1000)
            time.sleep(cfg.spacing_secs)
    result = {
        "command": " ".join(command),
        "rooms": cfg.rooms,
        "failures": failures,
        "launcher_env": cfg.launcher_env,
        "request_to_join_ms": spread(joined_ms),
        "request_to_answer_ms": spread(answer_ms),
        "samples_ms": [round(x, 1) for x in joined_ms],
    }
    cfg.out.mkdir(parents=True, exist_ok=True)
    path = cfg.out / f"rooms-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"== {cfg.rooms} room requests (launcher env {cfg.launcher_env or 'default'}) ==")
    print(f"failed                {failures} / {cfg.rooms}")
    for key, label in (("request_to_join_ms", "request -> bot joined"),
                       ("request_to_answer_ms", "request -> HTTP answer ")):
        p = result[key]
        print(f"{label:24}p50 {p['p50']:.0f} ms / p95 {p['p95']:.0f} ms (n={p['n']})"
              if p["n"] else f"{label:24}no samples")
    print(f"wrote {path}")
    return 0 if not failures else 1
