"""Twilio's REST API, and SignalWire's Twilio-compatible LaML API: place and update calls.

The one place that talks to ``/2010-04-01/Accounts/{sid}/Calls``, for any
:class:`RestAccount`: Twilio's own (``TWILIO_API_BASE_URL`` points it at a double in tests) or
SignalWire's under ``{space}/api/laml`` (``transports.carrier_rest`` hangs up and transfers
SignalWire calls through it). Pipecat's Twilio serializer hangs up with the same account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from config import Settings

TWILIO_TIMEOUT_SECS = 10.0


@dataclass(frozen=True)
class RestAccount:
    """A Twilio-compatible REST account (SignalWire's LaML API is one)."""

    account_sid: str | None
    auth_token: str | None = field(repr=False)
    base_url: str  # the root ``/2010-04-01/...`` is appended to
    title: str = "Twilio"  # in error messages


def twilio_account(settings: Settings) -> RestAccount:
    """Twilio's own account: ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, its REST base."""
    token = settings.twilio_auth_token
    secret = token.get_secret_value() if token else None
    return RestAccount(settings.twilio_account_sid, secret, settings.twilio_http_url)


def signalwire_account(settings: Settings) -> RestAccount:
    """SignalWire's LaML REST API, Twilio-compatible under ``/api/laml``."""
    token = settings.signalwire_api_token
    base = (settings.signalwire_space_url or "https://signalwire.invalid").rstrip("/")
    secret = token.get_secret_value() if token else None
    return RestAccount(settings.signalwire_project_id, secret, f"{base}/api/laml", "SignalWire")


class TwilioRestError(RuntimeError):
    """Twilio (or SignalWire) is not configured, could not be reached, or refused the request.

    Attributes:
        status_code: The HTTP status (None: no answer).
        body: The JSON error body (``code``, ``message``), if any.
    """

    def __init__(self, message: str, status_code: int | None = None, body: Any = None):
        super().__init__(message)
        self.status_code = status_code
        self.body = body if isinstance(body, dict) else {}


async def post_calls(
    account: RestAccount, path: str, form: dict[str, str], timeout: float = TWILIO_TIMEOUT_SECS
) -> dict:
    """POST ``form`` to the account's ``Calls{path}``; the JSON answer.

    Args:
        account: Whose API, with its credentials.
        path: After ``Calls``: ``.json`` (a new call) or ``/{sid}.json`` (a live call).
        form: The request's form fields.
        timeout: HTTP timeout in seconds.

    Raises:
        TwilioRestError: Unreachable, or an HTTP status ≥ 300.
    """
    sid, title = account.account_sid, account.title
    url = f"{account.base_url}/2010-04-01/Accounts/{sid}/Calls{path}"
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            resp = await client.post(url, data=form, auth=(sid or "", account.auth_token or ""))
    except httpx.HTTPError as exc:
        raise TwilioRestError(f"{title} could not be reached ({type(exc).__name__})") from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code >= 300:
        raise TwilioRestError(
            f"{title} refused the request (HTTP {resp.status_code})", resp.status_code, body
        )
    return body if isinstance(body, dict) else {}


def _twilio(settings: Settings) -> RestAccount:
    account = twilio_account(settings)
    if not (account.account_sid and account.auth_token):
        raise TwilioRestError("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set")
    return account


async def create_call(
    settings: Settings, form: dict[str, str], timeout: float = TWILIO_TIMEOUT_SECS
) -> dict[str, Any]:
    """Place a call (``To``, ``From``, ``Url``...); Twilio's call resource.

    Raises:
        TwilioRestError: Not configured, unreachable, or refused.
    """
    return await post_calls(_twilio(settings), ".json", form, timeout)


async def update_call_twiml(
    settings: Settings, call_sid: str, twiml: str, timeout: float = TWILIO_TIMEOUT_SECS
) -> None:
    """Replace what the live call ``call_sid`` is doing with ``twiml``.

    Twilio ends the call's current verb (our media stream) and runs the new TwiML.

    Raises:
        TwilioRestError: Not configured, unreachable, or an HTTP status ≥ 300.
    """
    await post_calls(_twilio(settings), f"/{call_sid}.json", {"Twiml": twiml}, timeout)
