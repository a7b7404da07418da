"""Which LLMs can look at an image: a small table per provider, by model name.

Switchboard's LLM providers all speak OpenAI's chat format, where an image is a user message
part ``{"type": "image_url", "image_url": {"url": "data:image/...;base64,..."}}``. Whether the
model reads it depends on the model, so the table lists model-name prefixes that take images.
A model not listed is treated as text-only: the tool that would send it an image refuses
aloud instead of sending an image the provider would reject.
"""

from __future__ import annotations

from typing import Any

# provider → model-name prefixes (lower case) that accept image input.
VISION_MODELS: dict[str, tuple[str, ...]] = {
    "openai": ("gpt-4o", "gpt-4.1", "gpt-4-turbo", "gpt-4.5", "gpt-5", "o1", "o3", "o4"),
    "groq": ("meta-llama/llama-4-", "llama-4-"),
    "ollama": (
        "llava", "bakllava", "llama3.2-vision", "llama4", "gemma3", "qwen2.5vl", "qwen2.5-vl",
        "minicpm-v", "moondream", "granite3.2-vision", "mistral-small3.1",
    ),
}  # fmt: skip
TEXT_ONLY: tuple[str, ...] = ("o1-mini", "o1-preview", "o3-mini")  # reasoning models without vision

# Pipecat service class name → provider name in the table.
_CLASSES = {
    "OpenAILLMService": "openai",
    "GroqLLMService": "groq",
    "OLLamaLLMService": "ollama",
}


def model_accepts_images(provider: str, model: str | None) -> bool:
    """Whether ``provider``'s ``model`` takes image input (per :data:`VISION_MODELS`)."""
    name = (model or "").lower()
    if not name or name.startswith(TEXT_ONLY):
        return False
    return name.startswith(VISION_MODELS.get(provider, ()))


def provider_of(llm: Any) -> str | None:
    """The table's provider name for a Pipecat LLM service (wrapped subclasses included)."""
    for cls in type(llm).__mro__:
        if cls.__name__ in _CLASSES:
            return _CLASSES[cls.__name__]
    return None


def accepts_images(llm: Any) -> bool:
    """Whether the LLM service that is answering now can be sent an image."""
    provider = provider_of(llm)
    settings = getattr(llm, "settings", None)
    model = getattr(settings, "model", None)
    return provider is not None and model_accepts_images(provider, model)
