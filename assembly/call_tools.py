"""A call's tools: what the LLM is offered, and the processors that go with tools (filler).

The assembly's side of tools: it reads the persona and looks names up in the catalogue
(``tools``), which knows nothing of personas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.processors.frame_processor import FrameProcessor

import tools as catalogue
from assembly.persona import Persona
from config import Settings
from tools.client import client_spec
from tools.declared import ClientTool, WebhookTool
from tools.filler import ToolFiller
from tools.spec import ToolSpec, function_schema
from tools.webhook import webhook_spec


@dataclass
class CallTools:
    """Tools for one call.

    Attributes:
        specs: The tools offered (catalogue, webhook and client tools).
        schemas: ``FunctionSchema`` objects with guarded handlers, for ``LLMContext(tools=...)``.
        processors: Processors to place just before the LLM (the filler).
    """

    specs: list[ToolSpec] = field(default_factory=list)
    schemas: list[FunctionSchema] = field(default_factory=list)
    processors: list[FrameProcessor] = field(default_factory=list)


def _specs(persona: Persona, settings: Settings) -> list[ToolSpec]:
    specs = catalogue.resolve_tools(persona.tools, settings)
    for item in persona.webhook_tools:  # tenant rows may arrive as plain dicts
        spec = webhook_spec(WebhookTool.model_validate(item), settings)
        if spec is not None:
            specs.append(spec)
    specs += [client_spec(ClientTool.model_validate(t), settings) for t in persona.client_tools]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise catalogue.UnknownToolError(f"tool name(s) declared twice: {', '.join(duplicates)}")
    return specs


def call_tools(persona: Persona, settings: Settings) -> CallTools:
    """Build the tools of a call of ``persona``.

    Raises:
        UnknownToolError: An unknown catalogue name, or two tools with one name.
    """
    specs = _specs(persona, settings)
    if not specs:
        return CallTools()
    processors: list[FrameProcessor] = []
    after_ms = float(getattr(settings, "tool_filler_after_ms", 700))
    if after_ms > 0:
        quiet = [s.name for s in specs if s.speaks]
        processors.append(ToolFiller(after_secs=after_ms / 1000, quiet_tools=quiet))
    return CallTools(specs, [function_schema(s) for s in specs], processors)
