"""HTTP client for the doubles' control API (sync methods, and async ``a``-prefixed twins)."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import numpy as np

UTTERANCE_BATCH = 50
"""Utterances per ``stt/utterances`` request (a batch of 8 s clips at 8 kHz is ~ 7 MB)."""
UPLOAD_TIMEOUT = 120.0


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

    def _call(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        with httpx.Client(base_url=self.base_url, timeout=timeout or self.timeout) as http:
            resp = http.request(method, f"/_doubles/{path}", json=body)
            resp.raise_for_status()
            return resp.json()

    async def _acall(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=timeout or self.timeout) as h:
            resp = await h.request(method, f"/_doubles/{path}", json=body)
            resp.raise_for_status()
            return resp.json()

    @staticmethod
    def _utterance_batches(
        utterances: Sequence[tuple[np.ndarray, int, Sequence[str]]], append: bool, size: int
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(first index, request body)`` per batch; later batches append to the first."""
        for start in range(0, max(len(utterances), 1), size):
            items = [
                {
                    "pcm_b64": base64.b64encode(
                        np.asarray(pcm).astype("<i2", casting="same_kind").tobytes()
                    ).decode("ascii"),
                    "rate": int(rate),
                    "chunks": list(chunks),
                }
                for pcm, rate, chunks in utterances[start : start + size]
            ]
            yield start, {"utterances": items, "append": append or start > 0}

    @staticmethod
    def _merge(answers: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        """Sum the batches' answers; rejected indices refer to the whole list."""
        rejected = [
            {**r, "index": r["index"] + start} for start, a in answers for r in a["rejected"]
        ]
        return {"registered": sum(a["registered"] for _, a in answers), "rejected": rejected}

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

    def stt_utterances(
        self,
        utterances: Sequence[tuple[np.ndarray, int, Sequence[str]]],
        append: bool = False,
        batch_size: int = UTTERANCE_BATCH,
    ) -> dict[str, Any]:
        """Register what callers will say, for ``stt_mode="exact"``.

        Args:
            utterances: ``(pcm, rate, chunks)`` each: int16 mono PCM, its rate (8000 or
                16000), and one text per speech run (runs are split by ≥ 250 ms of silence).
            append: Keep the utterances registered before (else they are replaced).
            batch_size: Utterances per request.

        Returns:
            ``{"registered": n, "rejected": [{"index", "reason"}]}``.
        """
        batches = self._utterance_batches(utterances, append, batch_size)
        return self._merge(
            [(i, self._call("POST", "stt/utterances", b, UPLOAD_TIMEOUT)) for i, b in batches]
        )

    def stt_registered(self) -> dict[str, Any]:
        """Registered utterances (texts, rate, duration, runs, matches), mode and counters."""
        return self._call("GET", "stt/utterances")

    def stt_transcripts(self) -> list[dict[str, Any]]:
        """Every final transcript the STT doubles decoded."""
        return self._call("GET", "stt/transcripts")["transcripts"]

    def tts_requests(self) -> list[dict[str, Any]]:
        """The voice each TTS stream (ElevenLabs) or context (Cartesia) asked for."""
        return self._call("GET", "tts/requests")["requests"]

    def twilio_requests(self) -> list[dict[str, Any]]:
        """Every Twilio REST request (method, path, form, status, time)."""
        return self._call("GET", "twilio/requests")["requests"]

    def carrier_requests(self) -> list[dict[str, Any]]:
        """Telnyx and Plivo REST requests the doubles received (SignalWire's: twilio_requests)."""
        return self._call("GET", "carriers/requests")

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

    def daily_tokens(self) -> list[dict[str, Any]]:
        """Meeting tokens minted by the Daily double (room, is_owner, user_id, user_name, at)."""
        return self._call("GET", "daily/tokens")

    def resend(self) -> dict[str, Any]:
        """The Resend double's sent ``emails`` and every request (``requests``)."""
        return self._call("GET", "resend")

    def resend_reset(self) -> None:
        """Forget the Resend double's emails, requests and idempotency keys."""
        self._call("POST", "resend/reset")

    def gcal(self) -> dict[str, Any]:
        """The Google Calendar double's calendars, events, busy times and requests."""
        return self._call("GET", "gcal")

    def gcal_service_account(self) -> dict[str, Any]:
        """The service-account key file (JSON) the Google Calendar double accepts."""
        return self._call("GET", "gcal/service_account")

    def gcal_add_calendar(
        self, cal_id: str, time_zone: str = "UTC", busy: list[dict[str, str]] | None = None
    ) -> dict[str, Any]:
        """Add a calendar to the Google Calendar double, with busy ``{"start", "end"}`` spans."""
        body = {"id": cal_id, "timeZone": time_zone, "busy": busy or []}
        return self._call("POST", "gcal/calendars", body)

    def gcal_reset(self) -> None:
        """Forget the Google Calendar double's calendars, events, tokens and requests."""
        self._call("POST", "gcal/reset")

    def stats(self) -> dict[str, Any]:
        """Open sockets per service, totals and counters."""
        return self._call("GET", "stats")

    def reset(self) -> None:
        """Clear rules, recordings, rooms, counters and utterances; restore default phrases."""
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

    async def astt_utterances(
        self,
        utterances: Sequence[tuple[np.ndarray, int, Sequence[str]]],
        append: bool = False,
        batch_size: int = UTTERANCE_BATCH,
    ) -> dict[str, Any]:
        """Async :meth:`stt_utterances`."""
        answers = []
        for i, body in self._utterance_batches(utterances, append, batch_size):
            answers.append((i, await self._acall("POST", "stt/utterances", body, UPLOAD_TIMEOUT)))
        return self._merge(answers)

    async def astt_registered(self) -> dict[str, Any]:
        """Async :meth:`stt_registered`."""
        return await self._acall("GET", "stt/utterances")

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

    async def adaily_tokens(self) -> list[dict[str, Any]]:
        """Async :meth:`daily_tokens`."""
        return await self._acall("GET", "daily/tokens")

    async def astats(self) -> dict[str, Any]:
        """Async :meth:`stats`."""
        return await self._acall("GET", "stats")

    async def adrop(
        self,
        service: str,
        code: int = 1011,
        *,
        busy: bool = False,
        limit: int | None = None,
        refuse_secs: float | None = None,
    ) -> int:
        """Close the service's open websockets now (a scripted outage); how many were closed.

        Args:
            service: Service name, e.g. ``deepgram``.
            code: Websocket close code.
            busy: Only sockets busy now (hearing speech, synthesising).
            limit: At most this many, picked at random.
            refuse_secs: Refuse new sockets of the service for this long (HTTP 503).
        """
        body = {"code": code, "busy": busy, "limit": limit, "refuse_secs": refuse_secs}
        return (await self._acall("POST", f"drop/{service}", body))["dropped"]

    async def adrop_mid_reply(
        self,
        service: str,
        after_audio: int,
        code: int = 1011,
        reason: str = "",
        refuse_secs: float | None = None,
    ) -> None:
        """Arm a TTS drop: the next context's socket closes after ``after_audio`` audio messages.

        Args:
            service: ``elevenlabs`` or ``cartesia_tts``.
            after_audio: Audio messages of the next context sent before the close.
            code: Websocket close code.
            reason: Close reason (the double's default when empty).
            refuse_secs: From the close on, refuse new sockets of the service this long.
        """
        body = {
            "code": code,
            "after_audio": after_audio,
            "reason": reason or None,
            "refuse_secs": refuse_secs,
        }
        await self._acall("POST", f"drop/{service}", body)

    async def areset(self) -> None:
        """Async :meth:`reset`."""
        await self._acall("POST", "reset")
