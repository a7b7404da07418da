"""Post-call analysis: one LLM pass over the stored transcript → a validated, structured outcome.

The outcome is ``{summary, intent, sentiment, action_items}`` plus the persona's own
``analysis_fields`` (e.g. the coach's ``feedback``), stored in ``calls.analysis``. It uses the
OpenAI-compatible chat completions API of ``ANALYSIS_PROVIDER`` with a JSON answer (a strict
JSON schema on OpenAI, JSON mode on Groq), parsed and validated before it is stored.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx
from loguru import logger
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from config import Settings, http_url
from storage.base import Storage, TranscriptTurn

INSTRUCTION = "Analyse the call transcript above and answer with the JSON outcome only."
SYSTEM = (
    "You analyse phone and voice-agent calls for the business that runs the agent. Read the "
    "transcript and return a JSON object with: summary (two or three sentences), intent (what "
    "the caller wanted, a few words), sentiment (positive, neutral or negative: the caller's), "
    "action_items (follow-ups the business must do; empty if none){extra}. Use only what the "
    "transcript says."
)


class Outcome(BaseModel):
    """The part of the outcome every persona gets."""

    model_config = ConfigDict(extra="ignore")

    summary: str
    intent: str
    sentiment: Literal["positive", "neutral", "negative"]
    action_items: list[str]


def outcome_model(fields: dict[str, str]) -> type[Outcome]:
    """The outcome model with the persona's extra string fields (all required)."""
    extra: dict[str, Any] = {name: (str, ...) for name in fields}
    return create_model("PersonaOutcome", __base__=Outcome, **extra)


def json_schema(fields: dict[str, str]) -> dict[str, Any]:
    """A strict JSON schema of the outcome (OpenAI structured outputs)."""
    props: dict[str, Any] = {
        "summary": {"type": "string"},
        "intent": {"type": "string"},
        "sentiment": {"type": "string", "enum": ["positive", "neutral", "negative"]},
        "action_items": {"type": "array", "items": {"type": "string"}},
    }
    props.update({name: {"type": "string", "description": what} for name, what in fields.items()})
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def transcript_text(turns: list[TranscriptTurn]) -> str:
    """The transcript as the analysis prompt shows it."""
    names = {"user": "Caller", "assistant": "Agent", "tool": "Tool"}
    return "\n".join(
        f"{names[t.role]}: {t.text}{' [interrupted]' if t.interrupted else ''}" for t in turns
    )


def request_body(settings: Settings, turns: list[TranscriptTurn], fields: dict[str, str]) -> dict:
    """The chat completions request of one analysis."""
    extra = "".join(f", {name} ({what})" for name, what in fields.items())
    system = f"{SYSTEM.format(extra=extra)}\n\nCall transcript:\n{transcript_text(turns)}"
    body: dict[str, Any] = {
        "model": settings.analysis_model
        or (settings.groq_model if settings.analysis_provider == "groq" else settings.openai_model),
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": INSTRUCTION},
        ],
        "temperature": 0,
        "stream": False,
    }
    if settings.analysis_provider == "groq":
        body["response_format"] = {"type": "json_object"}
    else:
        schema = {"name": "call_outcome", "strict": True, "schema": json_schema(fields)}
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    return body


def _endpoint(settings: Settings) -> tuple[str, str | None]:
    if settings.analysis_provider == "groq":
        key = settings.groq_api_key
        return f"{settings.groq_openai_url}/chat/completions", key and key.get_secret_value()
    key = settings.openai_api_key
    base = http_url(settings.openai_base_url, "OPENAI_BASE_URL")
    return f"{base}/chat/completions", key and key.get_secret_value()


def parse_outcome(content: str, fields: dict[str, str]) -> dict[str, Any]:
    """Parse and validate the model's JSON answer.

    Raises:
        ValueError: Not JSON, or not the outcome's shape.
    """
    try:
        data = json.loads(content)
        return outcome_model(fields).model_validate(data).model_dump()
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"analysis answer is not a valid outcome: {exc}") from exc


async def analyse_call(
    storage: Storage, settings: Settings, call_id: str, fields: dict[str, str]
) -> dict[str, Any] | None:
    """Analyse a finished call and store the outcome in ``calls.analysis``.

    Args:
        storage: The opened storage backend.
        settings: ``ANALYSIS_*`` settings and the provider's key and base URL.
        call_id: The call.
        fields: The persona's extra outcome fields (name → what to write).

    Returns:
        The stored outcome, or None when there is nothing to analyse or no key.

    Raises:
        httpx.HTTPError, ValueError: The provider failed or answered badly (the caller retries).
    """
    turns = await storage.list_turns(call_id)
    if not any(t.role == "user" for t in turns):
        return None  # nobody spoke to the agent: nothing to analyse
    url, key = _endpoint(settings)
    if not key:
        logger.warning(f"[{call_id}] no API key for {settings.analysis_provider}: no analysis")
        return None
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(
            url,
            json=request_body(settings, turns, fields),
            headers={"Authorization": f"Bearer {key}"},
        )
    response.raise_for_status()
    content = response.json()["choices"][0]["message"]["content"] or ""
    outcome = parse_outcome(content, fields)
    await storage.update_call(call_id, analysis=outcome)
    logger.info(f"[{call_id}] analysis stored ({outcome['sentiment']}, {outcome['intent']!r})")
    return outcome
