"""Twilio's REST API: place a call, and give a live call new TwiML (a transfer, a move).

The one place that talks to ``/2010-04-01/Accounts/{sid}/Calls``; ``TWILIO_API_BASE_URL``
points it at a double in tests.
"""

from __future__ import annotations

from typing import Any

import httpx

from config import Settings

TWILIO_TIMEOUT_SECS = 10.0


class TwilioRestError(RuntimeError):
    """Twilio is not configured, could not be reached, or refused the request.

    Attributes:
        status_code: Twilio's HTTP status (None: no answer).
        body: Twilio's JSON error body (``code``, ``message``), if any.
    """

    def __init__(self, message: str, status_code: int | None = None, body: Any = None):
        super().__init__(message)
        self.status_code = status_code
        self.body = body if isinstance(body, dict) else {}


async def _post(settings: Settings, path: str, form: dict[str, str], timeout: float) -> dict:
    """POST ``form`` to ``Calls{path}``; Twilio's JSON answer.

    Raises:
        TwilioRestError: Not configured, unreachable, or an HTTP status ≥ 300.
    """
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise TwilioRestError("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set")
    sid = settings.twilio_account_sid
    url = f"{settings.twilio_http_url}/2010-04-01/Accounts/{sid}/Calls{path}"
    auth = (sid, settings.twilio_auth_token.get_secret_value())
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            resp = await client.post(url, data=form, auth=auth)
    except httpx.HTTPError as exc:
        raise TwilioRestError(f"Twilio could not be reached ({type(exc).__name__})") from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code >= 300:
        raise TwilioRestError(
            f"Twilio refused the request (HTTP {resp.status_code})", resp.status_code, body
        )
    return body if isinstance(body, dict) else {}


async def create_call(
    settings: Settings, form: dict[str, str], timeout: float = TWILIO_TIMEOUT_SECS
) -> dict[str, Any]:
    """Place a call (``To``, ``From``, ``Url``...); Twilio's call resource.

    Raises:
        TwilioRestError: Not configured, unreachable, or refused.
    """
    return await _post(settings, ".json", form, timeout)


async def update_call_twiml(
    settings: Settings, call_sid: str, twiml: str, timeout: float = TWILIO_TIMEOUT_SECS
) -> None:
    """Replace what the live call ``call_sid`` is doing with ``twiml``.

    Twilio ends the call's current verb (our media stream) and runs the new TwiML.

    Raises:
        TwilioRestError: Not configured, unreachable, or an HTTP status ≥ 300.
    """
    await _post(settings, f"/{call_sid}.json", {"Twiml": twiml}, timeout)
