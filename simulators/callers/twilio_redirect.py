"""What Twilio does when a call's media stream breaks without a hang-up, and TwiML arrives.

When the websocket of a ``<Connect><Stream>`` closes and nobody completed the call, Twilio goes
on with the next verb of the document (our fleet TwiML holds the line with ``<Pause>``). If the
call is updated over REST meanwhile (``POST Calls/{CallSid}.json`` with ``Twiml``), Twilio drops
what it was doing and runs the new TwiML. The simulated caller and the REST double are the two
halves of "Twilio" here: :func:`next_twiml` watches the call resource at the REST double, as
Twilio's own call state would change, and returns the TwiML to run next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import httpx

from simulators.callers.twiml import TwimlAnswer, parse_twiml


async def next_twiml(
    env: Mapping[str, str], call_sid: str, hold_secs: float, poll_secs: float = 0.05
) -> TwimlAnswer | None:
    """The TwiML the call was updated with during the hold, or None (Twilio then hangs up).

    Args:
        env: The doubles' environment (``TWILIO_API_BASE_URL``, ``TWILIO_ACCOUNT_SID``,
            ``TWILIO_AUTH_TOKEN``).
        call_sid: The call (``CA…``).
        hold_secs: How long the document's ``<Pause>`` holds the line.
        poll_secs: How often the call resource is read.
    """
    account = env["TWILIO_ACCOUNT_SID"]
    url = f"{env['TWILIO_API_BASE_URL']}/2010-04-01/Accounts/{account}/Calls/{call_sid}.json"
    deadline = time.monotonic() + hold_secs
    async with httpx.AsyncClient(timeout=5, auth=(account, env["TWILIO_AUTH_TOKEN"])) as http:
        while time.monotonic() < deadline:
            resp = await http.get(url)
            if resp.status_code == 200:
                call = resp.json()
                if call.get("status") in ("completed", "canceled"):
                    return None
                if call.get("twiml"):
                    return parse_twiml(call["twiml"])
            await asyncio.sleep(poll_secs)
    return None
