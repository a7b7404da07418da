"""A real OTLP/HTTP trace receiver for tests: ``POST /v1/traces`` on 127.0.0.1, decoded spans.

The exporter under test (the SDK's ``OTLPSpanExporter``) sends protobuf
``ExportTraceServiceRequest`` bodies; each span is kept flattened (hex ids, plain attributes).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

PROTOBUF = "application/x-protobuf"


@dataclass
class Span:
    """One received span, flattened."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    attributes: dict[str, Any]
    resource: dict[str, Any]
    start_ns: int
    end_ns: int
    children: list[Span] = field(default_factory=list, repr=False)

    @property
    def seconds(self) -> float:
        """How long the span lasted."""
        return (self.end_ns - self.start_ns) / 1e9


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def decode(body: bytes) -> list[Span]:
    """The spans of one ``ExportTraceServiceRequest``."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append(
                    Span(
                        name=s.name,
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_id=s.parent_span_id.hex(),
                        attributes=_attributes(s.attributes),
                        resource=resource,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                    )
                )
    return spans


class OtlpReceiver:
    """An aiohttp OTLP/HTTP receiver; ``url`` is the base to set as the exporter's endpoint."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.requests = 0
        self.rejected: list[str] = []  # why bodies that were not trace requests were refused
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if request.content_type != PROTOBUF:
            self.rejected.append(f"content type {request.content_type}")
            return web.Response(status=415)
        self.requests += 1
        self.spans.extend(decode(body))
        self._changed.set()
        reply = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=reply, content_type=PROTOBUF)

    async def __aenter__(self) -> OtlpReceiver:
        app = web.Application()
        app.router.add_post("/v1/traces", self._traces)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, ready: Callable[[list[Span]], bool], timeout: float) -> bool:
        """Wait until ``ready(spans)`` holds; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not ready(self.spans):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                return ready(self.spans)
        return True

    def named(self, name: str) -> list[Span]:
        """The received spans called ``name``."""
        return [s for s in self.spans if s.name == name]

    def tree(self) -> list[Span]:
        """Link every span to its children; return the roots."""
        by_id = {s.span_id: s for s in self.spans}
        for s in self.spans:
            s.children = []
        roots = []
        for s in sorted(self.spans, key=lambda s: s.start_ns):
            parent = by_id.get(s.parent_id)
            (parent.children if parent else roots).append(s)
        return roots


def render(spans: list[Span], keys: tuple[str, ...] = (), depth: int = 0) -> str:
    """An indented text view of a span tree (names, durations, the chosen attributes)."""
    lines = []
    for s in spans:
        shown = {k: s.attributes[k] for k in keys if k in s.attributes}
        lines.append(f"{'  ' * depth}{s.name} {s.seconds:.3f}s {shown or ''}".rstrip())
        if s.children:
            lines.append(render(s.children, keys, depth + 1))
    return "\n".join(lines)
