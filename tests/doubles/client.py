"""HTTP client for the doubles' control API (sync methods, and async ``a``-prefixed twins)."""

from __future__ import annotations

from typing import Any

import httpx


class DoublesClient:
    """Drive a running doubles server.

    Every method exists in a sync form (``stats()``) and an async form (``astats()``);
    the async ones use a short-lived ``httpx.AsyncClient`` so they work from any loop.

    Args:
        base_url: The server's base URL, e.g. ``http://127.0.0.1:8800``.
        timeout: Per-request timeout in seconds.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        with httpx.Client(base_url=self.base_url, timeout=self.timeout) as http:
            resp = http.request(method, f"/_doubles/{path}", json=body)
            resp.raise_for_status()
            return resp.json()

    async def _acall(self, method: str, path: str, body: Any = None) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as http:
            resp = await http.request(method, f"/_doubles/{path}", json=body)
            resp.raise_for_status()
            return resp.json()

    # --- sync ------------------------------------------------------------------------

    def health(self) -> bool:
        """Whether the server answers."""
        return bool(self._call("GET", "health")["ok"])

    def set_profile(self, **values: Any) -> dict[str, Any]:
        """Update latency profile fields (e.g. ``stt_final_ms=300``); returns the profile."""
        return self._call("POST", "profile", values)

    def profile(self) -> dict[str, Any]:
        """Return the current latency profile."""
        return self._call("GET", "profile")

    def llm_rules(self, rules: list[dict[str, Any]], append: bool = False) -> list[dict]:
        """Replace (or extend) the LLM script; returns the active rules."""
        return self._call("POST", "llm/rules", {"rules": rules, "append": append})["rules"]

    def llm_requests(self) -> list[dict[str, Any]]:
        """Every chat-completions request received (messages, tools, model, ...)."""
        return self._call("GET", "llm/requests")["requests"]

    def stt_phrases(self, phrases: list[str]) -> dict[str, list[str]]:
        """Set the STT grammar; returns ``{"phrases": accepted, "rejected": [...]}``."""
        return self._call("POST", "stt/phrases", {"phrases": phrases})

    def stt_transcripts(self) -> list[dict[str, Any]]:
        """Every final transcript the STT doubles decoded."""
        return self._call("GET", "stt/transcripts")["transcripts"]

    def tts_requests(self) -> list[dict[str, Any]]:
        """The voice each TTS stream (ElevenLabs) or context (Cartesia) asked for."""
        return self._call("GET", "tts/requests")["requests"]

    def twilio_requests(self) -> list[dict[str, Any]]:
        """Every Twilio REST request (method, path, form, status, time)."""
        return self._call("GET", "twilio/requests")["requests"]

    def twilio_calls(self) -> list[dict[str, Any]]:
        """Calls known to the Twilio double."""
        return self._call("GET", "twilio/requests")["calls"]

    def livekit_joins(self) -> list[dict[str, Any]]:
        """Room joins attempted on the LiveKit signal endpoint (identity, room, grants)."""
        return self._call("GET", "livekit/joins")

    def livekit_sip_transfers(self) -> list[dict[str, Any]]:
        """SIP transfers asked of the LiveKit double (room, identity, transfer_to, grants)."""
        return self._call("GET", "livekit/sip_transfers")

    def livekit_rooms(self) -> list[dict[str, Any]]:
        """Rooms held by the LiveKit double."""
        return self._call("GET", "livekit/rooms")["rooms"]

    def daily_rooms(self) -> list[dict[str, Any]]:
        """Rooms held by the Daily double."""
        return self._call("GET", "daily/rooms")["rooms"]

    def stats(self) -> dict[str, Any]:
        """Open sockets per service, totals and counters."""
        return self._call("GET", "stats")

    def reset(self) -> None:
        """Clear rules, recordings, rooms and counters; restore default phrases."""
        self._call("POST", "reset")

    # --- async -----------------------------------------------------------------------

    async def aset_profile(self, **values: Any) -> dict[str, Any]:
        """Async :meth:`set_profile`."""
        return await self._acall("POST", "profile", values)

    async def aprofile(self) -> dict[str, Any]:
        """Async :meth:`profile`."""
        return await self._acall("GET", "profile")

    async def allm_rules(self, rules: list[dict[str, Any]], append: bool = False) -> list[dict]:
        """Async :meth:`llm_rules`."""
        return (await self._acall("POST", "llm/rules", {"rules": rules, "append": append}))["rules"]

    async def allm_requests(self) -> list[dict[str, Any]]:
        """Async :meth:`llm_requests`."""
        return (await self._acall("GET", "llm/requests"))["requests"]

    async def astt_phrases(self, phrases: list[str]) -> dict[str, list[str]]:
        """Async :meth:`stt_phrases`."""
        return await self._acall("POST", "stt/phrases", {"phrases": phrases})

    async def astt_transcripts(self) -> list[dict[str, Any]]:
        """Async :meth:`stt_transcripts`."""
        return (await self._acall("GET", "stt/transcripts"))["transcripts"]

    async def atwilio_requests(self) -> list[dict[str, Any]]:
        """Async :meth:`twilio_requests`."""
        return (await self._acall("GET", "twilio/requests"))["requests"]

    async def alivekit_rooms(self) -> list[dict[str, Any]]:
        """Async :meth:`livekit_rooms`."""
        return (await self._acall("GET", "livekit/rooms"))["rooms"]

    async def adaily_rooms(self) -> list[dict[str, Any]]:
        """Async :meth:`daily_rooms`."""
        return (await self._acall("GET", "daily/rooms"))["rooms"]

    async def astats(self) -> dict[str, Any]:
        """Async :meth:`stats`."""
        return await self._acall("GET", "stats")

    async def areset(self) -> None:
        """Async :meth:`reset`."""
        await self._acall("POST", "reset")
