"""``GET /fleet``: the hosts taking calls, their slots and calls (this host alone without Redis)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from launcher.auth import require_api_key

router = APIRouter(dependencies=[Depends(require_api_key)])


@router.get("/fleet")
async def fleet(request: Request) -> dict[str, Any]:
    """Every live host (URL, slots, active calls, calls admitted on their way, draining)."""
    registry = request.app.state.fleet
    if registry is not None:
        hosts = await registry.hosts()
    else:
        settings = request.app.state.settings
        runner = request.app.state.runner
        hosts = [
            {
                "host_id": "local",
                "url": settings.public_url.rstrip("/"),
                "capacity": settings.max_concurrent_calls,
                "active": runner.active_count(),
                "draining": int(runner.draining),
                "pending": 0,
            }
        ]
    rows = [{**h, **{k: int(h[k]) for k in ("capacity", "active", "draining")}} for h in hosts]
    return {
        "hosts": rows,
        "slots": sum(h["capacity"] for h in rows if not h["draining"]),
        "calls": sum(h["active"] + int(h["pending"]) for h in rows),
    }
