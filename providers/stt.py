"""Speech-to-text builders: one function per provider, chosen by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from config import Settings
from providers.common import require, settings_for
from providers.errors import ProviderUnavailableError
from providers.spec import ServiceSpec
from providers.tls import deepgram_sdk_shares_tls


@lru_cache(maxsize=1)
def _uncompressed_deepgram_sockets() -> None:
    """Open Deepgram's audio websocket without per-message deflate.

    The SDK offers deflate by default; compressing every 20 ms PCM chunk cost 17 % of the
    launcher's CPU at 20 calls (bench profile) and saves almost nothing on noisy audio.
    """
    from deepgram.listen.v1 import client, raw_client

    for module in (client, raw_client):
        connect = module.websockets_client_connect
        if not isinstance(connect, partial):
            module.websockets_client_connect = partial(connect, compression=None)


def _deepgram(spec: ServiceSpec, s: Settings, language: str) -> Any:
    from providers.deepgram_stt import ResilientDeepgramSTTService

    _uncompressed_deepgram_sockets()
    deepgram_sdk_shares_tls()

    return ResilientDeepgramSTTService(
        api_key=require(s.deepgram_api_key, "DEEPGRAM_API_KEY", "the deepgram STT"),
        base_url=s.deepgram_ws_url,
        settings=settings_for(
            ResilientDeepgramSTTService,
            spec,
            model=spec.model or "nova-3-general",
            language=language,
        ),
    )


def _cartesia(spec: ServiceSpec, s: Settings, language: str) -> Any:
    from pipecat.services.cartesia.stt import CartesiaSTTService

    return CartesiaSTTService(
        api_key=require(s.cartesia_api_key, "CARTESIA_API_KEY", "the cartesia STT"),
        base_url=s.cartesia_ws_url,
        settings=settings_for(
            CartesiaSTTService, spec, model=spec.model or "ink-whisper", language=language
        ),
    )


def _groq(spec: ServiceSpec, s: Settings, language: str) -> Any:
    from pipecat.services.groq.stt import GroqSTTService

    return GroqSTTService(
        api_key=require(s.groq_api_key, "GROQ_API_KEY", "the groq STT"),
        base_url=s.groq_openai_url,
        settings=settings_for(
            GroqSTTService, spec, model=spec.model or "whisper-large-v3-turbo", language=language
        ),
    )


def _openai(spec: ServiceSpec, s: Settings, language: str) -> Any:
    from pipecat.services.openai.stt import OpenAISTTService

    return OpenAISTTService(
        api_key=require(s.openai_api_key, "OPENAI_API_KEY", "the openai STT"),
        base_url=s.openai_base_url,
        settings=settings_for(
            OpenAISTTService, spec, model=spec.model or "gpt-4o-transcribe", language=language
        ),
    )


def _whisper(spec: ServiceSpec, s: Settings, language: str) -> Any:
    try:
        from pipecat.services.whisper.stt import WhisperSTTService
    except Exception as exc:  # the module raises a plain Exception when faster-whisper is missing
        raise ProviderUnavailableError("whisper", "pip install 'pipecat-ai[whisper]'") from exc
    return WhisperSTTService(
        device="cpu",
        settings=settings_for(
            WhisperSTTService, spec, model=spec.model or s.whisper_model, language=language
        ),
    )


STT_BUILDERS: dict[str, Callable[[ServiceSpec, Settings, str], Any]] = {
    "deepgram": _deepgram,
    "cartesia": _cartesia,
    "groq": _groq,
    "openai": _openai,
    "whisper": _whisper,
}
