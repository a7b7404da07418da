"""LLM builders: OpenAI, Groq and any OpenAI-compatible server (Ollama)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config import Settings
from providers.common import require, settings_for
from providers.spec import ServiceSpec
from providers.tls import shared_tls


def _openai(spec: ServiceSpec, s: Settings, prompt: str) -> Any:
    from pipecat.services.openai.llm import OpenAILLMService

    return shared_tls(OpenAILLMService)(
        api_key=require(s.openai_api_key, "OPENAI_API_KEY", "the openai LLM"),
        base_url=s.openai_base_url,
        settings=settings_for(
            OpenAILLMService, spec, model=spec.model or s.openai_model, system_instruction=prompt
        ),
    )


def _groq(spec: ServiceSpec, s: Settings, prompt: str) -> Any:
    from pipecat.services.groq.llm import GroqLLMService

    return shared_tls(GroqLLMService)(
        api_key=require(s.groq_api_key, "GROQ_API_KEY", "the groq LLM"),
        base_url=s.groq_openai_url,
        settings=settings_for(
            GroqLLMService, spec, model=spec.model or s.groq_model, system_instruction=prompt
        ),
    )


def _ollama(spec: ServiceSpec, s: Settings, prompt: str) -> Any:
    from pipecat.services.ollama.llm import OLLamaLLMService

    return shared_tls(OLLamaLLMService)(
        base_url=s.ollama_base_url,
        settings=settings_for(
            OLLamaLLMService, spec, model=spec.model or s.ollama_model, system_instruction=prompt
        ),
    )


LLM_BUILDERS: dict[str, Callable[[ServiceSpec, Settings, str], Any]] = {
    "openai": _openai,
    "groq": _groq,
    "ollama": _ollama,
}
