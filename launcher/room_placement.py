"""Room calls in a fleet: started on the host with the most free slots.

``POST /rooms`` (API key) and ``POST /api/rooms`` (the browser page's, with a session token) on
any launcher reserve a slot in the fleet (``fleet.registry``). When the chosen host is another
one, the same request goes to the same route there (answered there, for itself only, with the
reserved call id) and its answer is the answer: that host creates the room and runs the bot.

A forwarded request carries the fleet's API key (``fleet.peers``); on the browser's route, which
takes no key, :func:`forwarded_by_host` checks it before the request is trusted as another
host's.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from loguru import logger

from assembly.call import CALL_ID
from fleet.peers import HOP_HEADER, peers_of
from launcher.auth import require_api_key

CALL_ID_HEADER = "X-Switchboard-Call-Id"  # the call id a forwarded room request reserved


async def placed_elsewhere(request: Request, call_id: str, path: str) -> JSONResponse | None:
    """Reserve the room call's slot in the fleet; the chosen host's answer if it is not us.

    Args:
        request: The room request (its JSON body goes to the chosen host unchanged).
        call_id: The call id to reserve the slot for.
        path: The route to ask on the chosen host (the one ``request`` came to).

    Returns:
        None when this host runs the call (no fleet, a forwarded request, or chosen here).

    Raises:
        HTTPException: 429 when the fleet is full, 502 when the chosen host cannot be reached.
    """
    peers, fleet = peers_of(request), request.app.state.fleet
    if peers is None or fleet is None:
        return None
    slot = await fleet.reserve(call_id)
    if slot is None:
        raise HTTPException(429, "every host of the fleet is full", headers={"Retry-After": "5"})
    if slot.host_id == peers.host_id:
        return None
    body = await request.json()
    answer = await peers.ask(
        slot.host_id, slot.url, "POST", path, body, headers={CALL_ID_HEADER: call_id}
    )
    if answer.response is None:
        raise HTTPException(502, f"host {slot.host_id} could not start the room call")
    logger.info(f"[{call_id}] room call ({path}) placed on host {slot.host_id}")
    return JSONResponse(answer.response.json(), status_code=answer.response.status_code)


def forwarded_call_id(request: Request) -> str | None:
    """The call id a launcher reserved for this forwarded room request, if any.

    Only for a route that already required the API key (``/rooms``); the browser's route asks
    :func:`forwarded_by_host`.
    """
    if peers_of(request) is not None:  # not a request from another host
        return None
    call_id = request.headers.get(CALL_ID_HEADER)
    return call_id if call_id and CALL_ID.fullmatch(call_id) else None


async def forwarded_by_host(request: Request) -> str | None:
    """The reserved call id of a room request another host of the fleet forwarded, if any.

    For a route open to browsers: the hop header counts only in a fleet, and there only with
    the fleet's API key (in production), so a page can neither pick its call id nor skip the
    placement. Without a fleet the headers are ignored.

    Raises:
        HTTPException: 401 for the hop header without the fleet's API key (production).
    """
    if getattr(request.app.state, "peers", None) is None or HOP_HEADER not in request.headers:
        return None
    await require_api_key(request)
    return forwarded_call_id(request)
