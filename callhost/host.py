"""The worker's side of the launcher's control path: handed-over streams in, call events out.

* Connections the launcher hands over (``runner.handover``) are served by this process's own
  uvicorn server, exactly as if it had accepted them: the HTTP upgrade, then the media.
* Every call that starts or ends here (and every handed-over stream it refuses) is one line of
  JSON on ``GET /internal/events``, which the launcher keeps open (``runner.worker_events``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from loguru import logger

from runner.handover import HandedOver, HandoverInbox, inbox_path
from runner.registry import CallRegistry


class EventFeed:
    """Queues the runner's call events for the launcher's one event stream."""

    def __init__(self, runner: CallRegistry):
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        runner.add_listener(self.push)

    def push(self, kind: str, data: dict[str, Any]) -> None:
        """Queue one event (called by the runner)."""
        self._queue.put_nowait({"event": kind, "data": data})

    async def lines(self) -> AsyncIterator[bytes]:
        """The events as JSON lines, as they happen (the launcher reads them forever)."""
        while True:
            event = await self._queue.get()
            yield (json.dumps(event, default=str) + "\n").encode()


def open_inbox(server: uvicorn.Server, uds: str) -> HandoverInbox:
    """Receive handed-over connections and serve them with ``server``'s HTTP protocol."""
    tasks: set[asyncio.Task[None]] = set()

    def serve(item: HandedOver) -> None:
        task = asyncio.create_task(_serve(server, item))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    inbox = HandoverInbox(inbox_path(uds), serve)
    inbox.open()
    return inbox


async def _serve(server: uvicorn.Server, item: HandedOver) -> None:
    config = server.config
    protocol = config.http_protocol_class(  # type: ignore[call-arg]
        config=config, server_state=server.server_state, app_state=server.lifespan.state
    )
    try:
        await asyncio.get_running_loop().connect_accepted_socket(lambda: protocol, item.sock)
    except OSError as exc:  # the caller hung up while the socket was on its way
        logger.warning(f"[{item.call_id}] handed-over stream lost: {exc}")
        item.sock.close()
        return
    # Nothing has been read from the socket yet: the launcher's bytes go first.
    protocol.data_received(item.head)
