"""Builders for the messages Twilio sends on a bidirectional Media Streams websocket.

Shapes follow Twilio's documentation: every field value Twilio sends as text (sequence numbers,
chunk numbers, timestamps) is a string, audio is base64 G.711 μ-law at 8 kHz, 20 ms per frame.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

AUDIO_EVENTS = ("media",)  # what the bot sends: audio to play
CLEAR_EVENTS = ("clear",)  # and the flush of what is queued (barge-in)


def connected() -> dict:
    """The first message on the socket."""
    return {"event": "connected", "protocol": "Call", "version": "1.0.0"}


def start(
    seq: int,
    account_sid: str,
    call_sid: str,
    stream_sid: str,
    custom_parameters: Mapping[str, str],
) -> dict:
    """The ``start`` message: stream metadata, audio format and the TwiML ``<Parameter>``s."""
    return {
        "event": "start",
        "sequenceNumber": str(seq),
        "start": {
            "accountSid": account_sid,
            "streamSid": stream_sid,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": dict(custom_parameters),
        },
        "streamSid": stream_sid,
    }


def media(seq: int, chunk: int, stream_sid: str, payload: bytes) -> dict:
    """One inbound audio frame; ``chunk`` counts from 1, ``timestamp`` is ms since start."""
    return {
        "event": "media",
        "sequenceNumber": str(seq),
        "media": {
            "track": "inbound",
            "chunk": str(chunk),
            "timestamp": str((chunk - 1) * 20),
            "payload": base64.b64encode(payload).decode(),
        },
        "streamSid": stream_sid,
    }


def mark(seq: int, stream_sid: str, name: str) -> dict:
    """Twilio's echo of a bot ``mark`` once the audio queued before it has played."""
    return {"event": "mark", "sequenceNumber": str(seq), "streamSid": stream_sid,
            "mark": {"name": name}}


def dtmf(seq: int, stream_sid: str, digit: str) -> dict:
    """A key press by the caller."""
    return {"event": "dtmf", "streamSid": stream_sid, "sequenceNumber": str(seq),
            "dtmf": {"track": "inbound_track", "digit": digit}}


def stop(seq: int, account_sid: str, call_sid: str, stream_sid: str) -> dict:
    """The last message: the caller hung up (or the stream ended)."""
    return {"event": "stop", "sequenceNumber": str(seq), "streamSid": stream_sid,
            "stop": {"accountSid": account_sid, "callSid": call_sid}}
