"""Running a call: Pipecat's ``bot(runner_args)`` contract → our transport, assembly and runner.

The same entry point serves Pipecat's dev runner, Pipecat Cloud, our CLI and our launcher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from pipecat.runner.types import (
    DailyRunnerArguments,
    LiveKitRunnerArguments,
    RunnerArguments,
    SmallWebRTCRunnerArguments,
    WebSocketRunnerArguments,
)
from pipecat.workers.runner import WorkerRunner

from assembly.call import Call, CallContext, CallPlugin
from assembly.persona import Persona
from assembly.pipeline import build_call
from config import Settings, get_settings
from transports.kinds import TransportKind

OnBuilt = Callable[[Call], Awaitable[None] | None]
# Each phone carrier's media-stream wire, as Pipecat's handshake parser names it.
_CARRIER_WIRE = {"twilio": "twilio", "signalwire": "twilio", "telnyx": "telnyx", "plivo": "plivo"}


async def run_call(call: Call, *, handle_sigint: bool = False) -> None:
    """Run a built call to its end, then release its resources and plugins."""
    assert call.worker is not None
    runner = WorkerRunner(handle_sigint=handle_sigint)
    await runner.add_workers(call.worker)
    for plugin in call.plugins:
        await plugin.attach(call)
    try:
        await runner.run()
    finally:
        for plugin in call.plugins:
            try:
                await plugin.detach(call)
            except Exception:  # one plugin's cleanup never blocks the others
                logger.exception(f"[{call.ctx.call_id}] plugin detach failed")
        await call.services.aclose()
        logger.info(f"[{call.ctx.call_id}] call finished")


def _body(runner_args: RunnerArguments) -> dict[str, Any]:
    return runner_args.body if isinstance(runner_args.body, dict) else {}


async def transport_for(
    runner_args: RunnerArguments, persona: Persona, settings: Settings
) -> tuple[Any, CallContext]:
    """Build the transport and call context that Pipecat's runner arguments describe."""
    body = _body(runner_args)
    keys = ("call_id", "user_id", "user_name", "tenant", "caller_number", "called_number")
    known = {k: str(body[k]) for k in keys if body.get(k)}
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    if isinstance(runner_args, SmallWebRTCRunnerArguments):
        from transports.webrtc import webrtc_transport

        ctx = CallContext(
            persona=persona.name, transport=TransportKind.WEBRTC, metadata=metadata, **known
        )
        return webrtc_transport(runner_args.webrtc_connection), ctx
    if isinstance(runner_args, LiveKitRunnerArguments):
        from transports.rooms import livekit_transport

        ctx = CallContext(
            persona=persona.name,
            transport=TransportKind.LIVEKIT,
            room=runner_args.room_name,
            metadata=metadata,
            **known,
        )
        transport = livekit_transport(runner_args.url, runner_args.token, runner_args.room_name)
        return transport, ctx
    if isinstance(runner_args, DailyRunnerArguments):
        from transports.rooms import daily_transport

        room = runner_args.room_url.rstrip("/").rsplit("/", 1)[-1]
        ctx = CallContext(
            persona=persona.name,
            transport=TransportKind.DAILY,
            room=room,
            metadata=metadata,
            **known,
        )
        return daily_transport(runner_args.room_url, runner_args.token, persona.name), ctx
    if isinstance(runner_args, WebSocketRunnerArguments):
        from pipecat.runner.utils import parse_telephony_websocket

        from transports.twilio import twilio_transport

        kind, data = await parse_telephony_websocket(runner_args.websocket)
        carrier = str(body.get("carrier") or "twilio")
        if _CARRIER_WIRE.get(carrier) != kind:
            raise ValueError(f"telephony provider {kind!r} is not supported here ({carrier})")
        stream = body.get("stream_params")
        params = dict(stream if isinstance(stream, dict) else data.body or {})
        if carrier != "twilio":
            params["carrier"] = carrier  # in the call's metadata: which REST API it lives on
        ctx = CallContext(
            persona=persona.name,
            transport=TransportKind.TWILIO,
            caller_number=data.from_number or params.get("from_number"),
            called_number=data.to_number or params.get("to_number"),
            provider_call_id=data.call_id,
            metadata={k: v for k, v in params.items() if k not in ("from_number", "to_number")},
            **{k: v for k, v in params.items() if k in ("call_id", "user_id", "tenant")},
        )
        if carrier == "twilio":
            transport = twilio_transport(
                runner_args.websocket,
                settings,
                stream_sid=data.stream_id or "",
                call_sid=data.call_id,
            )
        else:
            from transports.carriers import carrier_transport

            transport = carrier_transport(
                runner_args.websocket,
                settings,
                carrier,
                stream_id=data.stream_id or "",
                call_id=data.call_id,
                encoding=getattr(data, "outbound_encoding", None),
            )
        return transport, ctx
    raise ValueError(f"unsupported runner arguments: {type(runner_args).__name__}")


async def run_bot(
    persona: Persona,
    runner_args: RunnerArguments,
    *,
    settings: Settings | None = None,
    plugins: list[CallPlugin] | None = None,
) -> None:
    """Pipecat's ``bot(runner_args)`` contract, for any persona.

    Args:
        persona: The persona to run.
        runner_args: What Pipecat's runner (or our launcher) hands a bot.
        settings: Process settings; read from the environment when omitted.
        plugins: Cross-cutting processors for the call.
    """
    settings = settings or get_settings()
    transport, ctx = await transport_for(runner_args, persona, settings)
    call = build_call(persona, transport, ctx, settings, plugins)
    await run_call(call, handle_sigint=runner_args.handle_sigint)
