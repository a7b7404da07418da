"""Outbound phone calls: ``POST /calls/outbound`` places a call through Twilio REST.

Twilio dials ``to`` from ``TWILIO_CALLER_ID``; when the callee answers it fetches our voice
webhook (``/twilio/voice?persona=...``), so the call then runs exactly like an inbound one, and
Twilio reports progress to ``/twilio/status``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from loguru import logger
from pydantic import BaseModel, Field, field_validator

from assembly.call import new_call_id
from config import Settings
from launcher.admission import masked, persona_or_404
from launcher.auth import require_api_key
from launcher.readiness import require_ready
from launcher.twilio_status import call_statuses
from transports.twilio_rest import TwilioRestError, create_call

router = APIRouter()

E164 = re.compile(r"^\+[1-9]\d{1,14}$")


class OutboundCallRequest(BaseModel):
    """Body of ``POST /calls/outbound``."""

    to: str = Field(description="Number to call, E.164 (e.g. +15551234567)")
    persona: str | None = Field(default=None, description="Persona; DEFAULT_PERSONA when omitted")

    @field_validator("to")
    @classmethod
    def _e164(cls, value: str) -> str:
        value = value.strip()
        if not E164.match(value):
            raise ValueError("'to' must be an E.164 phone number: + then 2-15 digits, no spaces")
        return value


class OutboundCallResponse(BaseModel):
    """What ``POST /calls/outbound`` answers."""

    call_id: str | None
    call_sid: str
    status: str


def _twilio_config(settings: Settings) -> tuple[str, str, str]:
    missing = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            ("TWILIO_CALLER_ID", settings.twilio_caller_id),
        )
        if not value
    ]
    if missing:
        raise HTTPException(
            status_code=503,
            detail=f"outbound calls are not configured: set {', '.join(missing)}",
        )
    assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_caller_id
    token = settings.twilio_auth_token.get_secret_value()
    return settings.twilio_account_sid, token, settings.twilio_caller_id


async def create_twilio_call(settings: Settings, to: str, persona: str) -> dict[str, Any]:
    """Ask Twilio to place the call.

    Args:
        settings: Twilio credentials, ``TWILIO_CALLER_ID``, ``TWILIO_API_BASE_URL``, ``PUBLIC_URL``.
        to: The E.164 number to call.
        persona: The persona that answers when the callee picks up.

    Returns:
        Twilio's call resource (``sid``, ``status``, ...).

    Raises:
        HTTPException: 503 when not configured, 502 when Twilio refuses or cannot be reached.
    """
    caller_id = _twilio_config(settings)[2]  # (and every Twilio setting it needs is set)
    public = settings.public_url.rstrip("/")
    form = {
        "To": to,
        "From": caller_id,
        "Url": f"{public}/twilio/voice?{urlencode({'persona': persona})}",
        "Method": "POST",
        "StatusCallback": f"{public}/twilio/status",
        "StatusCallbackMethod": "POST",
    }
    try:
        return await create_call(settings, form)
    except TwilioRestError as exc:
        if exc.status_code is None:
            logger.warning(f"outbound call to {masked(to)}: {exc}")
            raise HTTPException(status_code=502, detail="Twilio could not be reached") from None
        message = exc.body.get("message") or str(exc)
        logger.warning(
            f"outbound call to {masked(to)}: Twilio HTTP {exc.status_code} "
            f"code {exc.body.get('code')}: {message}"
        )
        raise HTTPException(
            status_code=502,
            detail={"error": "Twilio refused the call", "twilio_status": exc.status_code,
                    "twilio_code": exc.body.get("code"), "message": message},
        ) from None  # fmt: skip


@router.post(
    "/calls/outbound",
    status_code=201,
    response_model=OutboundCallResponse,
    dependencies=[Depends(require_api_key)],
)
async def outbound_call(body: OutboundCallRequest, request: Request) -> OutboundCallResponse:
    """Place a phone call to ``to``; ``persona`` talks when the callee answers."""
    settings: Settings = request.app.state.settings
    name = body.persona or settings.default_persona
    persona = persona_or_404(name)
    require_ready(request.app, persona)
    refused = request.app.state.runner.admission()
    if refused is not None:
        raise HTTPException(
            status_code=429,
            detail=f"launcher is {refused.reason}; try again later",
            headers={"Retry-After": str(refused.retry_after)},
        )
    call = await create_twilio_call(settings, body.to, persona.name)
    call_sid, status = str(call.get("sid") or ""), str(call.get("status") or "queued")
    call_id = new_call_id()
    call_statuses(request.app).link(
        call_sid, call_id, persona=persona.name, direction="outbound-api", status=status
    )
    logger.info(f"outbound call {call_sid} ({call_id}) to {masked(body.to)}: {persona.name}")
    return OutboundCallResponse(call_id=call_id, call_sid=call_sid, status=status)
