"""One shape for every tool (catalogue function, webhook, client tool) and the guard around it.

Every tool reaches Pipecat as a ``FunctionSchema`` carrying its handler, so the LLM sees the
tool's JSON schema and the LLM service registers the handler by itself. The handler is wrapped
by :func:`guarded`, which for every tool:

- validates the arguments against the schema (invalid: an error result, the tool never runs);
- turns an exception into an ``{"error": ...}`` result, so a failing tool never ends the call;
- adds the time the tool took to ``call.tool_seconds`` (latency metrics read it).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from loguru import logger
from pipecat.adapters.llm.schemas.direct_function import DirectFunctionWrapper
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.services.llm_service import FunctionCallParams

from tools.validation import arguments_schema, validate

ToolRun = Callable[[FunctionCallParams, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class ToolSpec:
    """A tool the LLM can call.

    Attributes:
        name: The name the LLM calls.
        description: What the tool does, for the LLM.
        properties: JSON schema of each argument.
        required: Names of the required arguments.
        run: ``run(params, arguments)``; reports through ``params.result_callback``.
        speaks: The tool says something itself (goodbye, refusal...): no filler for it.
        parameters: The full declared JSON schema (declared tools), validated as it is.
    """

    name: str
    description: str
    properties: Mapping[str, Any]
    required: list[str]
    run: ToolRun
    speaks: bool = False
    parameters: Mapping[str, Any] | None = None

    @property
    def schema(self) -> Mapping[str, Any]:
        """The arguments' JSON schema: as declared, else closed (no unknown argument names)."""
        return self.parameters or arguments_schema(self.properties, self.required)


def from_function(fn: Callable[..., Awaitable[None]], *, speaks: bool = False) -> ToolSpec:
    """A tool from a Pipecat direct function (schema from its signature and docstring)."""
    schema = DirectFunctionWrapper(fn).to_function_schema()

    async def run(params: FunctionCallParams, args: dict[str, Any]) -> None:
        await fn(params, **args)

    return ToolSpec(schema.name, schema.description, schema.properties, schema.required, run,
                    speaks=speaks)  # fmt: skip


def error_result(message: str) -> dict[str, str]:
    """The result a tool reports when it could not do its job (the LLM can apologise)."""
    return {"error": message}


def _call_of(params: FunctionCallParams) -> Any:
    resources = params.app_resources
    return resources.get("call") if isinstance(resources, Mapping) else None


def guarded(spec: ToolSpec) -> Callable[[FunctionCallParams], Awaitable[None]]:
    """The handler Pipecat runs for ``spec``: validate, run, never raise, time it."""
    schema = spec.schema

    async def handler(params: FunctionCallParams) -> None:
        settled = False
        original = params.result_callback

        async def result_callback(result: Any, **kwargs: Any) -> None:
            nonlocal settled
            settled = True
            await original(result, **kwargs)

        call = _call_of(params)
        call_id = call.ctx.call_id if call is not None else "-"
        args = dict(params.arguments or {})
        problems = validate(args, schema)
        if problems:
            logger.info(f"[{call_id}] tool {spec.name}: invalid arguments: {'; '.join(problems)}")
            await original(
                error_result(f"invalid arguments for {spec.name}: " + "; ".join(problems))
            )
            return
        params = dataclasses.replace(params, result_callback=result_callback)
        started = time.monotonic()
        try:
            await spec.run(params, args)
        except Exception as exc:  # a failing tool never ends the call: the LLM hears why
            logger.warning(f"[{call_id}] tool {spec.name} failed: {type(exc).__name__}: {exc}")
            if not settled:
                await original(error_result(f"{spec.name} failed ({type(exc).__name__})"))
        finally:
            elapsed = time.monotonic() - started
            if call is not None:
                call.tool_seconds.append(elapsed)
            logger.debug(f"[{call_id}] tool {spec.name} took {elapsed * 1000:.0f} ms")

    handler.__name__ = f"tool_{spec.name}"
    return handler


def function_schema(spec: ToolSpec) -> FunctionSchema:
    """The ``FunctionSchema`` (with its guarded handler) advertised to the LLM."""
    return FunctionSchema(
        name=spec.name,
        description=spec.description,
        properties=dict(spec.properties),
        required=list(spec.required),
        handler=guarded(spec),
    )
