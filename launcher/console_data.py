"""What the calls console shows, read from the runner (live and recent calls) and storage.

Storage has every call this deployment kept (all hosts of a fleet), the runner has the calls of
this process as they happen; a call known to both is the storage row with the runner's live
state on top. Times are epoch seconds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from launcher import calls_routes
from storage.base import CallRecord, Storage

SCAN_LIMIT = 1000  # rows read when filtering on what storage cannot (persona, dates)
EVENTS_SCANNED = 1000  # newest outbox events searched for one call's webhook deliveries


def epoch(value: datetime | float | None) -> float | None:
    """Epoch seconds of a stored datetime or a runner timestamp."""
    if value is None:
        return None
    return value.timestamp() if isinstance(value, datetime) else float(value)


def parse_when(value: str | None) -> float | None:
    """An ISO 8601 date or datetime (naive: UTC) as epoch seconds.

    Raises:
        ValueError: Not ISO 8601.
    """
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _row(record: CallRecord) -> dict[str, Any]:
    latency = record.latency or {}
    total = (latency.get("stages") or {}).get("total") or {}
    return {
        "call_id": record.id,
        "persona": record.persona,
        "tenant": record.tenant,
        "transport": record.transport,
        "caller_number": record.caller_number,
        "called_number": record.called_number,
        "room": record.room,
        "started_at": epoch(record.started_at),
        "answered_at": epoch(record.answered_at),
        "ended_at": epoch(record.ended_at),
        "duration_secs": record.duration_secs,
        "end_reason": record.end_reason,
        "status": record.status,
        "active": record.status == "active",
        "cost": record.cost,
        "v2v_p50_ms": total.get("p50"),
        "v2v_p95_ms": total.get("p95"),
        "turns": latency.get("turns"),
        "has_recording": bool(record.recording_url),
        "host": record.metadata.get("host"),
    }


def _summary_row(summary: dict[str, Any]) -> dict[str, Any]:
    """A row from a runner's call summary (a call storage has no row of yet)."""
    ended = summary.get("ended_at")
    return {
        "call_id": summary["call_id"],
        "persona": summary["persona"],
        "tenant": summary.get("tenant"),
        "transport": summary["transport"],
        "caller_number": summary.get("caller_number"),
        "called_number": summary.get("called_number"),
        "room": summary.get("room"),
        "started_at": summary["started_at"],
        "answered_at": None,
        "ended_at": ended,
        "duration_secs": round(ended - summary["started_at"], 3) if ended else None,
        "end_reason": summary.get("end_reason"),
        "status": "active" if summary["active"] else "ended",
        "active": summary["active"],
        "cost": None,
        "v2v_p50_ms": None,
        "v2v_p95_ms": None,
        "turns": None,
        "has_recording": False,
        "host": summary.get("host_id"),
    }


def _with_live(row: dict[str, Any], details: dict[str, Any] | None) -> dict[str, Any]:
    """A row with the runner's live state, cost estimate and latency so far on top."""
    if details is None:
        return row
    out = {**row, "active": details["active"]}
    out["end_reason"] = row["end_reason"] or details.get("end_reason")
    if details["active"]:
        out["status"], out["duration_secs"] = "active", None
    elif out["status"] == "active":  # the runner knows it ended before the row says so
        ended = details.get("ended_at")
        out["status"], out["ended_at"] = "ended", ended
        if ended and out["started_at"]:
            out["duration_secs"] = round(ended - (out["answered_at"] or out["started_at"]), 3)
    out["cost"] = out["cost"] or details.get("cost")
    latency = details.get("latency") or {}
    total = (latency.get("stages") or {}).get("total") or {}
    if out["v2v_p50_ms"] is None and total:
        out["v2v_p50_ms"], out["v2v_p95_ms"] = total.get("p50"), total.get("p95")
    out["turns"] = out["turns"] if out["turns"] is not None else latency.get("turns")
    return out


async def list_calls(
    app: FastAPI,
    *,
    persona: str | None = None,
    tenant: str | None = None,
    status: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Live and finished calls, newest first, filtered.

    Args:
        app: The launcher app (its runner and storage).
        persona: Only this persona's calls.
        tenant: Only this tenant's calls.
        status: ``active``, ``ended`` or ``failed``.
        since: Started at or after (epoch seconds).
        until: Started before (epoch seconds).
        limit: At most this many rows.

    Returns:
        Rows with duration, end reason, cost and voice-to-voice p50.
    """
    storage: Storage = app.state.storage
    runner = app.state.runner
    scan = SCAN_LIMIT if (persona or since or until or status == "active") else limit
    stored_status = None if status == "active" else status  # a live row may say ended soon
    records = await storage.list_calls(tenant=tenant, limit=scan, status=stored_status)
    rows = {r.id: _row(r) for r in records}
    for active in runner.calls():
        if active.call_id not in rows:
            row = _summary_row(active.summary())
            if tenant is None or row["tenant"] == tenant:
                rows[active.call_id] = row
    live = [c for c in runner.calls() if c.ended_at is None and c.call_id in rows]
    for active, details in zip(
        live, await asyncio.gather(*(runner.details(c.call_id) for c in live)), strict=True
    ):
        rows[active.call_id] = _with_live(rows[active.call_id], details)
    for active in runner.calls():  # recently ended here: the row may not say so yet
        row = rows.get(active.call_id)
        if active.ended_at is not None and row is not None and row["status"] == "active":
            rows[active.call_id] = _with_live(row, active.details())

    def wanted(row: dict[str, Any]) -> bool:
        started = row["started_at"] or 0.0
        return (
            (persona is None or row["persona"] == persona)
            and (status is None or row["status"] == status)
            and (since is None or started >= since)
            and (until is None or started < until)
        )

    out = sorted((r for r in rows.values() if wanted(r)), key=lambda r: -(r["started_at"] or 0))
    return out[:limit]


def _turns(stored: list[Any], live: dict[str, Any] | None) -> list[dict[str, Any]]:
    if stored:
        return [
            {
                "seq": t.seq,
                "role": t.role,
                "text": t.text,
                "started_at": epoch(t.started_at),
                "ended_at": epoch(t.ended_at),
                "interrupted": t.interrupted,
            }
            for t in stored
        ]
    return [
        {**t, "seq": i + 1, "started_at": None, "ended_at": None, "interrupted": False}
        for i, t in enumerate((live or {}).get("transcript") or [])
    ]


def _metrics(stored: list[Any], live: dict[str, Any] | None) -> list[dict[str, Any]]:
    stages = ("end_of_turn", "stt", "llm", "tts", "tool", "own", "total")
    if stored:
        return [{"turn": m.turn, **{s: getattr(m, f"{s}_ms") for s in stages}} for m in stored]
    turns = ((live or {}).get("latency") or {}).get("turns_ms") or []
    return [{"turn": i + 1, **{s: t.get(s) for s in stages}} for i, t in enumerate(turns)]


async def _live_details(request: Request, call_id: str) -> dict[str, Any] | None:
    """What ``GET /calls/{id}`` says of the call (any host of a fleet), or None."""
    try:
        return await calls_routes.get_call(call_id, request)
    except HTTPException:  # no host has it (finished long ago), or its host did not answer
        return None


async def call_detail(request: Request, call_id: str) -> dict[str, Any] | None:
    """One call: summary, transcript, per-turn latency, recording, analysis, cost, tools, webhooks.

    Returns:
        None when neither the calls API nor storage knows the call.
    """
    storage: Storage = request.app.state.storage
    live = await _live_details(request, call_id)
    record = await storage.get_call(call_id)
    if record is None and live is None:
        return None
    row = _row(record) if record is not None else _summary_row(live or {})
    row = _with_live(row, live)
    turns, metrics, recording, events = await asyncio.gather(
        storage.list_turns(call_id),
        storage.list_turn_metrics(call_id),
        storage.get_recording(call_id),
        storage.list_events(limit=EVENTS_SCANNED),
    )
    latency = (record.latency if record is not None else None) or (live or {}).get("latency")
    return {
        **row,
        "metadata": record.metadata if record is not None else {},
        "transcript": _turns(turns, live),
        "turn_metrics": _metrics(metrics, live),
        "latency": {k: v for k, v in (latency or {}).items() if k != "turns_ms"},
        "recording": None
        if recording is None
        else {
            "url": f"/console/api/calls/{call_id}/recording",
            "channels": recording.channels,
            "sample_rate": recording.sample_rate,
            "duration_secs": recording.duration_secs,
            "bytes": recording.bytes,
        },
        "analysis": record.analysis if record is not None else None,
        "tool_calls": (live or {}).get("tool_calls"),  # None: this process no longer has them
        "webhooks": [
            {
                "id": e.id,
                "type": e.type,
                "url": e.url,
                "status": e.status,
                # Tries: the stored count is of failed ones; a delivery is one more.
                "attempts": e.attempts + (e.status == "delivered"),
                "last_error": e.last_error,
                "created_at": epoch(e.created_at),
                "delivered_at": epoch(e.delivered_at),
                "next_attempt_at": epoch(e.next_attempt_at),
            }
            for e in reversed(events)
            if e.call_id == call_id
        ],
    }
