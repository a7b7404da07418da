"""Browser: SmallWebRTC offers and ICE patches, answered by the launcher itself."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pipecat.runner.types import SmallWebRTCRunnerArguments
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.request_handler import (
    IceCandidate,
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pydantic import BaseModel, Field

from bots import UnknownPersonaError, get_persona
from runner.base import CallRefused

router = APIRouter()


class OfferBody(BaseModel):
    """A browser's SDP offer plus which persona it wants to talk to."""

    sdp: str = Field(max_length=200_000)
    type: str
    pc_id: str | None = None
    restart_pc: bool | None = None
    request_data: dict[str, Any] | None = None


class CandidateBody(BaseModel):
    """One trickled ICE candidate."""

    candidate: str
    sdp_mid: str
    sdp_mline_index: int


class PatchBody(BaseModel):
    """Trickled ICE candidates for an existing peer connection."""

    pc_id: str
    candidates: list[CandidateBody]


def loopback_only_ice() -> None:
    """Offer only 127.0.0.1 host candidates (tests inside a loopback-only sandbox)."""
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def webrtc_handler() -> SmallWebRTCRequestHandler:
    """The SmallWebRTC handler the app keeps for all peer connections."""
    return SmallWebRTCRequestHandler()


@router.post("/api/offer")
async def offer(body: OfferBody, request: Request) -> dict[str, str] | None:
    """Answer an SDP offer and start the persona's bot on the new connection."""
    data = dict(body.request_data or {})
    try:
        name = str(data.get("persona") or request.app.state.settings.default_persona)
        persona = get_persona(name)
    except UnknownPersonaError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    runner = request.app.state.runner
    if hasattr(runner, "forward_offer"):  # calls run in worker processes
        try:
            return await runner.forward_offer(
                {**body.model_dump(), "request_data": {**data, "persona": persona.name}}
            )
        except CallRefused as exc:
            raise HTTPException(status_code=429, detail=str(exc)) from None

    async def _on_connection(connection: SmallWebRTCConnection) -> None:
        args = SmallWebRTCRunnerArguments(
            webrtc_connection=connection, body=data, session_id=str(uuid.uuid4())
        )
        await runner.start(persona, args)

    handler: SmallWebRTCRequestHandler = request.app.state.webrtc
    return await handler.handle_web_request(
        SmallWebRTCRequest(
            sdp=body.sdp,
            type=body.type,
            pc_id=body.pc_id,
            restart_pc=body.restart_pc,
            request_data=data,
        ),
        _on_connection,
    )


@router.patch("/api/offer")
async def ice_candidates(body: PatchBody, request: Request) -> dict[str, str]:
    """Add trickled ICE candidates to a peer connection."""
    runner = request.app.state.runner
    if hasattr(runner, "forward_patch"):
        try:
            await runner.forward_patch(body.model_dump())
        except KeyError:
            raise HTTPException(status_code=404, detail="unknown peer connection") from None
        return {"status": "success"}
    handler: SmallWebRTCRequestHandler = request.app.state.webrtc
    await handler.handle_patch_request(
        SmallWebRTCPatchRequest(
            pc_id=body.pc_id,
            candidates=[
                IceCandidate(c.candidate, c.sdp_mid, c.sdp_mline_index) for c in body.candidates
            ],
        )
    )
    return {"status": "success"}
