"""``transfer_call``: hand the caller to a person, the way each transport can.

- Twilio: a REST update of the live call with new TwiML, ``<Say>`` the announcement (optional,
  ``TRANSFER_ANNOUNCEMENT``) then ``<Dial>`` ``TRANSFER_NUMBER``. Twilio ends our media stream;
  our pipeline then ends *without* the usual REST hang-up, which would drop the transfer.
- LiveKit SIP: ``SIP.TransferSIPParticipant`` (a SIP REFER) of the caller's SIP participant.
- Browser, app or local calls: there is no phone line to hand over, so the bot says so
  clearly and the call goes on.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import httpx
from loguru import logger
from pipecat.frames.frames import EndWorkerFrame, TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams, FunctionCallResultProperties

from assembly.end_reason import EndReason
from transports.kinds import TransportKind

REFUSAL = (
    "I cannot transfer a browser call to a person, but I am happy to keep helping you here, "
    "or to take a message."
)
TWILIO_TIMEOUT_SECS = 10.0


def transfer_twiml(number: str, announcement: str | None) -> str:
    """The TwiML the live call is updated with."""
    say = f"<Say>{escape(announcement)}</Say>" if announcement else ""
    return f"<Response>{say}<Dial>{escape(number)}</Dial></Response>"


async def twilio_transfer(settings: Any, call_sid: str, number: str) -> None:
    """Update the live Twilio call so it dials ``number`` (after the announcement).

    Raises:
        RuntimeError: Twilio is not configured, or refused the update.
    """
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise RuntimeError("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set")
    sid = settings.twilio_account_sid
    url = f"{settings.twilio_http_url}/2010-04-01/Accounts/{sid}/Calls/{call_sid}.json"
    twiml = transfer_twiml(number, settings.transfer_announcement or None)
    async with httpx.AsyncClient(timeout=TWILIO_TIMEOUT_SECS) as client:
        resp = await client.post(
            url,
            data={"Twiml": twiml},
            auth=(sid, settings.twilio_auth_token.get_secret_value()),
        )
    if resp.status_code >= 300:
        raise RuntimeError(f"Twilio refused the transfer (HTTP {resp.status_code})")


async def livekit_sip_transfer(settings: Any, room: str, identity: str, number: str) -> None:
    """Transfer the SIP participant ``identity`` of ``room`` to ``number`` (a SIP REFER).

    Raises:
        RuntimeError: LiveKit is not configured.
        livekit.api.TwirpError: LiveKit refused the transfer.
    """
    from livekit import api

    if not (settings.livekit_http_url and settings.livekit_api_key and settings.livekit_api_secret):
        raise RuntimeError("LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET are not set")
    target = number if number.startswith(("tel:", "sip:")) else f"tel:{number}"
    secret = settings.livekit_api_secret.get_secret_value()
    async with api.LiveKitAPI(
        settings.livekit_http_url, settings.livekit_api_key, secret, failover=False
    ) as lk:
        resp = await lk.sip.transfer_sip_participant(
            api.TransferSIPParticipantRequest(
                participant_identity=identity, room_name=room, transfer_to=target
            )
        )
    if resp.status == api.SIPTransferStatus.STS_TRANSFER_FAILED:
        raise RuntimeError(f"LiveKit could not transfer the call ({resp.reason or 'no reason'})")


def _keep_twilio_call_after_pipeline(transport: Any) -> None:
    # The Twilio serializer completes the call over REST when the pipeline ends; after a
    # transfer that would hang up the caller and the person they were transferred to.
    serializer = getattr(getattr(transport, "_params", None), "serializer", None)
    params = getattr(serializer, "_params", None)
    if params is not None and hasattr(params, "auto_hang_up"):
        params.auto_hang_up = False


async def transfer_call(params: FunctionCallParams, reason: str) -> None:
    """Transfer the caller to a person. Use it when the caller asks for a human.

    Args:
        reason: Why the caller wants a person, in a few words.
    """
    resources = params.app_resources or {}
    call, settings = resources.get("call"), resources.get("settings")
    if call is None or settings is None:
        await params.result_callback({"error": "transfer is not available on this call"})
        return
    ctx = call.ctx
    sip_identity = ctx.metadata.get("sip_participant_identity")
    phone = ctx.transport == TransportKind.TWILIO or (
        ctx.transport == TransportKind.LIVEKIT and sip_identity
    )
    if not phone:
        await params.result_callback(
            {"status": "refused", "reason": "a browser or app call cannot be transferred"},
            properties=FunctionCallResultProperties(run_llm=False),
        )
        await params.llm.push_frame(TTSSpeakFrame(REFUSAL, append_to_context=True))
        return
    number = settings.transfer_number
    if not number:
        await params.result_callback({"error": "no transfer number is configured"})
        return
    logger.info(f"[{ctx.call_id}] transferring the caller ({reason!r})")
    if ctx.transport == TransportKind.TWILIO:
        if not ctx.provider_call_id:
            await params.result_callback({"error": "the phone call id is unknown"})
            return
        await twilio_transfer(settings, ctx.provider_call_id, number)
        _keep_twilio_call_after_pipeline(call.transport)
    else:
        await livekit_sip_transfer(settings, ctx.room or "", str(sip_identity), number)
    call.end_reason = call.end_reason or EndReason.TRANSFERRED
    await params.result_callback(
        {"status": "transferred"}, properties=FunctionCallResultProperties(run_llm=False)
    )
    await params.llm.push_frame(EndWorkerFrame(reason=EndReason.TRANSFERRED))
