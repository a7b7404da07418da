"""LLM builders: OpenAI, Groq and any OpenAI-compatible server (Ollama)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config import Settings
from providers.bounded_llm import bounded
from providers.common import require, settings_for
from providers.spec import ServiceSpec
from providers.tls import shared_tls


def _service(service_class: type, s: Settings) -> Any:
    """The service class to build: one TLS context per process, requests bounded in time."""
    cls = bounded(shared_tls(service_class))

    def build(**kwargs: Any) -> Any:
        return cls(
            first_token_secs=s.llm_first_token_timeout_secs,
            idle_secs=s.llm_idle_timeout_secs,
            **kwargs,
        )

    return build


def _openai(spec: ServiceSpec, s: Settings, prompt: str) -> Any:
    from pipecat.services.openai.llm import OpenAILLMService

    return _service(OpenAILLMService, s)(
        api_key=require(s.openai_api_key, "OPENAI_API_KEY", "the openai LLM"),
        base_url=s.openai_base_url,
        settings=settings_for(
            OpenAILLMService, spec, model=spec.model or s.openai_model, system_instruction=prompt
        ),
    )


def _groq(spec: ServiceSpec, s: Settings, prompt: str) -> Any:
    from pipecat.services.groq.llm import GroqLLMService

    return _service(GroqLLMService, s)(
        api_key=require(s.groq_api_key, "GROQ_API_KEY", "the groq LLM"),
        base_url=s.groq_openai_url,
        settings=settings_for(
            GroqLLMService, spec, model=spec.model or s.groq_model, system_instruction=prompt
        ),
    )


def _ollama(spec: ServiceSpec, s: Settings, prompt: str) -> Any:
    from pipecat.services.ollama.llm import OLLamaLLMService

    return _service(OLLamaLLMService, s)(
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
