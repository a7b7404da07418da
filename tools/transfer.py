"""``transfer_call`` and ``transfer_immediate``: hand the caller to a person.

``transfer_call`` is the announced transfer; ``transfer_immediate`` the cold one (no
``<Say>``, nothing spoken by the bot). Each transport hands the call over the way it can:

- Twilio: a REST update of the live call with new TwiML, ``<Say>`` the announcement (optional,
  ``TRANSFER_ANNOUNCEMENT``) then ``<Dial>`` ``TRANSFER_NUMBER``. Twilio ends our media stream;
  our pipeline then ends *without* the usual REST hang-up, which would drop the transfer.
- SignalWire, Telnyx, Plivo (``metadata.carrier``): their REST API
  (``transports.carrier_rest.transfer``); Telnyx's Call Control transfer says nothing, so an
  announced transfer there is not announced.
- LiveKit SIP: ``SIP.TransferSIPParticipant`` (a SIP REFER) of the caller's SIP participant.
- Browser, app or local calls: there is no phone line to hand over, so the bot says so
  clearly and the call goes on.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from loguru import logger
from pipecat.frames.frames import EndWorkerFrame, TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams, FunctionCallResultProperties

from calls.end_reason import EndReason
from config import Settings
from transports.carrier_rest import transfer as carrier_transfer
from transports.kinds import TransportKind
from transports.twilio_rest import update_call_twiml

REFUSAL = (
    "I cannot transfer a browser call to a person, but I am happy to keep helping you here, "
    "or to take a message."
)


def transfer_twiml(number: str, announcement: str | None) -> str:
    """The TwiML the live call is updated with."""
    say = f"<Say>{escape(announcement)}</Say>" if announcement else ""
    return f"<Response>{say}<Dial>{escape(number)}</Dial></Response>"


async def livekit_sip_transfer(settings: Settings, room: str, identity: str, number: str) -> None:
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
    settings = resources.get("settings")
    announcement = (settings.transfer_announcement or None) if settings is not None else None
    await _hand_over(params, reason, announcement)


async def transfer_immediate(params: FunctionCallParams, reason: str) -> None:
    """Transfer the caller to a person at once, without any announcement (a cold transfer).

    Use it only when the caller wants a person right away and nothing needs to be said first.

    Args:
        reason: Why the caller wants a person, in a few words.
    """
    # The same hand-over as transfer_call, but nothing is said, neither by us nor by Twilio
    # (no <Say>), and the LLM does not run again.
    await _hand_over(params, reason, None)


async def _hand_over(params: FunctionCallParams, reason: str, announcement: str | None) -> None:
    """Hand the phone call to ``TRANSFER_NUMBER`` (Twilio: ``announcement`` first, if any)."""
    resources = params.app_resources or {}
    call, settings = resources.get("call"), resources.get("settings")
    if call is None or settings is None:
        await params.result_callback({"error": "transfer is not available on this call"})
        return
    ctx = call.ctx
    sip_identity = ctx.metadata.get("sip_participant_identity")
    twilio = ctx.transport == TransportKind.TWILIO
    if not (twilio or (ctx.transport == TransportKind.LIVEKIT and sip_identity)):
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
    if twilio and not ctx.provider_call_id:
        await params.result_callback({"error": "the phone call id is unknown"})
        return
    cold = "" if announcement else "cold "
    logger.info(f"[{ctx.call_id}] {cold}transfer of the caller ({reason!r})")
    carrier = ctx.metadata.get("carrier")  # SignalWire, Telnyx, Plivo: their REST API
    if twilio and carrier:
        await carrier_transfer(settings, carrier, ctx.provider_call_id, number, announcement)
        _keep_twilio_call_after_pipeline(call.transport)
    elif twilio:
        twiml = transfer_twiml(number, announcement)
        await update_call_twiml(settings, ctx.provider_call_id, twiml)
        _keep_twilio_call_after_pipeline(call.transport)
    else:
        await livekit_sip_transfer(settings, ctx.room or "", str(sip_identity), number)
    call.end_reason = call.end_reason or EndReason.TRANSFERRED
    await params.result_callback(
        {"status": "transferred"}, properties=FunctionCallResultProperties(run_llm=False)
    )
    await params.llm.push_frame(EndWorkerFrame(reason=EndReason.TRANSFERRED))
