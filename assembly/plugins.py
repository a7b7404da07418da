"""Seams where cross-cutting processors slot into every call without touching personas.

A plugin (latency metrics, memory lookup, recording, transcript storage, ...) contributes
processors at named slots, observers, and event handlers once the call is built. The runner
decides which plugins a call gets; persona files never mention them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pipecat.observers.base_observer import BaseObserver
from pipecat.processors.frame_processor import FrameProcessor

if TYPE_CHECKING:
    from assembly.pipeline import Call


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
