"""A provider choice for one stage, as personas declare it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ServiceSpec(BaseModel):
    """One provider choice for a stage, with provider-specific options.

    ``model`` and ``voice`` apply to the named provider only: when ``STT_PROVIDER`` /
    ``LLM_PROVIDER`` / ``TTS_PROVIDER`` switch a persona to another provider, that provider's
    configured defaults are used instead.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str
    model: str | None = None
    voice: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


def stt(provider: str, *, model: str | None = None, **options: Any) -> ServiceSpec:
    """Declare the speech-to-text provider (``deepgram``, ``cartesia``, ``groq``, ...)."""
    return ServiceSpec(provider=provider, model=model, options=options)


def llm(provider: str, *, model: str | None = None, **options: Any) -> ServiceSpec:
    """Declare the LLM provider; options are its ``Settings`` fields (e.g. ``temperature``)."""
    return ServiceSpec(provider=provider, model=model, options=options)


def tts(
    provider: str, *, voice: str | None = None, model: str | None = None, **options: Any
) -> ServiceSpec:
    """Declare the voice: provider, voice id and voice settings (e.g. ElevenLabs ``stability``)."""
    return ServiceSpec(provider=provider, voice=voice, model=model, options=options)
