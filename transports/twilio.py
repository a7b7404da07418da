"""Twilio Media Streams: FastAPI websocket + Twilio serializer, hang-up via our REST base URL.

The output is ``TwilioPlayoutOutput`` (``transports.twilio_playout``): audio paced to real time
with a bounded lead, Twilio marks to know what the caller has heard, and the call's
``PlayoutGate`` (``transports.playout``) to pause, replay or discard it.
"""

from __future__ import annotations

from typing import Any

from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport

from config import Settings
from transports.kinds import AUDIO, TransportKind
from transports.playout import PlayoutGate, PlayoutGateFilter, attach_playout_gate
from transports.twilio_playout import TwilioPlayoutSerializer, TwilioPlayoutTransport
from transports.twilio_rest import RestAccount, twilio_account


def twilio_serializer(
    settings: Settings,
    *,
    stream_sid: str,
    call_sid: str | None,
    hang_up: bool = True,
    account: RestAccount | None = None,
) -> TwilioPlayoutSerializer:
    """Build the serializer; with ``hang_up`` the call is completed over REST when it ends.

    Args:
        settings: Twilio credentials and ``TWILIO_API_BASE_URL``.
        stream_sid: The media stream's sid (from the ``start`` message).
        call_sid: The call's sid, needed to hang up.
        hang_up: Complete the call through Twilio REST when the pipeline ends.
        account: Another Twilio-compatible REST account (default: Twilio's, from settings).

    Returns:
        The serializer for the transport (it also reads Twilio's mark acknowledgements).
    """
    account = account or twilio_account(settings)
    token = account.auth_token
    can_hang_up = hang_up and bool(call_sid and account.account_sid and token)
    return TwilioPlayoutSerializer(
        stream_sid,
        call_sid=call_sid,
        account_sid=account.account_sid if can_hang_up else None,
        auth_token=token if can_hang_up else None,
        base_url=account.base_url,
        params=TwilioPlayoutSerializer.InputParams(
            twilio_sample_rate=8000, auto_hang_up=can_hang_up
        ),
    )


def twilio_transport(
    websocket: Any,
    settings: Settings,
    *,
    stream_sid: str,
    call_sid: str | None,
    hang_up: bool = True,
    account: RestAccount | None = None,
) -> FastAPIWebsocketTransport:
    """A transport for an accepted Twilio media-stream websocket whose ``start`` was read.

    Its gate: ``transports.playout.playout_gate(transport)``.
    """
    audio = AUDIO[TransportKind.TWILIO]
    gate = PlayoutGate()
    transport = TwilioPlayoutTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
            audio_out_filter=PlayoutGateFilter(gate),
            add_wav_header=False,
            serializer=twilio_serializer(
                settings,
                stream_sid=stream_sid,
                call_sid=call_sid,
                hang_up=hang_up,
                account=account,
            ),
        ),
    )
    gate.attach_remote(transport.output())
    attach_playout_gate(transport, gate)
    return transport
