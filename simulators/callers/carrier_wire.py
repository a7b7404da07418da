"""What Telnyx and Plivo send on their media-stream websockets, and what they take back.

Each adapter has the functions of ``simulators.callers.media_streams`` (Twilio's wire, which
SignalWire also speaks), so ``MediaStreamLink`` plays any of them:

- Telnyx: ``connected``, then ``start`` with ``call_control_id`` and ``media_format``; ``media``
  with base64 PCMU; ``stop``. It takes ``media`` (audio) and ``clear``.
- Plivo: ``start`` first, with ``callId`` and ``streamId``; ``media``; ``stop``. It takes
  ``playAudio`` (audio) and ``clearAudio``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any

from simulators.callers import media_streams


def _b64(payload: bytes) -> str:
    return base64.b64encode(payload).decode()


class TelnyxWire:
    """Telnyx Media Streaming (bidirectional, RTP mode, PCMU at 8 kHz)."""

    AUDIO_EVENTS = ("media",)
    CLEAR_EVENTS = ("clear",)

    def __init__(self, from_number: str, to_number: str):
        self.from_number, self.to_number = from_number, to_number

    @staticmethod
    def connected() -> dict:
        """The first message."""
        return {"event": "connected", "version": "1.0.0"}

    def start(
        self, seq: int, account_sid: str, call_sid: str, stream_sid: str, _params: Mapping
    ) -> dict:
        """``start``: the call's ``call_control_id`` and the audio format."""
        return {
            "event": "start",
            "sequence_number": str(seq),
            "start": {
                "user_id": account_sid,
                "call_control_id": call_sid,
                "client_state": None,
                "from": self.from_number,
                "to": self.to_number,
                "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1},
            },
            "stream_id": stream_sid,
        }

    @staticmethod
    def media(seq: int, chunk: int, stream_sid: str, payload: bytes) -> dict:
        """One inbound 20 ms frame."""
        return {
            "event": "media",
            "sequence_number": str(seq),
            "media": {
                "track": "inbound",
                "chunk": str(chunk),
                "timestamp": str((chunk - 1) * 20),
                "payload": _b64(payload),
            },
            "stream_id": stream_sid,
        }

    @staticmethod
    def mark(seq: int, stream_sid: str, name: str) -> dict:
        """A mark echo (the bot sends none on Telnyx)."""
        return {"event": "mark", "sequence_number": str(seq), "stream_id": stream_sid,
                "mark": {"name": name}}  # fmt: skip

    @staticmethod
    def dtmf(seq: int, stream_sid: str, digit: str) -> dict:
        """A key press."""
        occurred = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {"event": "dtmf", "sequence_number": str(seq), "stream_id": stream_sid,
                "occurred_at": occurred, "dtmf": {"digit": digit}}  # fmt: skip

    @staticmethod
    def stop(seq: int, account_sid: str, call_sid: str, stream_sid: str) -> dict:
        """The last message."""
        return {"event": "stop", "sequence_number": str(seq), "stream_id": stream_sid,
                "stop": {"user_id": account_sid, "call_control_id": call_sid}}  # fmt: skip


class PlivoWire:
    """Plivo Audio Streaming (bidirectional, audio/x-mulaw at 8 kHz)."""

    AUDIO_EVENTS = ("playAudio",)
    CLEAR_EVENTS = ("clearAudio",)

    @staticmethod
    def connected() -> None:
        """Plivo sends no greeting: ``start`` comes first."""
        return None

    @staticmethod
    def start(seq: int, account_sid: str, call_sid: str, stream_sid: str, _params: Mapping) -> dict:
        """``start``: ``callId``, ``streamId`` and the audio format."""
        return {
            "event": "start",
            "sequenceNumber": seq,
            "start": {
                "callId": call_sid,
                "streamId": stream_sid,
                "accountId": account_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
            },
            "extra_headers": "{}",
        }

    @staticmethod
    def media(seq: int, chunk: int, stream_sid: str, payload: bytes) -> dict:
        """One inbound 20 ms frame."""
        return {
            "event": "media",
            "sequenceNumber": seq,
            "streamId": stream_sid,
            "media": {
                "track": "inbound",
                "timestamp": str((chunk - 1) * 20),
                "chunk": chunk,
                "payload": _b64(payload),
            },
        }

    @staticmethod
    def mark(seq: int, stream_sid: str, name: str) -> dict:
        """A checkpoint echo (the bot sends none on Plivo)."""
        return {"event": "playedStream", "sequenceNumber": seq, "streamId": stream_sid,
                "name": name}  # fmt: skip

    @staticmethod
    def dtmf(seq: int, stream_sid: str, digit: str) -> dict:
        """A key press."""
        return {"event": "dtmf", "sequenceNumber": seq, "streamId": stream_sid,
                "dtmf": {"digit": digit}}  # fmt: skip

    @staticmethod
    def stop(seq: int, account_sid: str, call_sid: str, stream_sid: str) -> dict:
        """The last message."""
        return {"event": "stop", "sequenceNumber": seq, "streamId": stream_sid,
                "stop": {"callId": call_sid, "accountId": account_sid}}  # fmt: skip


def wire_for(carrier: str, from_number: str, to_number: str) -> Any:
    """The wire adapter of ``carrier`` (``signalwire`` speaks Twilio's)."""
    if carrier == "telnyx":
        return TelnyxWire(from_number, to_number)
    if carrier == "plivo":
        return PlivoWire()
    if carrier == "signalwire":
        return media_streams
    raise ValueError(f"unknown carrier {carrier!r}")
