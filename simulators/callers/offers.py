"""Browser-side WebRTC offers made the way a browser makes them.

For launcher tests that never need the media to flow (the peer is closed once the offer exists).
"""

from __future__ import annotations

from aiortc import RTCPeerConnection


async def sdp_offer() -> str:
    """A real SDP offer (one audio transceiver, ICE credentials and host candidates).

    The peer connection is closed afterwards, so a server that answers it never connects.
    """
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp
    finally:
        await pc.close()


JUNK_OFFERS: tuple[dict[str, object], ...] = (
    {"sdp": "x", "type": "bogus"},
    {"sdp": "x", "type": "offer"},
    {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer"},  # no ICE credentials
    {"sdp": "v=0\r\n", "type": "answer"},
    {"sdp": "", "type": "offer", "request_data": {"call_id": "../../etc/passwd"}},
)
"""Malformed offers an attacker floods ``/api/offer`` with (each is refused with 400)."""
