"""A call: what it knows about itself, its built pipeline and handles, and the plugin seam.

- :class:`CallContext`: who is calling, on which transport, with what metadata.
- :class:`Call`: one call's built pipeline and the handles the launcher and plugins need
  (``assembly.pipeline.build_call`` makes one).
- :class:`CallPlugin` and :class:`Slot`: where cross-cutting processors slot into every call
  without touching personas. A plugin (latency metrics, memory lookup, recording, transcript
  storage, ...) contributes processors at named slots, observers, and event handlers once the
  call is built. The runner decides which plugins a call gets; persona files never mention
  them.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pipecat.frames.frames import EndWorkerFrame, LLMRunFrame, TTSSpeakFrame
from pipecat.observers.base_observer import BaseObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameProcessor
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assembly.persona import Persona
from assembly.turns import TurnTaking
from calls.end_reason import EndReason
from providers import Services
from transports.kinds import TransportKind

# A call id names files and URLs: letters, digits, "_" and "-" only, so it can never be a path.
CALL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_call_id() -> str:
    """A fresh call id (URL-safe, sortable enough for logs)."""
    return f"call_{uuid.uuid4().hex[:20]}"


class CallContext(BaseModel):
    """Everything the assembly and processors know about one call.

    Attributes:
        call_id: Our id for the call (logs, storage, API).
        persona: The persona's name.
        transport: Which transport carries the call.
        caller_number: The caller's phone number, when there is one.
        called_number: The number that was dialled, when there is one.
        user_id: A stable id for the user (app login, or the phone number).
        user_name: The caller's name, when known (used in greetings).
        tenant: The tenant whose configuration applies.
        room: Room name for SFU transports.
        provider_call_id: The provider's id for the call (Twilio CallSid, ...).
        metadata: Free-form call metadata from the app or webhook (e.g. coach scenario).
    """

    model_config = ConfigDict(extra="forbid")

    call_id: str = Field(default_factory=new_call_id)
    persona: str
    transport: TransportKind
    caller_number: str | None = None
    called_number: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    tenant: str = "default"
    room: str | None = None
    provider_call_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("call_id")
    @classmethod
    def _safe_call_id(cls, value: str) -> str:
        if not CALL_ID.fullmatch(value):
            raise ValueError(f"call id {value[:80]!r} is not 1-64 letters, digits, '_' or '-'")
        return value

    @property
    def caller_key(self) -> str | None:
        """Who the caller is for memory: the user id, else the phone number."""
        return self.user_id or self.caller_number

    def template_values(self) -> dict[str, str]:
        """Plain string values a greeting or prompt template may use."""
        values = {k: str(v) for k, v in self.metadata.items() if isinstance(v, str | int | float)}
        for key in ("caller_number", "called_number", "user_id", "user_name", "tenant"):
            value = getattr(self, key)
            if value:
                values[key] = str(value)
        return values


@dataclass
class Call:
    """One call's built pipeline and the handles the launcher and plugins need."""

    ctx: CallContext
    persona: Persona
    transport: Any
    services: Services
    context: LLMContext
    user_aggregator: Any
    assistant_aggregator: Any
    greeting: str
    prompt: str
    plugins: list[CallPlugin] = field(default_factory=list)
    worker: PipelineWorker | None = None
    pipeline: Pipeline | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    greeted: bool = False
    answer_after_greeting: bool = False  # a moved call whose caller's last turn had no answer
    end_reason: EndReason | None = None
    turn_latencies: list[float] = field(default_factory=list)
    first_speech_secs: float | None = None
    tool_seconds: list[float] = field(default_factory=list)  # time each tool call took
    resources: dict[str, Any] = field(default_factory=dict)
    turn_taking: TurnTaking | None = None
    failovers: list[dict[str, Any]] = field(default_factory=list)  # provider switches

    async def greet(self) -> None:
        """Speak the greeting straight through TTS (no LLM round trip); once per call."""
        if self.greeted or not self.greeting or self.worker is None:
            return
        self.greeted = True
        frames: list[Any] = [TTSSpeakFrame(self.greeting, append_to_context=True)]
        if self.answer_after_greeting:
            frames.append(LLMRunFrame())
        await self.worker.queue_frames(frames)

    async def end(self, goodbye: str | None = None, reason: EndReason = EndReason.ENDED) -> None:
        """End gracefully: say ``goodbye`` (if any), let it play out, then hang up.

        A goodbye is the last thing the caller hears: a reply still being spoken or generated
        is interrupted first (incident: at the drain timeout, the reply to the caller's last
        turn came after "Goodbye!").
        """
        self.end_reason = self.end_reason or reason
        if self.worker is None:
            return
        frames: list[Any] = []
        if goodbye:
            if self.turn_taking is not None:
                self.turn_taking.ending.begin()  # the caller starts no new turn
            # Ahead of the goodbye at every processor: the interruption is a system frame.
            await self.user_aggregator.broadcast_interruption()
            frames = [TTSSpeakFrame(goodbye, append_to_context=True)]
        await self.worker.queue_frames([*frames, EndWorkerFrame(reason=reason)])

    async def cancel(self, reason: EndReason = EndReason.CANCELLED) -> None:
        """Stop now (the caller is gone)."""
        self.end_reason = self.end_reason or reason
        if self.worker is not None:
            await self.worker.cancel()


class Slot(StrEnum):
    """Where in the pipeline a plugin's processors go."""

    BEFORE_LLM = "before_llm"  # after the user aggregator: memory recall, context shaping
    AFTER_TTS = "after_tts"  # before transport output
    AFTER_OUTPUT = "after_output"  # after transport output, before the assistant aggregator


class CallPlugin:
    """Base class for call plugins; override what you need."""

    def processors(self, call: Call) -> dict[Slot, list[FrameProcessor]]:
        """Processors to insert, per slot."""
        return {}

    def observers(self, call: Call) -> list[BaseObserver]:
        """Observers to add to the worker."""
        return []

    def hears_caller(self, call: Call) -> bool:
        """Whether its processors need the caller's audio frames after the user aggregator.

        The caller's audio ends at the user aggregator (VAD and turn-taking are done with it
        there) unless a plugin says so: carrying 50 frames a second through the rest of the
        pipeline was about a third of a phone call's CPU.
        """
        return False

    async def attach(self, call: Call) -> None:
        """Register event handlers once the worker exists."""

    async def detach(self, call: Call) -> None:
        """Clean up after the call's pipeline has finished."""
