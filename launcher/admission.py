"""Who answers a call and whether it is admitted: the persona lookup and admission of the routes.

Every phone carrier's voice webhook (Twilio in ``launcher.twilio_routes``, the others in
``launcher.carrier_routes``) takes one path, :func:`admit_phone_call`: the persona comes from
``?persona=`` or the called number (``PHONE_PERSONAS``, else ``DEFAULT_PERSONA``), it must be
ready, and the call is admitted here or on a fleet's host; a refusal is the sentence the
caller hears. The stream then carries a one-use media token (:func:`with_media_token`).
The API routes look personas up with :func:`persona_or_404`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from loguru import logger

from assembly.persona import Persona
from bots import UnknownPersonaError, get_persona
from config import Settings
from launcher.media_stream import media_tokens
from launcher.media_tokens import TOKEN_PARAM
from launcher.metrics import count_refusal
from launcher.readiness import problems_of
from runner.base import CallRefused

NOT_CONFIGURED = "Sorry, this number is not configured. Goodbye."
NOT_READY = "Sorry, we cannot take calls on this line right now. Please try again later. Goodbye."
APOLOGIES = {
    "full": "Sorry, all our lines are busy right now. Please call again in a few minutes. Goodbye.",
    "draining": "Sorry, we cannot take your call right now. Please call again shortly. Goodbye.",
}


def masked(number: str | None) -> str:
    """A phone number for logs: only its last four digits."""
    return f"…{number[-4:]}" if number else "-"


def persona_or_404(name: str) -> Persona:
    """The persona, or a 404 that lists the valid names."""
    try:
        return get_persona(name)
    except UnknownPersonaError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


async def admit(request: Request, call_id: str) -> tuple[CallRefused | None, str]:
    """Admit a call here, or (with a fleet) on the host with the most free slots.

    Returns:
        Why it is refused (or None), and the public URL of the host that will run it.
    """
    settings: Settings = request.app.state.settings
    fleet = request.app.state.fleet
    if fleet is None:
        return request.app.state.runner.admission(), settings.public_url
    try:
        slot = await fleet.reserve(call_id)
    except Exception as exc:  # Redis unreachable: this host still takes calls it has room for
        logger.error(f"fleet admission failed ({type(exc).__name__}: {exc}); admitting locally")
        return request.app.state.runner.admission(), settings.public_url
    if slot is None:
        return CallRefused("full", retry_after=5), settings.public_url
    return None, slot.url


@dataclass(frozen=True)
class PhoneCall:
    """An admitted phone call: who answers, our id for it, the host that will run it.

    ``params`` are its stream parameters: the numbers and the tenant (``?tenant=`` on the
    voice webhook's URL).
    """

    persona: str
    call_id: str
    base_url: str
    params: dict[str, str]


async def admit_phone_call(
    request: Request, carrier: str, sid: str, caller: str, called: str, call_id: str
) -> PhoneCall | str:
    """Choose the persona of a carrier's incoming call and admit the call.

    Args:
        request: The voice webhook's request (``?persona=``, app state).
        carrier: ``twilio``, ``signalwire``, ``telnyx`` or ``plivo`` (logs and metrics).
        sid: The carrier's id of the call (logs).
        caller: The caller's number.
        called: The number called (chooses the persona through ``PHONE_PERSONAS``).
        call_id: Our id for the call.

    Returns:
        The admitted call, or the sentence the caller hears before the carrier hangs up.
    """
    app = request.app
    settings: Settings = app.state.settings
    name = request.query_params.get("persona") or settings.phone_personas.get(called)
    try:
        persona = get_persona(name or settings.default_persona)
    except UnknownPersonaError:
        logger.warning(f"{carrier} voice {sid or '-'} to {masked(called)}: unknown persona")
        count_refusal(app, carrier, "not_configured")
        return NOT_CONFIGURED
    if problems := problems_of(app, persona.name):
        logger.error(f"{carrier} voice {sid or '-'}: {persona.name}: {'; '.join(problems)}")
        count_refusal(app, carrier, "not_ready")
        return NOT_READY
    refused, base_url = await admit(request, call_id)
    if refused is not None:
        logger.warning(
            f"{carrier} voice {sid or '-'} from {masked(caller)}: refused, launcher is "
            f"{refused.reason}"
        )
        count_refusal(app, carrier, refused.reason)
        return APOLOGIES.get(refused.reason, APOLOGIES["draining"])
    logger.info(f"{carrier} voice {sid or '-'} from {masked(caller)}: {persona.name} {call_id}")
    params = {
        "from_number": caller,
        "to_number": called,
        "tenant": request.query_params.get("tenant", ""),
    }
    return PhoneCall(persona.name, call_id, base_url, params)


def with_media_token(
    app: Any, call_id: str, persona: str, params: dict[str, str]
) -> dict[str, str]:
    """The stream parameters of a call, with the one-use media token that admits its stream.

    Args:
        app: The launcher app (its media tokens).
        call_id: Our id for the call.
        persona: The persona that answers.
        params: The other stream parameters (numbers, tenant, ``resumed_from``...).
    """
    params = {"persona": persona, "call_id": call_id, **params}
    identity = {k: v for k, v in params.items() if v and k not in ("call_id", "persona")}
    params[TOKEN_PARAM] = media_tokens(app).issue(call_id, persona, identity)
    return params
