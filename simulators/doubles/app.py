"""The aiohttp application serving every provider double on one port."""

from __future__ import annotations

from aiohttp import web

from simulators.doubles import (
    cartesia_stt,
    cartesia_tts,
    control,
    daily,
    deepgram,
    elevenlabs,
    google_calendar,
    livekit,
    llm,
    mem0,
    openai_audio,
    plivo,
    resend,
    supermemory,
    telnyx,
    twilio,
)
from simulators.doubles.asr import Recognizer
from simulators.doubles.audio import Synthesizer
from simulators.doubles.config import Credentials, DoublesState, LatencyProfile
from simulators.doubles.exact import ExactRecognizer


def build_app(
    profile: LatencyProfile | None = None, creds: Credentials | None = None
) -> web.Application:
    """Build the doubles' application.

    Args:
        profile: Initial latency profile (defaults if None).
        creds: Accepted credentials (random if None).

    Returns:
        The application; ``app["state"]`` holds the shared state, ``app["recognizer"]`` and
        ``app["exact_recognizer"]`` the STT engines of the ``asr`` and ``exact`` modes.
    """
    # Bodies up to 160 MB: registered utterances travel as base64 PCM (200 × 8 s at 16 kHz).
    app = web.Application(client_max_size=160 * 1024 * 1024)
    app["state"] = DoublesState(profile or LatencyProfile(), creds or Credentials())
    app["recognizer"] = Recognizer()
    app["exact_recognizer"] = ExactRecognizer()
    app["synth"] = Synthesizer()
    r = app.router
    r.add_get("/v1/listen", deepgram.listen)
    r.add_get("/stt/websocket", cartesia_stt.stt_websocket)
    r.add_get("/tts/websocket", cartesia_tts.tts_websocket)
    r.add_get("/v1/text-to-speech/{voice_id}/multi-stream-input", elevenlabs.multi_stream_input)
    for prefix in ("/v1", "/openai/v1"):
        r.add_post(f"{prefix}/chat/completions", llm.chat_completions)
        r.add_get(f"{prefix}/models", llm.list_models)
        r.add_post(f"{prefix}/audio/transcriptions", openai_audio.transcriptions)
        r.add_post(f"{prefix}/audio/speech", openai_audio.speech)
    r.add_post("/twirp/livekit.RoomService/{method}", livekit.room_service)
    r.add_post("/twirp/livekit.SIP/TransferSIPParticipant", livekit.transfer_sip_participant)
    r.add_get("/rtc", livekit.signal)
    r.add_get("/rtc/validate", livekit.signal)
    r.add_get("/rtc/v1", livekit.signal)
    r.add_get("/rtc/v1/validate", livekit.signal)
    twilio.add_routes(app)
    telnyx.add_routes(app)
    plivo.add_routes(app)
    daily.add_routes(app)
    supermemory.add_routes(app, app["state"].creds.supermemory_key)
    mem0.add_routes(app, app["state"].creds.mem0_key)
    resend.add_routes(app, app["state"].creds.resend_key)
    google_calendar.add_routes(app)
    control.add_routes(app)
    return app
