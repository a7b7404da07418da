"""Text-to-speech builders: the persona's voice on the chosen provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from config import Settings
from providers.common import require, settings_for
from providers.errors import ProviderUnavailableError
from providers.spec import ServiceSpec

Closers = list[Callable[[], Awaitable[None]]]
# Utterances in a row that may come out with no audio before the TTS counts as down (Pipecat's
# default is 3): with the greeting spoken once more, a TTS that refuses every connection ends the
# call in seconds (``assembly.provider_faults``), not after two turns answered inaudibly.
SILENT_UTTERANCES_BEFORE_DOWN = 2
# Providers that only synthesise one rate; the output transport resamples them to the call's.
FIXED_RATES = {"openai": 24000, "openai_compatible": 24000}
OPENAI_TTS_RATE = FIXED_RATES["openai"]


def tts_output_rate(provider: str, transport_out_rate: int) -> int:
    """The rate a TTS provider's audio arrives at, before the transport's own resampling."""
    return FIXED_RATES.get(provider, transport_out_rate)


def _aggregation(spec: ServiceSpec) -> tuple[ServiceSpec, dict[str, Any]]:
    """Split the ``text_aggregation`` option (a service argument, not a Settings field).

    The service arguments returned also say when the TTS counts as down.
    """
    options = dict(spec.options)
    mode = options.pop("text_aggregation", None)
    extra: dict[str, Any] = {"max_consecutive_zero_audio_contexts": SILENT_UTTERANCES_BEFORE_DOWN}
    if mode:
        from pipecat.services.tts_service import TextAggregationMode

        extra["text_aggregation_mode"] = TextAggregationMode(mode)
    return spec.model_copy(update={"options": options}), extra


def _elevenlabs(spec: ServiceSpec, s: Settings, language: str, closers: Closers) -> Any:
    from pipecat.services.elevenlabs.tts import ElevenLabsTTSService

    from providers.elevenlabs_tts import ResilientElevenLabsTTSService

    spec, extra = _aggregation(spec)
    return ResilientElevenLabsTTSService(  # a socket dropped mid-reply finishes the reply
        api_key=require(s.elevenlabs_api_key, "ELEVENLABS_API_KEY", "the elevenlabs TTS"),
        url=s.elevenlabs_ws_url,
        settings=settings_for(
            ElevenLabsTTSService,
            spec,
            voice=spec.voice or s.elevenlabs_voice_id,
            model=spec.model or "eleven_flash_v2_5",
        ),
        **extra,
    )


def _cartesia(spec: ServiceSpec, s: Settings, language: str, closers: Closers) -> Any:
    from pipecat.services.cartesia.tts import CartesiaTTSService, GenerationConfig

    from providers.cartesia_tts import ResilientCartesiaTTSService

    spec, extra = _aggregation(spec)
    options = dict(spec.options)
    generation = {k: options.pop(k) for k in ("speed", "volume", "emotion") if k in options}
    if generation:
        options["generation_config"] = GenerationConfig(**generation)
    spec = spec.model_copy(update={"options": options})
    return ResilientCartesiaTTSService(  # a socket dropped mid-reply finishes the reply
        api_key=require(s.cartesia_api_key, "CARTESIA_API_KEY", "the cartesia TTS"),
        url=s.cartesia_tts_ws_url,
        settings=settings_for(
            CartesiaTTSService,
            spec,
            voice=spec.voice or s.cartesia_voice_id,
            model=spec.model or "sonic-3",
            language=language,
        ),
        **extra,
    )


def _openai(spec: ServiceSpec, s: Settings, language: str, closers: Closers) -> Any:
    from pipecat.services.openai.tts import OpenAITTSService

    spec, extra = _aggregation(spec)
    return OpenAITTSService(
        api_key=require(s.openai_api_key, "OPENAI_API_KEY", "the openai TTS"),
        base_url=s.openai_base_url,
        sample_rate=OPENAI_TTS_RATE,
        settings=settings_for(
            OpenAITTSService,
            spec,
            voice=spec.voice or s.openai_tts_voice,
            model=spec.model or "gpt-4o-mini-tts",
        ),
        **extra,
    )


def _openai_compatible(spec: ServiceSpec, s: Settings, language: str, closers: Closers) -> Any:
    from pipecat.services.openai.tts import OpenAITTSService

    spec, extra = _aggregation(spec)
    base_url = require(
        s.openai_compatible_tts_base_url,
        "OPENAI_COMPATIBLE_TTS_BASE_URL",
        "the OpenAI-compatible TTS (Chatterbox, Kokoro-FastAPI, ...)",
    )
    key = s.openai_compatible_tts_api_key
    return OpenAITTSService(
        api_key=key.get_secret_value() if key else "not-needed",
        base_url=base_url,
        sample_rate=OPENAI_TTS_RATE,
        settings=settings_for(
            OpenAITTSService,
            spec,
            voice=spec.voice or s.openai_compatible_tts_voice,
            model=spec.model or s.openai_compatible_tts_model,
        ),
        **extra,
    )


def _piper(spec: ServiceSpec, s: Settings, language: str, closers: Closers) -> Any:
    import aiohttp

    try:
        from pipecat.services.piper.tts import PiperHttpTTSService
    except ImportError as exc:  # the module needs the piper package even for the HTTP client
        raise ProviderUnavailableError("piper", "pip install 'pipecat-ai[piper]'") from exc
    session = aiohttp.ClientSession()
    closers.append(session.close)
    return PiperHttpTTSService(
        base_url=s.piper_base_url,
        aiohttp_session=session,
        settings=settings_for(PiperHttpTTSService, spec, voice=spec.voice or s.piper_voice),
    )


def _kokoro(spec: ServiceSpec, s: Settings, language: str, closers: Closers) -> Any:
    try:
        from pipecat.services.kokoro.tts import KokoroTTSService
    except ImportError as exc:
        raise ProviderUnavailableError("kokoro", "pip install 'pipecat-ai[kokoro]'") from exc
    return KokoroTTSService(
        settings=settings_for(KokoroTTSService, spec, voice=spec.voice or "af_heart")
    )


TTS_BUILDERS: dict[str, Callable[[ServiceSpec, Settings, str, Closers], Any]] = {
    "elevenlabs": _elevenlabs,
    "cartesia": _cartesia,
    "openai": _openai,
    "openai_compatible": _openai_compatible,
    "piper": _piper,
    "kokoro": _kokoro,
}
