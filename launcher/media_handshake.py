"""The start of a phone media stream (any carrier), read strictly: in time, in shape, no traceback.

A stream socket is public until its ``start`` message shows a valid media token, so it gets
``MEDIA_HANDSHAKE_TIMEOUT_SECS`` to send it and at most ``MEDIA_UNAUTHENTICATED_MAX`` sockets may
be waiting at once. Anything else is closed with a code (1008: policy, 1003: binary data, 1013:
too many waiting) and one log line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipecat.runner.utils import parse_telephony_websocket

from assembly.call import CALL_ID
from launcher.media_tokens import TOKEN_PARAM

POLICY_VIOLATION = 1008
UNSUPPORTED_DATA = 1003
TRY_AGAIN_LATER = 1013


class HandshakeRefused(Exception):
    """The stream's start was late, malformed or not the expected stream (``code``: close code)."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class StreamStart:
    """What a well-formed ``start`` carries."""

    call_id: str
    persona: str
    token: str
    identity: dict[str, str]  # every other custom parameter (tenant, numbers, user)


class PendingStreams:
    """Counts sockets that have not shown a token yet, and refuses past ``limit``."""

    def __init__(self, limit: int):
        self.limit = limit
        self.count = 0

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Hold a place while the handshake is read.

        Raises:
            HandshakeRefused: 1013 when ``limit`` sockets are already waiting.
        """
        if self.count >= self.limit:
            raise HandshakeRefused(TRY_AGAIN_LATER, "too many streams waiting for their start")
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1


async def read_start(
    websocket: Any,
    timeout: float,
    wire: str = "twilio",
    url_params: dict[str, str] | None = None,
) -> StreamStart:
    """Read the stream's ``connected`` and ``start`` (Pipecat's parser, cached on the socket).

    Args:
        websocket: The accepted stream.
        timeout: Seconds the start may take.
        wire: The kind of stream expected (``twilio``, ``telnyx``, ``plivo``).
        url_params: The stream's parameters when its URL carries them (Telnyx, Plivo);
            None: they are the ``start`` message's custom parameters (Twilio, SignalWire).

    Raises:
        HandshakeRefused: Too late, binary, not JSON objects, not the expected wire, or
            parameters that are not all strings.
    """
    try:
        kind, data = await asyncio.wait_for(parse_telephony_websocket(websocket), timeout)
    except TimeoutError:
        raise HandshakeRefused(POLICY_VIOLATION, f"no start within {timeout:.0f}s") from None
    except KeyError:  # Starlette's receive_text() on a binary frame
        raise HandshakeRefused(UNSUPPORTED_DATA, "binary handshake") from None
    except Exception as exc:  # a malformed message anywhere in Pipecat's parse
        reason = f"malformed handshake ({type(exc).__name__})"
        raise HandshakeRefused(POLICY_VIOLATION, reason) from None
    if kind != wire:
        raise HandshakeRefused(POLICY_VIOLATION, f"not a {wire} media stream ({kind})")
    params = data.body if url_params is None else dict(url_params)
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in params.items()
    ):
        raise HandshakeRefused(POLICY_VIOLATION, "custom parameters must be strings")
    if not isinstance(data.call_id, str | None) or not isinstance(data.stream_id, str | None):
        raise HandshakeRefused(POLICY_VIOLATION, "callSid and streamSid must be strings")
    token = params.pop(TOKEN_PARAM, "")  # never reaches the call's metadata or the logs
    call_id, persona = params.get("call_id", ""), params.get("persona", "")
    if not CALL_ID.fullmatch(call_id):
        raise HandshakeRefused(POLICY_VIOLATION, "no valid call_id parameter")
    identity = {k: v for k, v in params.items() if v and k not in ("call_id", "persona")}
    return StreamStart(call_id, persona, token, identity)
