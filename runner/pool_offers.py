"""Browser (SmallWebRTC) offers in the worker pool: each peer connection lives in one worker.

The launcher forwards the offer over HTTP to the worker it picks and keeps forwarding that peer's
renegotiations and trickled ICE candidates to the same worker; the media (UDP) goes to the
worker directly.
"""

from __future__ import annotations

import time
from typing import Any

from assembly.call import CallContext, new_call_id
from assembly.persona import Persona
from runner.base import BadOffer
from transports.kinds import TransportKind


class OfferForwarding:
    """The pool's browser-offer routes (mixed into ``runner.pool.WorkerPoolRunner``)."""

    _pc_owner: dict[str, Any]

    async def answer_offer(
        self, persona: Persona, offer: dict[str, Any], client: str | None = None
    ) -> dict[str, Any]:
        """Answer a SmallWebRTC offer from a worker (renegotiations go to the same one).

        Args:
            persona: The persona the browser asked for.
            offer: The checked offer (its ``request_data``: the caller's identity).
            client: The address that sent it (per-client limits count its calls).

        Raises:
            CallRefused: Full or draining (new connections only).
            BadOffer: The worker refused the SDP (nothing counts toward its recycling).
        """
        pc_id = offer.get("pc_id")
        worker = self._pc_owner.get(pc_id) if pc_id else None
        if worker is not None:
            response = await worker.post("/internal/api/offer", offer)
            response.raise_for_status()
            return response.json()
        with self._admitted():
            started = time.perf_counter()
            data = {
                **(offer.get("request_data") or {}),
                "persona": persona.name,
                "call_id": new_call_id(),
            }
            worker = await self._pick()
            try:
                response = await worker.post("/internal/api/offer", {**offer, "request_data": data})
                if 400 <= response.status_code < 500:
                    raise BadOffer(response.status_code, _detail(response))
                response.raise_for_status()
            except BaseException:
                await self._unpick(worker)  # a refused offer is not a call the worker ran
                raise
            answer = response.json()
            self._pc_owner[answer["pc_id"]] = worker
            ctx = CallContext(  # who the call is, as the worker has it (calls API, console)
                call_id=data["call_id"],
                persona=persona.name,
                transport=TransportKind.WEBRTC,
                tenant=str(data.get("tenant") or "default"),
                user_id=data.get("user_id"),
                user_name=data.get("user_name"),
            )
            active = self._track(worker, ctx.persona, ctx, started, appear_within=30.0)
            active.client = client
            return answer

    async def patch_offer(self, patch: dict[str, Any]) -> None:
        """Trickled ICE candidates go to the worker holding the peer connection.

        Raises:
            KeyError: No such peer connection.
        """
        worker = self._pc_owner[patch["pc_id"]]
        response = await worker.http.patch("/internal/api/offer", json=patch)
        response.raise_for_status()


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail") or response.text)[:300]
    except ValueError:
        return response.text[:300]
