"""What a persona *is*: prompt, greeting, voice, providers, tools and turn-taking, as data.

Persona files in ``bots/`` build one :class:`Persona`; nothing here knows how a pipeline is
assembled. A tenant's ``agent_configs`` row can later override the same fields.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from providers.spec import ServiceSpec, llm, stt, tts
from tools.declared import ClientTool, WebhookTool

__all__ = ["Persona", "ServiceSpec", "TurnSettings", "llm", "stt", "tts"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class TurnSettings(BaseModel):
    """How the persona takes turns with the caller.

    Attributes:
        end_of_turn: ``smart_turn`` (smart-turn v3 model, the default) or ``silence`` (a plain
            silence timeout of ``silence_secs``).
        silence_secs: Silence that ends a turn when ``end_of_turn="silence"``.
        vad_start_secs: Speech needed before VAD reports the caller started speaking.
        vad_stop_secs: Silence before VAD reports the caller stopped (smart-turn decides after).
        vad_confidence: Silero confidence threshold.
        interrupt_min_words: 0 lets any speech interrupt the bot; N requires N transcribed words
            while the bot is speaking (keeps "mm-hmm" from interrupting).
        allow_interruptions: False keeps the bot talking over the caller.
        user_idle_secs: Prompt a quiet caller after this long; 0 disables it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    end_of_turn: Literal["smart_turn", "silence"] = "smart_turn"
    silence_secs: float = Field(default=0.6, gt=0, le=5)
    vad_start_secs: float = Field(default=0.2, gt=0, le=2)
    vad_stop_secs: float = Field(default=0.2, gt=0, le=2)
    vad_confidence: float = Field(default=0.7, gt=0, lt=1)
    interrupt_min_words: int = Field(default=0, ge=0, le=10)
    allow_interruptions: bool = True
    user_idle_secs: float = Field(default=0, ge=0)


class Persona(BaseModel):
    """A persona: everything that says what the agent is, nothing about how it is built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    prompt: str
    greeting: str
    greeting_defaults: dict[str, str] = Field(default_factory=dict)
    language: str = "en"
    stt: ServiceSpec
    llm: ServiceSpec
    tts: ServiceSpec
    tools: tuple[str, ...] = ()
    turns: TurnSettings = TurnSettings()
    memory: bool = False
    # After the call (issue 6): None follows RECORDING_ENABLED; fields the post-call analysis
    # adds to its outcome (name -> what to write); declarative webhook tools from a tenant row.
    recording: bool | None = None
    analysis_fields: dict[str, str] = Field(default_factory=dict)
    webhook_tools: tuple[WebhookTool, ...] = ()  # tools.declared: POSTed, signed, timed out
    client_tools: tuple[ClientTool, ...] = ()  # tools.declared: run by the caller's app
    metadata_schema: dict[str, str] = Field(
        default_factory=dict, description="Call metadata keys the persona reads, with meaning."
    )

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("persona names are lowercase letters, digits and underscores")
        return value

    def with_overrides(self, **fields: Any) -> Persona:
        """Return a copy with some fields replaced (used for tenant overrides)."""
        return self.model_copy(update=fields)
