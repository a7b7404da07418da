"""Browser WebRTC without a media server (SmallWebRTC, peer-to-peer with the launcher).

SmallWebRTC's output write awaits the audio track's consumption of the chunk (aiortc pulls
10 ms at a time in real time), so the call's ``PlayoutGate`` pauses the browser's audio within
a chunk (plus the browser's jitter buffer).
"""

from __future__ import annotations

import asyncio
from typing import Any

from loguru import logger
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

from transports.kinds import AUDIO, TransportKind
from transports.playout import PlayoutGate, PlayoutGateFilter, attach_playout_gate

PEER_TIMEOUT_SECS = 5.0


async def _watch_peer(connection: Any, timeout: float) -> None:
    """Close a peer that went silent (tab killed, network gone) so its call ends promptly.

    The page sends a ping over the data channel every second; ``is_connected()`` turns false
    3 s after the last one. aiortc alone would take ~30 s (ICE consent) to notice.
    """
    silent_since: float | None = None
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(1.0)
        if connection.is_connected():
            silent_since = None
            continue
        silent_since = silent_since or loop.time()
        if loop.time() - silent_since >= timeout:
            logger.info(f"browser peer {connection.pc_id} silent for {timeout:.0f}s: closing")
            await connection.disconnect()
            return


def webrtc_transport(
    connection: Any, peer_timeout: float = PEER_TIMEOUT_SECS
) -> SmallWebRTCTransport:
    """A transport over an established ``SmallWebRTCConnection`` (with its ``PlayoutGate``)."""
    audio = AUDIO[TransportKind.WEBRTC]
    gate = PlayoutGate()
    transport = SmallWebRTCTransport(
        webrtc_connection=connection,
        params=TransportParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=audio.in_rate,
            audio_out_sample_rate=audio.out_rate,
            audio_out_filter=PlayoutGateFilter(gate),
        ),
    )
    attach_playout_gate(transport, gate)
    watchers: set[asyncio.Task[None]] = set()

    @transport.event_handler("on_client_connected")
    async def _on_connected(_transport: Any, _client: Any) -> None:
        task = asyncio.create_task(_watch_peer(connection, peer_timeout))
        watchers.add(task)
        task.add_done_callback(watchers.discard)

    @transport.event_handler("on_client_disconnected")
    async def _on_disconnected(_transport: Any, _client: Any) -> None:
        for task in list(watchers):
            task.cancel()

    return transport
