"""OpenTelemetry tracing of calls, through Pipecat's own tracing (``pipecat.utils.tracing``).

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. Then the process that runs calls (a call
host, or the launcher with ``PROCESS_MODEL=inprocess``) sets up one tracer provider with an
OTLP/HTTP exporter, and each call's ``PipelineWorker`` gets ``enable_tracing`` and turn
tracking: Pipecat exports a ``conversation`` span per call (``conversation.id`` = our call id,
plus persona, tenant and transport), its ``turn`` spans, and the ``stt`` / ``llm`` / ``tts``
spans under each turn with their latency attributes (``metrics.ttfb``, ...).

Spans leave in batches off the event loop; a call's spans are flushed when its conversation
span ends, the rest at process exit (the SDK's provider shuts down at exit). Unless
``OTEL_TRACE_CONTENT`` is true, the exporter drops what callers said and what the bot
answered (transcripts, prompts, replies) from the spans first.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from loguru import logger
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from assembly.call import CallContext
from config import Settings

# Span attributes Pipecat fills with what was said (``pipecat.utils.tracing.service_*``).
CONTENT_ATTRIBUTES = frozenset(
    {"text", "transcript", "input", "output", "text_output", "gen_ai.system_instructions"}
    | {"user_id"}
)
TRACES_PATH = "/v1/traces"  # OTLP/HTTP's traces route under the endpoint base URL

_lock = threading.Lock()
_ready: bool | None = None  # this process's tracer provider is set up (None: not tried yet)


def tracing_enabled(settings: Settings) -> bool:
    """Set up this process's tracing once, when an OTLP endpoint is configured.

    Cheap after the first call: every call's assembly asks, so whichever process runs calls
    traces them (call hosts also ask at start-up, so their first call pays no imports).

    Args:
        settings: Process settings (``OTEL_*``).

    Returns:
        True when calls in this process are traced.
    """
    global _ready
    if _ready is None and settings.otel_exporter_otlp_endpoint:
        with _lock:
            if _ready is None:  # tried once: a failure is logged once, calls go untraced
                try:
                    _ready = _set_up(settings)
                except Exception:
                    logger.exception("tracing: set-up failed; calls are not traced")
                    _ready = False
    return bool(_ready)


def worker_tracing(ctx: CallContext, settings: Settings) -> dict[str, Any]:
    """``PipelineWorker`` keyword arguments for one call's tracing.

    Off, turn tracking is off too: nothing else reads it, and each observer sees every frame.

    Args:
        ctx: The call (its id is set as ``conversation_id`` by the caller).
        settings: Process settings.

    Returns:
        ``enable_tracing``, ``enable_turn_tracking`` and, when on, the conversation span's
        ``additional_span_attributes``.
    """
    if not tracing_enabled(settings):
        return {"enable_tracing": False, "enable_turn_tracking": False}
    return {
        "enable_tracing": True,
        "enable_turn_tracking": True,  # Pipecat's turn spans are cut by its turn tracking
        "additional_span_attributes": {
            "switchboard.persona": ctx.persona,
            "switchboard.tenant": ctx.tenant,
            "switchboard.transport": str(ctx.transport),
        },
    }


def _set_up(settings: Settings) -> bool:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from pipecat.utils.tracing.setup import setup_tracing

    assert settings.otel_exporter_otlp_endpoint is not None
    endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + TRACES_PATH
    headers = settings.otel_exporter_otlp_headers
    exporter: SpanExporter = OTLPSpanExporter(
        endpoint=endpoint, headers=_headers(headers.get_secret_value()) if headers else None
    )
    if not settings.otel_trace_content:
        exporter = _ContentDroppingExporter(exporter)
    if not setup_tracing(settings.otel_service_name, exporter=exporter):
        logger.error("tracing: Pipecat could not set up OpenTelemetry; calls are not traced")
        return False
    provider = trace.get_tracer_provider()
    add = getattr(provider, "add_span_processor", None)
    if add is None:  # another tracer provider was already installed in this process
        logger.error(f"tracing: a foreign tracer provider {provider!r} is in place")
        return False
    add(_FlushAtCallEnd(provider))
    logger.info(f"tracing: spans to {endpoint} as {settings.otel_service_name!r}")
    return True


def _headers(raw: str) -> dict[str, str]:
    """``key=value,key2=value2`` (values URL-encoded, as ``OTEL_EXPORTER_OTLP_HEADERS``)."""
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {unquote(key).strip(): unquote(value).strip() for key, value in pairs}


class _FlushAtCallEnd(SpanProcessor):
    """Flushes the batch once a call's ``conversation`` span ends (on a thread: it blocks)."""

    def __init__(self, provider: Any):
        self._provider = provider

    def on_end(self, span: ReadableSpan) -> None:
        if span.name == "conversation":
            threading.Thread(target=self._provider.force_flush, daemon=True).start()


class _ContentDroppingExporter(SpanExporter):
    """Wraps an exporter; drops the :data:`CONTENT_ATTRIBUTES` of every span it exports."""

    def __init__(self, inner: SpanExporter):
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([_without_content(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _without_content(span: ReadableSpan) -> ReadableSpan:
    attributes = span.attributes or {}
    if CONTENT_ATTRIBUTES.isdisjoint(attributes):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes={k: v for k, v in attributes.items() if k not in CONTENT_ATTRIBUTES},
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
