"""The REST APIs of the phone carriers beside Twilio: hang up and transfer a live call.

One function per action, with the carriers' differences in two tables (``_HANG_UP``,
``_TRANSFER``), except SignalWire's:

- SignalWire (LaML, Twilio-compatible): Twilio's client (``transports.twilio_rest``) on
  ``{space}/api/laml/2010-04-01/Accounts/{project}/Calls/{sid}.json`` with ``Status=completed``
  (hang up) or ``Twiml=<Dial>`` (transfer).
- Telnyx (Call Control v2): ``POST /v2/calls/{call_control_id}/actions/hangup``, or
  ``.../actions/transfer`` with ``{"to": number}``.
- Plivo: ``DELETE /v1/Account/{auth_id}/Call/{uuid}/`` (hang up), or ``POST`` to the same URL
  with ``legs=aleg`` and ``aleg_url`` (our ``/plivo/dial?to=&say=``, which answers
  ``<Speak>`` and ``<Dial>``).

``TELNYX_API_BASE_URL``, ``PLIVO_API_BASE_URL`` and ``SIGNALWIRE_SPACE_URL`` point them at
doubles in tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

import httpx

from config import Settings
from transports.twilio_rest import TwilioRestError, post_calls, signalwire_account

REST_TIMEOUT_SECS = 10.0


class CarrierRestError(RuntimeError):
    """The carrier is not configured, could not be reached, or refused the request."""


@dataclass(frozen=True)
class RestRequest:
    """One HTTP request to a carrier's REST API."""

    method: str
    url: str
    auth: tuple[str, str] | None = None
    headers: dict[str, str] | None = None
    json: dict[str, Any] | None = None
    ok_statuses: tuple[int, ...] = ()  # besides 2xx: "already ended" answers


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


async def _signalwire(
    settings: Settings, call_id: str, form: dict[str, str], timeout: float
) -> None:
    """Update a live SignalWire call through the Twilio-compatible client (``twilio_rest``)."""
    account = signalwire_account(settings)
    if not (settings.signalwire_space_url and account.account_sid and account.auth_token):
        raise CarrierRestError("SIGNALWIRE_SPACE_URL / _PROJECT_ID / _API_TOKEN are not set")
    try:
        await post_calls(account, f"/{call_id}.json", form, timeout)
    except TwilioRestError as exc:
        raise CarrierRestError(str(exc)) from None


def _telnyx(settings: Settings, call_id: str, action: str, body: dict[str, Any]) -> RestRequest:
    key = _secret(settings.telnyx_api_key)
    if not key:
        raise CarrierRestError("TELNYX_API_KEY is not set")
    url = f"{settings.telnyx_api_base_url}/v2/calls/{quote(call_id, safe='')}/actions/{action}"
    headers = {"Authorization": f"Bearer {key}"}
    ok = (422,) if action == "hangup" else ()  # 422 on hang-up: the call already ended
    return RestRequest("POST", url, headers=headers, json=body, ok_statuses=ok)


def _plivo(settings: Settings, call_id: str, method: str, form: dict[str, str]) -> RestRequest:
    auth_id, token = settings.plivo_auth_id, _secret(settings.plivo_auth_token)
    if not (auth_id and token):
        raise CarrierRestError("PLIVO_AUTH_ID / PLIVO_AUTH_TOKEN are not set")
    url = f"{settings.plivo_api_base_url}/v1/Account/{auth_id}/Call/{call_id}/"
    ok = (404,) if method == "DELETE" else ()  # 404 on hang-up: the call already ended
    return RestRequest(method, url, auth=(auth_id, token), json=form or None, ok_statuses=ok)


def dial_xml(number: str, announcement: str | None = None, *, plivo: bool = False) -> str:
    """The document that says ``announcement`` (if any) and dials ``number``.

    Args:
        number: Who to dial.
        announcement: Said to the caller first (``<Say>``; Plivo: ``<Speak>``).
        plivo: Plivo XML (``<Speak>``, ``<Dial><Number>``) instead of TwiML/LaML.
    """
    say = "Speak" if plivo else "Say"
    spoken = f"<{say}>{escape(announcement)}</{say}>" if announcement else ""
    inner = f"<Number>{escape(number)}</Number>" if plivo else escape(number)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{spoken}<Dial>{inner}</Dial></Response>'
    )


_HANG_UP: dict[str, Callable[[Settings, str], RestRequest]] = {
    "telnyx": lambda s, c: _telnyx(s, c, "hangup", {}),
    "plivo": lambda s, c: _plivo(s, c, "DELETE", {}),
}

_TRANSFER: dict[str, Callable[[Settings, str, str, str | None], RestRequest]] = {
    # Call Control's transfer says nothing: the bot speaks any announcement before it.
    "telnyx": lambda s, c, n, a: _telnyx(s, c, "transfer", {"to": n}),
    "plivo": lambda s, c, n, a: _plivo(
        s,
        c,
        "POST",
        {
            "legs": "aleg",
            "aleg_url": f"{s.public_url}/plivo/dial?{urlencode(_dial(n, a))}",
            "aleg_method": "GET",
        },
    ),
}


def _dial(number: str, announcement: str | None) -> dict[str, str]:
    return {"to": number, **({"say": announcement} if announcement else {})}


async def _send(request: RestRequest, timeout: float) -> int:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            resp = await client.request(
                request.method, request.url, auth=request.auth, headers=request.headers,
                json=request.json,
            )  # fmt: skip
    except httpx.HTTPError as exc:
        raise CarrierRestError(f"could not be reached ({type(exc).__name__})") from None
    if resp.status_code >= 300 and resp.status_code not in request.ok_statuses:
        raise CarrierRestError(f"refused the request (HTTP {resp.status_code})")
    return resp.status_code


async def hang_up(
    settings: Settings, carrier: str, call_id: str, timeout: float = REST_TIMEOUT_SECS
) -> None:
    """End the live call ``call_id`` at ``carrier`` (a call that already ended is fine).

    Raises:
        CarrierRestError: Not configured, unreachable, or refused.
    """
    if carrier == "signalwire":
        await _signalwire(settings, call_id, {"Status": "completed"}, timeout)
    else:
        await _send(_HANG_UP[carrier](settings, call_id), timeout)


async def transfer(
    settings: Settings,
    carrier: str,
    call_id: str,
    number: str,
    announcement: str | None = None,
    timeout: float = REST_TIMEOUT_SECS,
) -> None:
    """Move the live call ``call_id`` at ``carrier`` to ``number`` (our stream ends).

    Args:
        settings: The carrier's credentials and REST base URL.
        carrier: ``signalwire``, ``telnyx`` or ``plivo``.
        call_id: The carrier's id for the call (``CallContext.provider_call_id``).
        number: Who to dial.
        announcement: Said by the carrier first (SignalWire, Plivo; Telnyx: None, the bot
            says it); None for a cold transfer.
        timeout: HTTP timeout in seconds.

    Raises:
        CarrierRestError: Not configured, unreachable, or refused.
    """
    if carrier == "signalwire":
        await _signalwire(settings, call_id, {"Twiml": dial_xml(number, announcement)}, timeout)
    else:
        await _send(_TRANSFER[carrier](settings, call_id, number, announcement), timeout)
