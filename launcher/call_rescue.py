"""Calls that outlive their host: move a dead host's live phone calls to a healthy one.

Every launcher of a fleet runs a :class:`CallRescuer`. Each heartbeat it claims the calls of
hosts whose heartbeat lapsed with calls still listed (``fleet.live_calls``: one claimant per
call) and reserves a slot for each on the host with the most room.

* A Twilio call is updated over Twilio's REST API with TwiML that streams it to that host,
  marked ``resumed_from``. Meanwhile Twilio holds the line on the ``<Pause>`` that follows every
  fleet stream (``launcher.twilio_routes.twiml_stream``).
* A LiveKit or Daily room call: that host is asked to join the same room with a token of its
  own (``launcher.fleet_rooms``).

The new host rebuilds the conversation from the stored turns, apologises and carries on
(``plugins.transcript_store``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from loguru import logger

from fleet.live_calls import LiveCalls
from fleet.registry import FleetRegistry, HostSlot
from launcher.twilio_routes import stream_answer, twiml_apology
from transports.kinds import TransportKind
from transports.twilio_rest import TwilioRestError, update_call_twiml

RESCUE_TIMEOUT_SECS = 5.0
ROOM_TRANSPORTS = (TransportKind.LIVEKIT, TransportKind.DAILY)  # re-joined by the new host
NO_ROOM = "Sorry, we lost the line and have no free agent to continue. Please call again. Goodbye."


class CallRescuer:
    """Moves the calls of dead hosts (``app``: the launcher app, for tokens and settings).

    Args:
        app: The launcher's FastAPI app.
        registry: Admission across the fleet.
        live: The fleet's record of running calls.
        every_secs: Seconds between checks (the heartbeat).
    """

    def __init__(self, app: Any, registry: FleetRegistry, live: LiveCalls, every_secs: float):
        self._app = app
        self._registry = registry
        self._live = live
        self._every = every_secs
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Check in the background until :meth:`stop`."""
        self._task = asyncio.create_task(self._forever())

    async def stop(self) -> None:
        """Stop checking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.rescue_once()
            except Exception as exc:  # Redis away: try again next beat
                logger.warning(f"fleet: rescue check failed ({type(exc).__name__}: {exc})")

    async def rescue_once(self) -> int:
        """Claim the calls of dead hosts and move each one; returns how many were moved."""
        moved = 0
        for host_id, calls in (await self._live.claim_orphans()).items():
            logger.warning(f"fleet: host {host_id} died with {len(calls)} call(s): moving them")
            results = await asyncio.gather(
                *(self._move(host_id, call_id, entry) for call_id, entry in calls.items())
            )
            moved += sum(results)
        return moved

    async def _move(self, host_id: str, call_id: str, entry: dict[str, Any]) -> bool:
        """Move one call of the dead ``host_id``; False when it could not be moved."""
        started = time.monotonic()
        transport, call_sid, room = (
            entry.get(k) for k in ("transport", "provider_call_id", "room")
        )
        in_room = transport in ROOM_TRANSPORTS and bool(room)
        if not (transport == TransportKind.TWILIO and call_sid) and not in_room:
            logger.error(
                f"[{call_id}] fleet: a {transport} call of {host_id} cannot be moved "
                "(Twilio, LiveKit and Daily calls are)"
            )
            return False
        slot = await self._registry.reserve(call_id)
        if in_room:
            moved = slot is not None and await self._rejoin(
                slot, host_id, call_id, str(transport), str(room)
            )
        else:
            moved = await self._redirect(slot, host_id, call_id, str(call_sid), entry)
        where = f"host {slot.host_id}" if slot is not None else "nowhere (the fleet is full)"
        secs = time.monotonic() - started
        outcome = "moved" if moved else "failed"
        self._app.state.metrics.calls_moved.labels(outcome=outcome).inc()
        logger.warning(
            f"[{call_id}] fleet: {'moved' if moved else 'could not move'} the call of {host_id} "
            f"to {where} in {secs:.2f}s"
        )
        return moved

    async def _redirect(
        self,
        slot: HostSlot | None,
        host_id: str,
        call_id: str,
        call_sid: str,
        entry: dict[str, Any],
    ) -> bool:
        """Point the live Twilio call at the new host (or apologise and hang up: no room)."""
        if slot is None:
            twiml = twiml_apology(NO_ROOM)
        else:
            params = {
                "from_number": entry.get("caller_number") or "",
                "to_number": entry.get("called_number") or "",
                "tenant": entry.get("tenant") or "",
                "resumed_from": host_id,
            }
            persona = str(entry.get("persona") or "")
            twiml = stream_answer(self._app, slot.url, call_id, persona, params)
        try:
            await update_call_twiml(
                self._app.state.settings, call_sid, twiml, timeout=RESCUE_TIMEOUT_SECS
            )
        except TwilioRestError as exc:
            logger.error(f"[{call_id}] fleet: Twilio would not take the update: {exc}")
            return False
        return slot is not None

    async def _rejoin(
        self, slot: HostSlot, host_id: str, call_id: str, transport: str, room: str
    ) -> bool:
        """Ask the new host to join the call's (LiveKit or Daily) room in place of the dead one."""
        peers = self._app.state.peers
        body = {"call_id": call_id, "room": room, "resumed_from": host_id, "transport": transport}
        answer = await peers.ask(slot.host_id, slot.url, "POST", "/fleet/rooms/rejoin", body)
        if answer.response is None or not answer.response.is_success:
            logger.error(
                f"[{call_id}] fleet: host {slot.host_id} would not re-join {transport} room {room}"
            )
            return False
        return True
