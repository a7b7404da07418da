"""Control API of the doubles, under ``/_doubles/``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
import time
from typing import Any

import numpy as np
from aiohttp import web

from simulators.doubles.config import DEFAULT_PHRASES
from simulators.doubles.exact import ExactRecognizer, Utterance
from simulators.doubles.livekit import rooms_snapshot
from simulators.doubles.llm_rules import validate_rules


async def _json(request: web.Request) -> Any:
    return await request.json() if request.can_read_body else {}


async def health(request: web.Request) -> web.Response:
    """``GET /_doubles/health``."""
    return web.json_response({"ok": True})


async def profile(request: web.Request) -> web.Response:
    """``GET``/``POST /_doubles/profile``: read or partially update the latency profile."""
    state = request.app["state"]
    if request.method == "POST":
        try:
            state.profile.update(await _json(request))
        except (KeyError, TypeError, ValueError) as exc:
            return web.json_response({"error": f"bad profile field: {exc}"}, status=400)
    return web.json_response(state.profile.to_dict())


async def llm_rules(request: web.Request) -> web.Response:
    """``POST /_doubles/llm/rules`` ``{"rules": [...], "append": false}``; ``GET`` lists them."""
    state = request.app["state"]
    if request.method == "POST":
        body = await _json(request)
        try:
            rules = validate_rules(list(body.get("rules") or []))
        except (ValueError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if not body.get("append"):
            state.llm_rules.clear()
        state.llm_rules.extend(rules)
    public = [{k: v for k, v in r.items() if k != "_used"} for r in state.llm_rules]
    return web.json_response({"rules": public})


async def llm_requests(request: web.Request) -> web.Response:
    """``GET /_doubles/llm/requests``: every recorded chat-completions request body."""
    return web.json_response({"requests": request.app["state"].llm_requests})


async def stt_phrases(request: web.Request) -> web.Response:
    """``POST /_doubles/stt/phrases`` ``{"phrases": [...]}`` (empty list = defaults)."""
    recognizer = request.app["recognizer"]
    rejected: list[str] = []
    if request.method == "POST":
        phrases = list((await _json(request)).get("phrases") or []) or DEFAULT_PHRASES
        _, rejected = recognizer.set_phrases(phrases)
    return web.json_response({"phrases": recognizer.phrases, "rejected": rejected})


def _register_utterances(recognizer: ExactRecognizer, raw: bytes) -> dict[str, Any]:
    """Decode a ``stt/utterances`` body and register it (blocking: runs on a thread).

    Raises:
        ValueError: If the body is not ``{"utterances": [...], "append": bool}``.
    """
    body = json.loads(raw or b"{}")
    items = body.get("utterances") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ValueError('expected {"utterances": [{"pcm_b64", "rate", "chunks"}], "append"}')
    accepted: list[tuple[int, Utterance]] = []
    rejected: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        try:
            audio = base64.b64decode(item["pcm_b64"], validate=True)
            if len(audio) % 2:
                raise ValueError("pcm_b64 must hold whole int16 samples")
            chunks = item["chunks"]
            if not isinstance(chunks, list):
                raise ValueError("chunks must be a list of texts")
            pcm = np.frombuffer(audio, dtype="<i2").astype(np.int16)
            accepted.append((i, (pcm, item["rate"], chunks)))
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            rejected.append({"index": i, "reason": reason})
    registered, refused = recognizer.register(
        [u for _, u in accepted], append=bool(body.get("append"))
    )
    rejected += [{**r, "index": accepted[r["index"]][0]} for r in refused]
    return {"registered": registered, "rejected": sorted(rejected, key=lambda r: r["index"])}


async def stt_utterances(request: web.Request) -> web.Response:
    """``POST /_doubles/stt/utterances``: register utterances for ``stt_mode`` ``"exact"``.

    The body is ``{"utterances": [{"pcm_b64", "rate", "chunks"}], "append": false}`` (base64
    int16 little-endian mono PCM; one text per speech run); the answer is
    ``{"registered": n, "rejected": [{"index", "reason"}]}``. ``GET`` lists the registered
    utterances (no audio) and the recogniser's counters.
    """
    recognizer: ExactRecognizer = request.app["exact_recognizer"]
    if request.method == "POST":
        raw = await request.read()
        try:
            answer = await asyncio.to_thread(_register_utterances, recognizer, raw)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(answer)
    return web.json_response(
        {
            "mode": request.app["state"].profile.stt_mode,
            "utterances": recognizer.utterances(),
            "stats": recognizer.stats(),
        }
    )


async def transcripts(request: web.Request) -> web.Response:
    """``GET /_doubles/stt/transcripts``: every final the STT doubles decoded."""
    return web.json_response({"transcripts": request.app["state"].transcripts})


async def tts_requests(request: web.Request) -> web.Response:
    """``GET /_doubles/tts/requests``: the voice each TTS stream or context asked for."""
    return web.json_response({"requests": request.app["state"].tts_requests})


async def twilio_requests(request: web.Request) -> web.Response:
    """``GET /_doubles/twilio/requests``."""
    state = request.app["state"]
    return web.json_response(
        {"requests": state.twilio_requests, "calls": list(state.twilio_calls.values())}
    )


async def carrier_requests(request: web.Request) -> web.Response:
    """``GET /_doubles/carriers/requests``: Telnyx and Plivo REST requests, oldest first."""
    return web.json_response(request.app["state"].carrier_requests)


async def livekit_joins(request: web.Request) -> web.Response:
    """``GET /_doubles/livekit/joins``: room joins attempted against the signal endpoint."""
    return web.json_response(request.app["state"].livekit_joins)


async def livekit_sip_transfers(request: web.Request) -> web.Response:
    """``GET /_doubles/livekit/sip_transfers``: TransferSIPParticipant requests received."""
    return web.json_response(request.app["state"].livekit_sip_transfers)


async def livekit_rooms(request: web.Request) -> web.Response:
    """``GET /_doubles/livekit/rooms``."""
    return web.json_response({"rooms": rooms_snapshot(request.app["state"])})


async def daily_rooms(request: web.Request) -> web.Response:
    """``GET /_doubles/daily/rooms``."""
    return web.json_response({"rooms": list(request.app["state"].daily_rooms.values())})


async def daily_tokens(request: web.Request) -> web.Response:
    """``GET /_doubles/daily/tokens``: meeting tokens minted (room, owner, user, time)."""
    return web.json_response(request.app["state"].daily_tokens)


async def stats(request: web.Request) -> web.Response:
    """``GET /_doubles/stats``: open sockets per service and counters."""
    return web.json_response(request.app["state"].stats())


async def reset(request: web.Request) -> web.Response:
    """``POST /_doubles/reset``: back to the start-up state.

    Clears scripts, recordings, rooms, counters and registered utterances, and restores the
    default phrases and the start-up profile (``stt_mode`` ``asr`` unless started with another).
    """
    request.app["state"].reset()
    request.app["recognizer"].set_phrases(DEFAULT_PHRASES)
    request.app["exact_recognizer"].clear()
    return web.json_response({"ok": True})


async def drop(request: web.Request) -> web.Response:
    """``POST /_doubles/drop/{service}`` ``{"code": 1011, "after_audio": null}``: close sockets.

    A scripted outage as a provider has them: the server closes the socket mid-call (1011
    internal error, 1000 normal closure); the client must reconnect. Without ``after_audio``
    the service's open websockets close now. With ``after_audio`` = N (TTS doubles:
    ``elevenlabs``, ``cartesia_tts``) the drop is armed instead: the socket carrying the next
    context (one opened after this call) closes right after that context's Nth audio message,
    the rest of its text unsynthesised, as a provider fault mid-reply does. ``reason`` sets the
    close reason. ``{"busy": true, "limit": 1}`` closes one socket, picked at random among the
    busy ones (Deepgram: hearing speech; ElevenLabs: a context open): one connection failing,
    as providers' do, rather than every call's at once. ``refuse_secs`` = S: new sockets of the
    service are refused (HTTP 503) for S seconds from now (with ``after_audio``: from the armed
    drop on), so reconnecting fails meanwhile (``deepgram``, ``elevenlabs``, ``cartesia_tts``).
    """
    state = request.app["state"]
    body = await _json(request)
    code = int(body.get("code", 1011))
    reason = str(body.get("reason") or "scripted drop")
    service = request.match_info["service"]
    refuse_secs = body.get("refuse_secs")
    if body.get("after_audio") is not None:
        state.arm_drop(service, code, reason, int(body["after_audio"]), refuse_secs)
        return web.json_response({"dropped": 0, "armed": True})
    if refuse_secs is not None:
        state.refuse_until[service] = time.monotonic() + float(refuse_secs)
    sockets = list(state.live_sockets[service])
    if body.get("busy"):
        sockets = [ws for ws in sockets if state.busy_sockets.get(ws, lambda: False)()]
    if body.get("limit") is not None:
        sockets = random.sample(sockets, min(len(sockets), int(body["limit"])))
    for ws in sockets:
        await ws.close(code=code, message=reason.encode())
    return web.json_response({"dropped": len(sockets)})


def add_routes(app: web.Application) -> None:
    """Register the control routes."""
    r = app.router
    r.add_get("/_doubles/health", health)
    r.add_route("*", "/_doubles/profile", profile)
    r.add_route("*", "/_doubles/llm/rules", llm_rules)
    r.add_get("/_doubles/llm/requests", llm_requests)
    r.add_route("*", "/_doubles/stt/phrases", stt_phrases)
    r.add_route("*", "/_doubles/stt/utterances", stt_utterances)
    r.add_get("/_doubles/stt/transcripts", transcripts)
    r.add_get("/_doubles/twilio/requests", twilio_requests)
    r.add_get("/_doubles/carriers/requests", carrier_requests)
    r.add_get("/_doubles/livekit/sip_transfers", livekit_sip_transfers)
    r.add_get("/_doubles/tts/requests", tts_requests)
    r.add_get("/_doubles/livekit/rooms", livekit_rooms)
    r.add_get("/_doubles/livekit/joins", livekit_joins)
    r.add_get("/_doubles/daily/rooms", daily_rooms)
    r.add_get("/_doubles/daily/tokens", daily_tokens)
    r.add_get("/_doubles/stats", stats)
    r.add_post("/_doubles/reset", reset)
    r.add_post("/_doubles/drop/{service}", drop)
