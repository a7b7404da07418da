"""Calls API: active and recent calls, one call's details, and ending a call politely."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from launcher.auth import require_api_key

router = APIRouter(dependencies=[Depends(require_api_key)])

DEFAULT_GOODBYE = "I have to end our call now. Goodbye!"


class EndCallBody(BaseModel):
    """Optional goodbye to say before hanging up."""

    goodbye: str = Field(default=DEFAULT_GOODBYE, min_length=1, max_length=500)


@router.get("/calls")
async def list_calls(request: Request) -> list[dict]:
    """Active calls first, then recent ones."""
    return [c.summary() for c in request.app.state.runner.calls()]


@router.get("/calls/{call_id}")
async def get_call(call_id: str, request: Request) -> dict:
    """Persona, transport, caller, timings, transcript so far and per-turn latency."""
    details = await request.app.state.runner.details(call_id)
    if details is None:
        raise HTTPException(status_code=404, detail=f"no call {call_id!r}")
    return details


@router.post("/calls/{call_id}/end", status_code=202)
async def end_call(call_id: str, request: Request, body: EndCallBody | None = None) -> JSONResponse:
    """Say goodbye, then hang up (202: the goodbye is being spoken)."""
    goodbye = (body or EndCallBody()).goodbye
    if not await request.app.state.runner.end(call_id, goodbye):
        raise HTTPException(status_code=404, detail=f"no active call {call_id!r}")
    return JSONResponse({"call_id": call_id, "status": "ending"}, status_code=202)
