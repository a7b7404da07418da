"""What a persona *is*: prompt, greeting, voice, providers, tools and turn-taking, as data.

Persona files in ``bots/`` build one :class:`Persona`; nothing here knows how a pipeline is
assembled. A tenant's ``agent_configs`` row can later override the same fields.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from providers.spec import ServiceSpec, llm, stt, tts
from tools.declared import ClientTool, WebhookTool

__all__ = ["Persona", "ServiceSpec", "TurnSettings", "llm", "stt", "tts"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class TurnSettings(BaseModel):
    """How the persona takes turns with the caller (see README, "Turn-taking").

    Attributes:
        end_of_turn: ``adaptive`` (default: one decision from the words, smart-turn v3 and
            the silence so far, ``turntaking/``), ``smart_turn`` (Pipecat's smart-turn
            strategy alone, with its 3 s fallback) or ``silence`` (a plain silence timeout of
            ``silence_secs``).
        max_wait_secs: Adaptive: the most silence the bot gives an unfinished-sounding
            utterance ("I'd like to book an appointment for ...") before it answers anyway.
        hold_secs: Adaptive: the most silence an utterance whose words don't tell ("My name is
            Sarah Johnson") waits when smart-turn is near-certain it is unfinished.
        veto_threshold: Adaptive: smart-turn probability below which it may hold such an
            utterance (kept low: the model misjudges some voices, see README).
        early_reply: Adaptive: when the STT's final words arrive before the VAD's stop and
            read as complete, start the reply then; it is held until the turn ends and
            withdrawn if the caller says more (costs an LLM request now and then).
        silence_secs: Silence that ends a turn when ``end_of_turn="silence"``.
        barge_in: ``adaptive`` (default: caller speech over the bot pauses it, then a
            backchannel resumes it and a real interruption stops it), ``immediate`` (any
            speech stops the bot) or ``off`` (the bot finishes its sentence).
        interrupt_after_secs: Adaptive barge-in: speech over the bot that lasts this long
            interrupts even before its words are transcribed.
        resume_after_secs: Adaptive barge-in: wait this long after the caller stops for the
            words of what they said; nothing transcribed (a cough) resumes the bot.
        extra_backchannels: More acknowledgements that must not interrupt ("you bet").
        vad_start_secs: Speech needed before VAD reports the caller started speaking.
        vad_stop_secs: Silence before VAD reports the caller stopped (the decision follows).
        vad_confidence: Silero confidence threshold.
        vad_min_volume: Loudness (0-1, smoothed) speech must reach. Pipecat's 0.6 delays every
            onset by ~0.15 s (the smoothing has to ramp up) and missed short words ("wait")
            entirely on phone audio (README, Turn-taking).
        user_idle_secs: After this much silence from the caller the bot says ``idle_prompt``;
            after the same again it says ``idle_goodbye`` and hangs up. 0 disables it.
        idle_prompt: What the bot says to a quiet caller, in the persona's words.
        idle_goodbye: What the bot says before hanging up on a caller who stayed quiet.
        filler_after_secs: A reply with no words yet this long after it was asked gets
            ``filler`` spoken meanwhile (a slow or stuck LLM).
        reply_timeout_secs: A reply with no words this long after it was asked is given up:
            the caller hears ``apology``, never silence.
        filler: What the bot says while a slow reply comes.
        apology: What the bot says when a reply failed (the LLM erred or never answered).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    end_of_turn: Literal["adaptive", "smart_turn", "silence"] = "adaptive"
    max_wait_secs: float = Field(default=1.6, ge=0.5, le=4.0)
    hold_secs: float = Field(default=0.6, ge=0.0, le=3.0)
    veto_threshold: float = Field(default=0.01, ge=0, lt=1)
    early_reply: bool = True
    silence_secs: float = Field(default=0.6, gt=0, le=5)
    barge_in: Literal["adaptive", "immediate", "off"] = "adaptive"
    interrupt_after_secs: float = Field(default=1.0, ge=0.3, le=3.0)
    resume_after_secs: float = Field(default=0.3, ge=0.1, le=2.0)
    extra_backchannels: tuple[str, ...] = ()
    vad_start_secs: float = Field(default=0.15, gt=0, le=2)
    vad_stop_secs: float = Field(default=0.2, gt=0, le=2)
    vad_confidence: float = Field(default=0.7, gt=0, lt=1)
    vad_min_volume: float = Field(default=0.3, ge=0, lt=1)
    user_idle_secs: float = Field(default=0, ge=0)
    idle_prompt: str = "Are you still there?"
    idle_goodbye: str = "I haven't heard from you, so I'll hang up now. Goodbye!"
    filler_after_secs: float = Field(default=2.5, gt=0, le=10)
    reply_timeout_secs: float = Field(default=8.0, gt=0, le=30)
    filler: str = "One moment, please."
    apology: str = "Sorry, I didn't manage to answer that. Could you say it again?"

    @model_validator(mode="after")
    def _hold_within_cap(self) -> TurnSettings:
        if self.hold_secs > self.max_wait_secs:
            raise ValueError("hold_secs must not exceed max_wait_secs")
        return self


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
    # Optional backups: a stage switches to its backup on repeated provider faults (README,
    # "Provider faults"); None falls back to ``STT/LLM/TTS_BACKUP_PROVIDER``.
    stt_backup: ServiceSpec | None = None
    llm_backup: ServiceSpec | None = None
    tts_backup: ServiceSpec | None = None
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
