"""Media-stream transports of the carriers beside Twilio, through Pipecat's serializers.

- SignalWire speaks Twilio's Media Streams protocol: Twilio's transport (marks, playout gate),
  with SignalWire's LaML REST account for the hang-up.
- Telnyx and Plivo: Pipecat's serializer for each, whose hang-up goes through
  ``transports.carrier_rest`` (so ``TELNYX_API_BASE_URL`` / ``PLIVO_API_BASE_URL`` apply).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from loguru import logger
from pipecat.frames.frames import AudioRawFrame, EndFrame, Frame, InterruptionFrame
from pipecat.serializers.base_serializer import FrameSerializer
from pipecat.serializers.plivo import PlivoFrameSerializer
from pipecat.serializers.telnyx import TelnyxFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport

from config import Settings
from transports.carrier_rest import CarrierRestError, hang_up
from transports.kinds import AUDIO, TransportKind
from transports.twilio import twilio_transport
from transports.twilio_rest import signalwire_account

PHONE_RATE = 8000
MAX_PLAYOUT_WAIT_SECS = 15.0  # a hang-up never waits longer for queued audio


async def _rest_hang_up(settings: Settings, carrier: str, call_id: str) -> None:
    try:
        await hang_up(settings, carrier, call_id)
        logger.info(f"{carrier} call {call_id} hung up over REST")
    except CarrierRestError as exc:
        logger.error(f"{carrier} call {call_id} could not be hung up: {exc}")


class PlayoutClock:
    """When the audio sent so far ends playing at the carrier (it plays in real time).

    Pipecat's websocket output sends audio ahead of real time, so the hang-up waits for this:
    a goodbye is heard to its end before the call is hung up.
    """

    def __init__(self) -> None:
        self.end = 0.0

    def sent(self, frame: Frame) -> None:
        """Count an audio frame sent to the carrier."""
        if isinstance(frame, AudioRawFrame) and frame.sample_rate:
            secs = len(frame.audio) / (2 * frame.num_channels * frame.sample_rate)
            self.end = max(self.end, time.monotonic()) + secs
        elif isinstance(frame, InterruptionFrame):
            self.end = time.monotonic()  # the carrier flushed what was queued

    async def played(self, limit: float = MAX_PLAYOUT_WAIT_SECS) -> None:
        """Wait until what was sent has played (at most ``limit`` seconds)."""
        await asyncio.sleep(min(limit, max(0.0, self.end - time.monotonic())))


class PlayedOutHangUp:
    """Mixin for Pipecat's carrier serializers: hang up through our REST client, after playout.

    Put it before the Pipecat serializer among the bases; a subclass names its ``carrier`` and
    says which of the serializer's ids the carrier's REST API knows the call by.
    """

    carrier = ""

    def __init__(self, settings: Settings, **kwargs: Any):
        super().__init__(**kwargs)
        self._settings = settings
        self._clock = PlayoutClock()
        self._ending = False

    def _rest_call_id(self) -> str:
        raise NotImplementedError

    async def serialize(self, frame: Frame) -> str | bytes | None:
        """Serialize, keeping count of the audio the carrier has to play."""
        self._clock.sent(frame)
        self._ending = isinstance(frame, EndFrame)  # a cancelled call is not played out
        return await super().serialize(frame)  # type: ignore[misc]

    async def _hang_up_call(self) -> None:
        if self._ending:
            await self._clock.played()
        await _rest_hang_up(self._settings, self.carrier, self._rest_call_id())


class TelnyxSerializer(PlayedOutHangUp, TelnyxFrameSerializer):
    """Pipecat's Telnyx serializer, hanging up (after the playout) through our REST client."""

    carrier = "telnyx"

    def _rest_call_id(self) -> str:
        return self._call_control_id or ""


class PlivoSerializer(PlayedOutHangUp, PlivoFrameSerializer):
    """Pipecat's Plivo serializer, hanging up (after the playout) through our REST client."""

    carrier = "plivo"

    def _rest_call_id(self) -> str:
        return self._call_id or ""




def _serializer(
    carrier: str, settings: Settings, stream_id: str, call_id: str | None, encoding: str | None
) -> FrameSerializer:
    if carrier == "telnyx":
        key = settings.telnyx_api_key
        can = bool(call_id and key and key.get_secret_value())
        return TelnyxSerializer(
            settings,
            stream_id=stream_id,
            outbound_encoding="PCMA" if encoding in ("PCMA", "audio/x-alaw") else "PCMU",
            inbound_encoding="PCMU",
            call_control_id=call_id,
            api_key=key.get_secret_value() if (key and can) else None,
            params=TelnyxFrameSerializer.InputParams(
                telnyx_sample_rate=PHONE_RATE, auto_hang_up=can
            ),
        )
    if carrier == "plivo":
        token = settings.plivo_auth_token
        can = bool(call_id and settings.plivo_auth_id and token and token.get_secret_value())
        return PlivoSerializer(
            settings,
            stream_id=stream_id,
            call_id=call_id,
            auth_id=settings.plivo_auth_id if can else None,
            auth_token=token.get_secret_value() if (token and can) else None,
            params=PlivoFrameSerializer.InputParams(plivo_sample_rate=PHONE_RATE, auto_hang_up=can),
        )
    raise ValueError(f"no serializer for carrier {carrier!r}")


def carrier_transport(
    websocket: Any,
    settings: Settings,
    carrier: str,
    *,
    stream_id: str,
    call_id: str | None,
    encoding: str | None = None,
) -> FastAPIWebsocketTransport:
    """A transport for an accepted media-stream websocket of ``carrier`` (start already read).

    Args:
        websocket: The accepted websocket.
        settings: Carrier credentials and REST base URLs.
        carrier: ``signalwire``, ``telnyx`` or ``plivo``.
        stream_id: The stream's id from its ``start``.
        call_id: The carrier's call id (Telnyx: call_control_id; Plivo: CallUUID).
        encoding: Telnyx's ``media_format.encoding`` of the caller's audio.
    """
    if carrier == "signalwire":
        account = signalwire_account(settings)
        return twilio_transport(
            websocket, settings, stream_sid=stream_id, call_sid=call_id, account=account
        )
    audio = AUDIO[TransportKind.TWILIO]  # every carrier: 8 kHz G.711 end to end
    return FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
            add_wav_header=False,
            serializer=_serializer(carrier, settings, stream_id, call_id, encoding),
        ),
    )
