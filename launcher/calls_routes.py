"""Calls API: active and recent calls, one call's details, and ending a call politely.

In a fleet (``REDIS_URL``) every route answers for the whole fleet, whichever launcher gets the
request (``fleet/peers.py``): ``GET /calls`` merges every live host's calls, each row naming its
``host_id``; ``GET /calls/{id}`` and ``POST /calls/{id}/end`` go to the host that has the call
(404 only when no host has it; 503 when a host that might have it did not answer). Hosts that
did not answer ``GET /calls`` are named in the ``X-Fleet-Unreachable`` header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from fleet.peers import UNREACHABLE_HEADER, host_id_of, peers_of
from launcher.auth import require_api_key

router = APIRouter(dependencies=[Depends(require_api_key)])

DEFAULT_GOODBYE = "I have to end our call now. Goodbye!"


class EndCallBody(BaseModel):
    """Optional goodbye to say before hanging up."""

    goodbye: str = Field(default=DEFAULT_GOODBYE, min_length=1, max_length=500)


def _order(row: dict[str, Any]) -> tuple[int, float]:
    """Active calls first (oldest first), then ended ones (most recently ended first)."""
    if row.get("active"):
        return 0, float(row.get("started_at") or 0)
    return 1, -float(row.get("ended_at") or row.get("started_at") or 0)


def _unreachable(hosts: list[str]) -> HTTPException:
    return HTTPException(
        status_code=503,
        detail=f"the call is on no host that answered; not answering: {', '.join(hosts)}",
        headers={UNREACHABLE_HEADER: ",".join(hosts), "Retry-After": "2"},
    )


@router.get("/calls")
async def list_calls(request: Request, response: Response) -> list[dict]:
    """Active calls first, then recent ones (in a fleet: every host's, with ``host_id``)."""
    rows = [c.summary() for c in request.app.state.runner.calls()]
    host_id = host_id_of(request)
    if host_id is None:
        return rows
    rows = [{**row, "host_id": host_id} for row in rows]
    peers = peers_of(request)
    if peers is None:  # another host asked: this host's calls only
        return rows
    fleet = await peers.ask_all("GET", "/calls")
    for peer, answer in fleet.answers:
        rows.extend({**row, "host_id": peer} for row in answer.json())
    if fleet.unreachable:
        response.headers[UNREACHABLE_HEADER] = ",".join(fleet.unreachable)
    return sorted(rows, key=_order)


@router.get("/calls/{call_id}")
async def get_call(call_id: str, request: Request) -> dict:
    """Persona, transport, caller, timings, transcript so far and per-turn latency."""
    details = await request.app.state.runner.details(call_id)
    host_id = host_id_of(request)
    if details is not None:
        return details if host_id is None else {**details, "host_id": host_id}
    peers = peers_of(request)
    if peers is not None:
        fleet = await peers.find("GET", f"/calls/{quote(call_id, safe='')}")
        if fleet.answers:
            peer, answer = fleet.answers[0]
            return {**answer.json(), "host_id": peer}
        if fleet.unreachable:
            raise _unreachable(fleet.unreachable)
    raise HTTPException(status_code=404, detail=f"no call {call_id!r}")


@router.post("/calls/{call_id}/end", status_code=202)
async def end_call(call_id: str, request: Request, body: EndCallBody | None = None) -> JSONResponse:
    """Say goodbye, then hang up (202: the goodbye is being spoken)."""
    goodbye = (body or EndCallBody()).goodbye
    host_id = host_id_of(request)
    if await request.app.state.runner.end(call_id, goodbye):
        ending: dict[str, Any] = {"call_id": call_id, "status": "ending"}
        return JSONResponse(
            ending if host_id is None else {**ending, "host_id": host_id}, status_code=202
        )
    peers = peers_of(request)
    if peers is not None:
        path = f"/calls/{quote(call_id, safe='')}/end"
        fleet = await peers.find("POST", path, json={"goodbye": goodbye})
        if fleet.answers:
            peer, answer = fleet.answers[0]
            return JSONResponse({**answer.json(), "host_id": peer}, status_code=202)
        if fleet.unreachable:
            raise _unreachable(fleet.unreachable)
    raise HTTPException(status_code=404, detail=f"no active call {call_id!r}")
