"""Handing an accepted connection to a call-host process: the socket itself, not its bytes.

The launcher accepts every public connection. A Twilio media stream is not relayed: the
launcher reads only the request's first bytes, then passes the connected socket's file
descriptor to the worker over a private ``SOCK_SEQPACKET`` Unix socket (``SCM_RIGHTS``), with
those bytes. The worker serves the connection as if it had accepted it, and the media flows
between the caller and the worker with no process in between. One message per connection::

    payload: JSON {"call_id": ..., "head": base64 of the bytes already read}
    ancillary: the connection's file descriptor
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

MAX_MESSAGE = 64 * 1024  # a request head is at most 8 KiB (the front reads no more)
SEND_TIMEOUT_SECS = 1.0  # the worker reads its inbox on every loop turn: never reached in practice


@dataclass(frozen=True)
class HandedOver:
    """A connection as the worker receives it."""

    sock: socket.socket
    call_id: str
    head: bytes  # what the launcher already read from it, to be parsed first


def inbox_path(uds: str) -> str:
    """The worker's handover socket, next to its HTTP socket."""
    return f"{uds}.in"


def connect_inbox(uds: str) -> socket.socket:
    """The launcher's end of a worker's inbox (blocking, with a short send timeout)."""
    chan = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    chan.settimeout(SEND_TIMEOUT_SECS)
    chan.connect(inbox_path(uds))
    return chan


def send_connection(chan: socket.socket, fd: int, call_id: str, head: bytes) -> None:
    """Pass the connection ``fd`` (and the bytes read from it) to the worker behind ``chan``.

    The caller keeps its own descriptor and closes it afterwards: the connection stays open,
    held by the worker's copy.

    Raises:
        OSError: The worker's inbox is gone or full.
    """
    payload = json.dumps({"call_id": call_id, "head": base64.b64encode(head).decode()}).encode()
    if len(payload) > MAX_MESSAGE:
        raise OSError(f"request head of {len(head)} bytes is too large to hand over")
    socket.send_fds(chan, [payload], [fd])


class HandoverInbox:
    """The worker's end: accepts the launcher's channel and receives connections on it.

    Args:
        path: Where to listen (``inbox_path`` of the worker's HTTP socket).
        on_connection: Called on the event loop with each connection handed over.
    """

    def __init__(self, path: str, on_connection: Callable[[HandedOver], None]):
        self._path = path
        self._on_connection = on_connection
        self._listener: socket.socket | None = None
        self._channels: list[socket.socket] = []

    def open(self) -> None:
        """Listen (the launcher connects once the worker reports healthy)."""
        Path(self._path).unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(self._path)
        os.chmod(self._path, 0o600)
        listener.listen(4)
        listener.setblocking(False)
        self._listener = listener
        asyncio.get_running_loop().add_reader(listener.fileno(), self._accept)

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            chan, _ = self._listener.accept()
        except BlockingIOError:
            return
        chan.setblocking(False)
        self._channels.append(chan)
        asyncio.get_running_loop().add_reader(chan.fileno(), self._receive, chan)

    def _receive(self, chan: socket.socket) -> None:
        while True:
            try:
                payload, fds, _flags, _addr = socket.recv_fds(chan, MAX_MESSAGE, 1)
            except BlockingIOError:
                return
            except OSError as exc:
                logger.error(f"handover channel failed: {exc}")
                self._drop(chan)
                return
            if not payload and not fds:  # the launcher closed its end
                self._drop(chan)
                return
            self._deliver(payload, fds)

    def _deliver(self, payload: bytes, fds: list[int]) -> None:
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            logger.error(f"handover message with {len(fds)} descriptors ignored")
            return
        sock = socket.socket(fileno=fds[0])
        try:
            meta = json.loads(payload)
            item = HandedOver(sock, str(meta["call_id"]), base64.b64decode(meta["head"]))
        except (ValueError, KeyError, TypeError):
            sock.close()
            logger.error("malformed handover message ignored")
            return
        self._on_connection(item)

    def _drop(self, chan: socket.socket) -> None:
        asyncio.get_running_loop().remove_reader(chan.fileno())
        chan.close()
        if chan in self._channels:
            self._channels.remove(chan)

    def close(self) -> None:
        """Stop receiving and remove the socket file."""
        for chan in list(self._channels):
            self._drop(chan)
        if self._listener is not None:
            asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
        Path(self._path).unlink(missing_ok=True)
