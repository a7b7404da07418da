"""The runner seam: what the launcher needs from whatever runs calls."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipecat.runner.types import RunnerArguments

from assembly.persona import Persona
from calls.end_reason import EndReason


class CallRefused(Exception):
    """The runner will not take another call now (``reason``: ``full`` or ``draining``)."""

    def __init__(self, reason: str, retry_after: int = 5):
        super().__init__(f"call refused: launcher is {reason}")
        self.reason = reason
        self.retry_after = retry_after


class BadOffer(Exception):
    """A worker refused a browser offer (bad SDP, unknown persona): the client's mistake."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class ActiveCall:
    """A call the runner knows about."""

    call_id: str
    persona: str
    transport: str
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    end_reason: EndReason | None = None
    call: Any = None  # assembly.call.Call while the call runs
    ctx: Any = None  # assembly.call.CallContext, kept after the call
    final: dict[str, Any] | None = None  # transcript and latencies, kept after the call
    client: str | None = None  # the address that asked for it on a public route (limits)

    def release(self) -> None:
        """Forget the finished call's pipeline; keep what the calls API shows."""
        if self.call is not None:
            self.final = self._live_details()
            self.ctx = self.call.ctx
            self.call = None

    def _live_details(self) -> dict[str, Any]:
        call = self.call
        messages = call.context.get_messages()
        transcript = [
            {"role": m.get("role"), "text": m.get("content")}
            for m in messages
            if isinstance(m, dict)
            and m.get("role") in ("user", "assistant")
            and isinstance(m.get("content"), str)
            and m.get("content")
        ]
        return {
            "transcript": transcript,
            "tool_calls": tool_calls(messages),
            "turn_latency_secs": [round(x, 3) for x in call.turn_latencies],
            "first_speech_secs": call.first_speech_secs,
            **_plugin_details(call),
        }

    def details(self) -> dict[str, Any]:
        """Summary plus the transcript so far and per-turn latency."""
        live = self._live_details() if self.call is not None else (self.final or {})
        return {**self.summary(), **live}

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly view for the calls API."""
        ctx = self.call.ctx if self.call is not None else self.ctx
        return {
            "call_id": self.call_id,
            "persona": self.persona,
            "transport": self.transport,
            "caller_number": ctx.caller_number if ctx else None,
            "room": ctx.room if ctx else None,
            "called_number": ctx.called_number if ctx else None,
            "tenant": ctx.tenant if ctx else None,
            "provider_call_id": ctx.provider_call_id if ctx else None,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "end_reason": self.end_reason,
            "active": self.ended_at is None,
        }


def tool_calls(messages: list[Any]) -> list[dict[str, Any]]:
    """The tool calls in an LLM context, in order, each with its result once it came back.

    Returns:
        ``[{"id", "name", "arguments", "result"}]``; ``result`` is the tool message's content
        (``"IN_PROGRESS"`` while the tool runs), or None when there is none.
    """
    calls: dict[str, dict[str, Any]] = {}
    for m in messages:
        if not isinstance(m, dict):
            continue
        if m.get("role") == "assistant":
            for tc in m.get("tool_calls") or []:
                function = tc.get("function") or {}
                call_id = str(tc.get("id"))
                calls[call_id] = {
                    "id": call_id,
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                    "result": None,
                }
        elif m.get("role") == "tool" and str(m.get("tool_call_id")) in calls:
            calls[str(m.get("tool_call_id"))]["result"] = m.get("content")
    return list(calls.values())


def _plugin_details(call: Any) -> dict[str, Any]:
    """What plugins with a ``details(call)`` method add (latency stages, cost estimate)."""
    out: dict[str, Any] = {}
    for plugin in getattr(call, "plugins", []):
        details = getattr(plugin, "details", None)
        if callable(details):
            out.update(details(call))
    return out


class CallRunner(Protocol):
    """Runs calls: in this process (``InProcessRunner``) or in workers (``WorkerPoolRunner``).

    Routes use only what is declared here, whichever runner they have.
    """

    started_total: int  # calls started since the process began
    recycle_after: int | None  # the process drains and exits after this many calls (None: never)

    @property
    def draining(self) -> bool:
        """True once a drain began: no new calls."""
        ...

    async def open(self) -> None:
        """Get ready before the first call (models warmed, or worker processes started)."""
        ...

    def active_count(self) -> int:
        """Calls running, being built or being handed over now."""
        ...

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Report a call event (``started``, ``ended``, ``refused``) to whoever listens."""
        ...

    def add_listener(self, listener: Any) -> None:
        """Be told of every call event: ``listener(kind, data)``."""
        ...

    def hand_over(self, call_id: str, fd: int, head: bytes) -> bool:
        """Give a media stream's connection to the process that will run its call.

        Returns:
            False when this process serves the stream itself (or no worker can take it).
        """
        ...

    async def answer_offer(
        self, persona: Persona, offer: dict[str, Any], client: str | None = None
    ) -> dict[str, Any]:
        """Answer a checked browser offer; the call starts when the peer connects.

        Raises:
            CallRefused: Full or draining.
            BadOffer: The SDP was refused.
        """
        ...

    async def patch_offer(self, patch: dict[str, Any]) -> None:
        """Add trickled ICE candidates to a peer connection.

        Raises:
            KeyError: No such peer connection.
        """
        ...

    async def drain(self, timeout: float, goodbye: str) -> None:
        """Stop taking calls, let active ones finish for ``timeout`` s, then end them politely."""
        ...

    def admission(self) -> CallRefused | None:
        """Why a new call would be refused now (full, draining), or None if it is welcome."""
        ...

    async def start(self, persona: Persona, runner_args: RunnerArguments) -> ActiveCall:
        """Start a call for ``persona`` on the transport ``runner_args`` describe.

        Raises:
            CallRefused: The launcher is full or draining.
        """
        ...

    def calls(self) -> list[ActiveCall]:
        """Active and recent calls."""
        ...

    def get(self, call_id: str) -> ActiveCall | None:
        """One call by id."""
        ...

    async def details(self, call_id: str) -> dict[str, Any] | None:
        """One call's summary, transcript so far and per-turn latency; None if unknown."""
        ...

    async def end(self, call_id: str, goodbye: str | None = None) -> bool:
        """End a call gracefully; False when there is no such active call."""
        ...

    async def cancel(self, call_id: str, reason: EndReason) -> bool:
        """Stop a call now; False when there is no such active call."""
        ...

    async def wait(self, call_id: str) -> None:
        """Return when the call has finished (the media websocket stays open until then)."""
        ...

    async def shutdown(self) -> None:
        """Stop every call (process exit)."""
        ...
