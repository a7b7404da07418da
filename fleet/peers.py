"""The calls API and ``/metrics`` across a fleet: the same question to every other live host.

A launcher asked ``GET /calls``, ``GET /calls/{id}``, ``POST /calls/{id}/end`` or ``/metrics``
answers for its own host and asks every other host in the registry, at its public URL, with the
fleet's shared API key and the ``X-Switchboard-Fleet-Hop`` header. A host that sees that header
answers for itself only, so a request never fans out twice. Each host has
``FLEET_PEER_TIMEOUT_SECS`` in all to answer; one that does not (or answers with an error) is
reported unreachable, and the request goes on without it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import Request
from loguru import logger

from config import Settings

HOP_HEADER = "X-Switchboard-Fleet-Hop"  # value: the asking host's id
UNREACHABLE_HEADER = "X-Fleet-Unreachable"  # on a fleet-wide answer: hosts that did not answer
REGISTRY = "registry"  # reported unreachable when Redis cannot list the hosts


@dataclass(frozen=True)
class PeerAnswer:
    """One host's answer (``response`` None: it did not answer in time, or not at all)."""

    host_id: str
    response: httpx.Response | None


@dataclass
class FleetAnswers:
    """The hosts that answered (``(host id, 2xx response)``) and those that could not say."""

    answers: list[tuple[str, httpx.Response]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


class FleetPeers:
    """Asks the other live hosts of the fleet.

    Args:
        registry: The fleet registry (``hosts()``: every live host with its ``url``).
        host_id: This host's id (never asked: the routes answer for it themselves).
        api_key: The fleet's shared ``SWITCHBOARD_API_KEY`` (None: development, no key).
        timeout: Seconds a host has to answer, connection included.
    """

    def __init__(self, registry: Any, host_id: str, api_key: str | None, timeout: float):
        self._registry = registry
        self.host_id = host_id
        self._timeout = timeout
        self._headers = {HOP_HEADER: host_id}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._client: httpx.AsyncClient | None = None

    async def others(self) -> list[tuple[str, str]] | None:
        """``(host id, base URL)`` of every other live host; None if Redis cannot be read."""
        try:
            hosts = await self._registry.hosts()
        except Exception as exc:
            logger.warning(f"fleet: cannot list the hosts ({type(exc).__name__}: {exc})")
            return None
        return [
            (h["host_id"], str(h["url"]).rstrip("/"))
            for h in hosts
            if h["host_id"] != self.host_id and h.get("url")
        ]

    async def ask_all(self, method: str, path: str, json: Any = None) -> FleetAnswers:
        """Every other host's answer to the same request (those that answered 2xx).

        Args:
            method: HTTP method.
            path: Path and query, e.g. ``/calls``.
            json: Request body, if any.

        Returns:
            The 2xx answers; every other host (silent, failed, erroring) is unreachable.
        """
        hosts = await self.others()
        if hosts is None:
            return FleetAnswers(unreachable=[REGISTRY])
        out = FleetAnswers()
        answers = await asyncio.gather(*(self._ask(h, u, method, path, json) for h, u in hosts))
        for answer in answers:
            if answer.response is not None and answer.response.is_success:
                out.answers.append((answer.host_id, answer.response))
            else:
                out.unreachable.append(answer.host_id)
        return out

    async def find(self, method: str, path: str, json: Any = None) -> FleetAnswers:
        """The first host that answers 2xx (a 404 means: not here), without waiting for the rest.

        Returns:
            At most one answer; the hosts that could not say whether they have it.
        """
        hosts = await self.others()
        if hosts is None:
            return FleetAnswers(unreachable=[REGISTRY])
        out = FleetAnswers()
        tasks = [asyncio.ensure_future(self._ask(h, u, method, path, json)) for h, u in hosts]
        try:
            for next_answer in asyncio.as_completed(tasks):
                answer = await next_answer
                response = answer.response
                if response is not None and response.is_success:
                    out.answers.append((answer.host_id, response))
                    out.unreachable.clear()  # found: who else was silent does not matter
                    return out
                if response is None or response.status_code != 404:
                    out.unreachable.append(answer.host_id)
        finally:
            for task in tasks:
                task.cancel()
        return out

    async def ask(
        self,
        host_id: str,
        url: str,
        method: str,
        path: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> PeerAnswer:
        """One host's answer (``url``: its base URL), answered for itself only."""
        return await self._ask(host_id, url, method, path, json, headers)

    async def _ask(
        self,
        host_id: str,
        url: str,
        method: str,
        path: str,
        json: Any,
        headers: dict[str, str] | None = None,
    ) -> PeerAnswer:
        if self._client is None:
            self._client = httpx.AsyncClient(headers=self._headers)
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.request(
                    method, url + path, json=json, headers=headers, timeout=self._timeout
                )
        except (TimeoutError, httpx.HTTPError) as exc:
            logger.warning(f"fleet: host {host_id} ({url}) did not answer {method} {path}: {exc!r}")
            return PeerAnswer(host_id, None)
        if not response.is_success and response.status_code != 404:
            logger.warning(f"fleet: host {host_id} answered {method} {path} with {response}")
        return PeerAnswer(host_id, response)

    async def close(self) -> None:
        """Close the connections to the other hosts."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None


def fleet_peers(settings: Settings, registry: Any) -> FleetPeers | None:
    """The other hosts of the fleet, or None without one (``registry`` None: no ``REDIS_URL``)."""
    if registry is None:
        return None
    key = settings.switchboard_api_key
    return FleetPeers(
        registry,
        settings.host_name,
        key.get_secret_value() if key else None,
        settings.fleet_peer_timeout_secs,
    )


def peers_of(request: Request) -> FleetPeers | None:
    """The peers a route should also ask: None without a fleet, or when a host asked us."""
    peers: FleetPeers | None = getattr(request.app.state, "peers", None)
    if peers is None or HOP_HEADER in request.headers:
        return None
    return peers


def host_id_of(request: Request) -> str | None:
    """This host's id in the fleet (None without a fleet: rows stay as they were)."""
    peers: FleetPeers | None = getattr(request.app.state, "peers", None)
    return peers.host_id if peers is not None else None
