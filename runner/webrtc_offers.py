"""Browser (SmallWebRTC) offers answered in this process: the in-process runner's half.

Pipecat's ``SmallWebRTCRequestHandler`` holds the peer connections; once one connects, the
persona's call starts on it through the runner. The worker pool forwards offers to a worker,
which answers them here (``runner.pool_offers``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from pipecat.runner.types import SmallWebRTCRunnerArguments
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.request_handler import (
    IceCandidate,
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)

from assembly.persona import Persona
from config.logging import escape
from runner.base import ActiveCall, BadOffer

Start = Callable[[Persona, SmallWebRTCRunnerArguments], Awaitable[ActiveCall]]


class LocalOffers:
    """Answers offers with this process's WebRTC stack and starts calls with ``start``."""

    def __init__(self, start: Start):
        self._start = start
        self._handler = SmallWebRTCRequestHandler()

    async def answer(
        self, persona: Persona, offer: dict[str, Any], client: str | None = None
    ) -> dict[str, Any]:
        """Answer a checked offer; the persona's call starts once the peer connects.

        Raises:
            BadOffer: 400 for an SDP the WebRTC stack refuses.
            CallRefused: Full or draining (from ``start``).
        """
        data = dict(offer.get("request_data") or {})

        async def _on_connection(connection: SmallWebRTCConnection) -> None:
            args = SmallWebRTCRunnerArguments(
                webrtc_connection=connection, body=data, session_id=str(uuid.uuid4())
            )
            (await self._start(persona, args)).client = client

        request = SmallWebRTCRequest(
            sdp=offer["sdp"], type=offer["type"], pc_id=offer.get("pc_id"),
            restart_pc=offer.get("restart_pc"), request_data=data,
        )  # fmt: skip
        try:
            answer = await self._handler.handle_web_request(request, _on_connection)
        except (ValueError, TypeError, AttributeError, IndexError) as exc:  # aiortc's SDP parser
            logger.info(f"webrtc offer refused: {type(exc).__name__}: {escape(str(exc))[:200]}")
            raise BadOffer(400, "the SDP offer could not be used") from None
        return answer or {}

    async def patch(self, patch: dict[str, Any]) -> None:
        """Add trickled ICE candidates to a peer connection held here."""
        await self._handler.handle_patch_request(
            SmallWebRTCPatchRequest(
                pc_id=patch["pc_id"],
                candidates=[
                    IceCandidate(c["candidate"], c["sdp_mid"], c["sdp_mline_index"])
                    for c in patch["candidates"]
                ],
            )
        )
