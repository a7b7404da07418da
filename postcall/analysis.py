"""Post-call analysis: one LLM pass over the stored transcript → a validated, structured outcome.

The outcome is ``{summary, intent, sentiment, action_items}`` plus the persona's own
``analysis_fields`` (e.g. the coach's ``feedback``), stored in ``calls.analysis``. It is one
``providers.json_pass`` pass on ``ANALYSIS_PROVIDER`` (a strict JSON schema on OpenAI, JSON mode
on Groq), validated before it is stored.
"""

from __future__ import annotations

from typing import Any, Literal

from loguru import logger
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from config import Settings
from providers.json_pass import chat_endpoint, json_pass, parse_json, transcript_text
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


def turns_text(turns: list[TranscriptTurn]) -> str:
    """The stored transcript as the analysis prompt shows it."""
    return transcript_text((t.role, t.text, t.interrupted) for t in turns)


def system_message(turns: list[TranscriptTurn], fields: dict[str, str]) -> str:
    """The analysis task with the persona's extra fields, then the transcript."""
    extra = "".join(f", {name} ({what})" for name, what in fields.items())
    return f"{SYSTEM.format(extra=extra)}\n\nCall transcript:\n{turns_text(turns)}"


def parse_outcome(answer: str | Any, fields: dict[str, str]) -> dict[str, Any]:
    """Validate the model's JSON answer (the text, or already parsed).

    Raises:
        ValueError: Not JSON, or not the outcome's shape.
    """
    try:
        data = parse_json(answer) if isinstance(answer, str) else answer
        return outcome_model(fields).model_validate(data).model_dump()
    except (ValueError, ValidationError) as exc:
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
    endpoint = chat_endpoint(settings, settings.analysis_provider, settings.analysis_model)
    if endpoint is None:
        logger.warning(f"[{call_id}] no API key for {settings.analysis_provider}: no analysis")
        return None
    answer = await json_pass(
        endpoint, system_message(turns, fields), INSTRUCTION, json_schema(fields), "call_outcome"
    )
    outcome = parse_outcome(answer, fields)
    await storage.update_call(call_id, analysis=outcome)
    logger.info(f"[{call_id}] analysis stored ({outcome['sentiment']}, {outcome['intent']!r})")
    return outcome
