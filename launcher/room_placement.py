"""Room calls in a fleet: started on the host with the most free slots.

``POST /rooms`` on any launcher reserves a slot in the fleet (``fleet.registry``). When the
chosen host is another one, the request goes to it (answered there, for itself only, with the
reserved call id) and its answer is the answer: that host creates the room and runs the bot.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from loguru import logger

from assembly.call import CALL_ID
from fleet.peers import peers_of

CALL_ID_HEADER = "X-Switchboard-Call-Id"  # the call id a forwarded room request reserved


async def placed_elsewhere(request: Request, call_id: str) -> JSONResponse | None:
    """Reserve the room call's slot in the fleet; the chosen host's answer if it is not us.

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
        slot.host_id, slot.url, "POST", "/rooms", body, headers={CALL_ID_HEADER: call_id}
    )
    if answer.response is None:
        raise HTTPException(502, f"host {slot.host_id} could not start the room call")
    logger.info(f"[{call_id}] room call placed on host {slot.host_id}")
    return JSONResponse(answer.response.json(), status_code=answer.response.status_code)


def forwarded_call_id(request: Request) -> str | None:
    """The call id a launcher reserved for this forwarded room request, if any."""
    if peers_of(request) is not None:  # not a request from another host
        return None
    call_id = request.headers.get(CALL_ID_HEADER)
    return call_id if call_id and CALL_ID.fullmatch(call_id) else None
