"""Audio endpoints: ``/audio/transcriptions`` and ``/audio/speech`` (OpenAI and Groq)."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import numpy as np
from aiohttp import web

from simulators.doubles.asr import display_text
from simulators.doubles.audio import encode, to_wav, wav_payload
from simulators.doubles.auth import openai_auth_error

OPENAI_VOICES = {
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
    "verse", "marin", "cedar",
}  # fmt: skip
SPEECH_CHUNK_S = 0.05


def _service(request: web.Request, kind: str) -> tuple[bool, str, str]:
    groq = request.path.startswith("/openai/")
    state = request.app["state"]
    key = state.creds.groq_key if groq else state.creds.openai_key
    return groq, key, f"{'groq' if groq else 'openai'}_{kind}"


async def transcriptions(request: web.Request) -> web.Response:
    """Handle ``POST .../audio/transcriptions`` (multipart WAV in, transcript out)."""
    state = request.app["state"]
    started = time.monotonic()
    groq, key, service = _service(request, "transcriptions")
    error = openai_auth_error(request, key, groq=groq)
    if error is not None:
        state.count(service, "auth_failures")
        return error
    form: dict[str, Any] = {}
    include: list[str] = []
    audio = b""
    reader = await request.multipart()
    async for part in reader:
        if part.name == "file":
            audio = await part.read()
        elif part.name in ("include[]", "include"):
            include.append(await part.text())
        elif part.name:
            form[part.name] = await part.text()
    if not audio or not form.get("model"):
        return web.json_response(
            {"error": {"message": "file and model are required", "type": "invalid_request_error"}},
            status=400,
        )
    try:
        raw, rate, channels, width = wav_payload(audio)
    except ValueError as exc:
        return web.json_response(
            {"error": {"message": f"Invalid file format: {exc}", "type": "invalid_request_error"}},
            status=400,
        )
    if width != 2:
        return web.json_response({"error": {"message": "expected 16-bit PCM WAV"}}, status=400)
    pcm = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")[::channels]
    exact = state.profile.stt_mode == "exact"
    hyp = await request.app["exact_recognizer" if exact else "recognizer"].decode(pcm, rate)
    text = display_text(hyp)
    duration = len(pcm) / rate
    state.count(service, "requests")
    state.transcripts.append(
        {"service": service, "kind": "file", "text": hyp.text, "time": time.time()}
    )
    elapsed = time.monotonic() - started
    await asyncio.sleep(max(0.0, state.profile.transcription_ms / 1000 - elapsed))
    fmt = form.get("response_format", "json")
    if fmt in ("text", "srt", "vtt"):
        return web.Response(text=text + "\n", content_type="text/plain")
    if fmt == "verbose_json":
        segment = {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": round(duration, 3),
            "text": text,
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": float(np.log(max(hyp.confidence, 1e-3))),
            "compression_ratio": 1.0,
            "no_speech_prob": 0.0,
        }
        body: dict[str, Any] = {
            "task": "transcribe",
            "language": "english",
            "duration": round(duration, 3),
            "text": text,
            "segments": [segment] if text else [],
        }
        if groq:
            body["x_groq"] = {"id": "req_" + secrets.token_hex(12)}
        return web.json_response(body)
    body = {"text": text, "usage": {"type": "duration", "seconds": int(np.ceil(duration))}}
    if "logprobs" in include:
        lp = float(np.log(max(hyp.confidence, 1e-3)))
        body["logprobs"] = [
            {"token": w, "logprob": lp, "bytes": list(w.encode())} for w in text.split()
        ]
    return web.json_response(body)


async def speech(request: web.Request) -> web.StreamResponse:
    """Handle ``POST .../audio/speech``.

    OpenAI streams raw PCM16 at 24 kHz for ``response_format=pcm`` (or a WAV);
    Groq answers one complete WAV.
    """
    state = request.app["state"]
    received = time.monotonic()
    groq, key, service = _service(request, "speech")
    error = openai_auth_error(request, key, groq=groq)
    if error is not None:
        state.count(service, "auth_failures")
        return error
    body = await request.json()
    text, voice = body.get("input") or "", body.get("voice")
    fmt = body.get("response_format") or ("wav" if groq else "mp3")
    if not text or not body.get("model") or not voice:
        return web.json_response(
            {"error": {"message": "model, voice and input are required"}}, status=400
        )
    if not groq and voice not in OPENAI_VOICES:
        return web.json_response({"error": {"message": f"Invalid voice {voice!r}"}}, status=400)
    if fmt not in ("pcm", "wav"):
        return web.json_response(
            {"error": {"message": f"response_format {fmt!r} not supported by the double"}},
            status=400,
        )
    state.count(service, "requests")
    rate = int(body.get("sample_rate") or 48000) if groq else 24000
    clip = await request.app["synth"].synth(text, rate)
    profile = state.profile
    await asyncio.sleep(max(0.0, received + profile.tts_first_byte_ms / 1000 - time.monotonic()))
    if groq:
        return web.Response(
            body=to_wav(encode(clip.pcm, "pcm_s16le"), rate), content_type="audio/wav"
        )
    resp = web.StreamResponse(
        headers={"Content-Type": "audio/pcm" if fmt == "pcm" else "audio/wav"}
    )
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    data = encode(clip.pcm, "pcm_s16le")
    if fmt == "wav":
        data = to_wav(data, rate)
    step = int(rate * SPEECH_CHUNK_S) * 2
    for i in range(0, len(data), step):
        piece = data[i : i + step]
        await resp.write(piece)
        await asyncio.sleep(len(piece) / 2 / rate / profile.tts_speed)
    await resp.write_eof()
    return resp
