"""The launcher's front door: media streams are handed to their call host before HTTP parsing.

uvicorn serves the launcher with this protocol when calls run in worker processes. It looks at
the request line of each new connection: ``GET /<carrier>/media/<call_id>`` (the stream URL
the voice webhook gave the carrier) is handed over, socket and all, to the worker process
that will run the call (``runner.handover``), so the call's media never passes through the
launcher. Every other request, and a stream no worker can take (full, draining), is served by
the launcher as usual (a refused stream is closed with 1013 there).

The handover needs plain HTTP on this socket (TLS ends at the proxy or tunnel in front, as in
every deployment we document).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD = 8192  # a request line longer than this is not one of ours: served normally
# Every carrier's stream URL (``launcher.carrier_routes``): handed over the same way.
_CARRIERS = rb"(?:twilio|signalwire|telnyx|plivo)"
_MEDIA = re.compile(
    rb"GET /" + _CARRIERS + rb"/media/([A-Za-z0-9_-]{1,64})(?:\?[^ ]*)? HTTP/1\.1\r\n"
)

# Takes a call id, the connection's descriptor and the bytes already read; True once handed over.
HandOver = Callable[[str, int, bytes], bool]


def media_call_id(head: bytes) -> str | None:
    """The call id of a media-stream request line, or None for any other request."""
    match = _MEDIA.match(head)
    return match.group(1).decode() if match else None


def front_protocol(hand_over: HandOver) -> type[HttpToolsProtocol]:
    """Uvicorn's HTTP protocol, with media streams handed over by ``hand_over``."""

    class FrontProtocol(HttpToolsProtocol):
        """Routes a connection on its request line, then behaves as uvicorn's own protocol."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head: bytes | None = b""  # None once routed

        def data_received(self, data: bytes) -> None:
            if self._head is None:
                super().data_received(data)
                return
            head = self._head + data
            if b"\r\n" not in head and len(head) < MAX_HEAD:
                self._head = head  # the request line is still arriving
                return
            self._head = None
            call_id = media_call_id(head)
            sock = self.transport.get_extra_info("socket")
            if call_id is not None and sock is not None and hand_over(call_id, sock.fileno(), head):
                # Close only our descriptor: the worker's copy keeps the connection open.
                self.transport.abort()
                return
            super().data_received(head)

    return FrontProtocol
