"""Browser: SmallWebRTC offers and ICE patches, checked here and answered by the runner."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from launcher.admission import persona_or_404
from launcher.client_limits import ClientLimits, check_rate, client_of
from launcher.metrics import count_refusal
from launcher.readiness import require_ready
from launcher.sessions import call_identity
from runner.base import BadOffer, CallRefused

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


_SDP_NEEDS = (
    ("v=0", "v=0"),
    ("an m= line", "m="),
    ("ice-ufrag", "a=ice-ufrag:"),
    ("ice-pwd", "a=ice-pwd:"),
)


def check_offer(body: OfferBody) -> None:
    """Refuse an offer that cannot become a call, before any slot or worker is touched.

    Raises:
        HTTPException: 400 naming what is wrong.
    """
    if body.type != "offer":
        raise HTTPException(status_code=400, detail=f"type must be 'offer', not {body.type[:20]!r}")
    lines = body.sdp.replace("\r\n", "\n").split("\n")
    missing = [
        what for what, prefix in _SDP_NEEDS if not any(line.startswith(prefix) for line in lines)
    ]
    if missing:
        raise HTTPException(status_code=400, detail=f"not an SDP offer: no {', '.join(missing)}")


def _retry(exc: CallRefused) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)}


@router.post("/api/offer")
async def offer(body: OfferBody, request: Request) -> dict[str, str] | None:
    """A browser's offer: rate-limited, checked, its identity from a session token, answered.

    Nothing else in ``request_data`` reaches the call: the server chooses the call id (a
    browser that named its own could write files where it likes) and the session token, made
    by the operator's backend, says who the caller is.
    """
    limits: ClientLimits = request.app.state.client_limits
    check_rate(limits.offers, request)
    check_offer(body)
    data = call_identity(request, body.request_data or {})
    persona = persona_or_404(str(data.get("persona") or request.app.state.settings.default_persona))
    try:
        require_ready(request.app, persona)  # a clear 503 before any media, never a silent call
    except HTTPException:
        count_refusal(request.app, "webrtc", "not_ready")
        raise
    data["persona"] = persona.name
    runner = request.app.state.runner
    client = client_of(request)
    live = sum(1 for a in runner.calls() if a.client == client and a.ended_at is None)
    with limits.starting_call(client, live):
        try:  # answered here or by a worker process, as the runner runs calls
            return await runner.answer_offer(
                persona, {**body.model_dump(), "request_data": data}, client=client
            )
        except CallRefused as exc:
            count_refusal(request.app, "webrtc", exc.reason)
            raise HTTPException(status_code=429, detail=str(exc), headers=_retry(exc)) from None
        except BadOffer as exc:
            raise HTTPException(status_code=exc.status, detail=exc.detail) from None


# The worker's copy of the routes, behind its secret: the launcher checked the offer and chose
# the call id.
internal_router = APIRouter()


@internal_router.post("/api/offer")
async def internal_offer(body: OfferBody, request: Request) -> dict[str, str] | None:
    """An offer the launcher forwards, answered in this worker."""
    data = dict(body.request_data or {})
    persona = persona_or_404(str(data.get("persona") or ""))
    try:
        return await request.app.state.runner.answer_offer(persona, body.model_dump())
    except CallRefused as exc:
        raise HTTPException(status_code=429, detail=str(exc), headers=_retry(exc)) from None
    except BadOffer as exc:
        raise HTTPException(status_code=exc.status, detail=exc.detail) from None


@router.patch("/api/offer")
@internal_router.patch("/api/offer")
async def ice_candidates(body: PatchBody, request: Request) -> dict[str, str]:
    """Add trickled ICE candidates to a peer connection (here or in its worker)."""
    try:
        await request.app.state.runner.patch_offer(body.model_dump())
    except KeyError:
        raise HTTPException(status_code=404, detail="unknown peer connection") from None
    return {"status": "success"}
