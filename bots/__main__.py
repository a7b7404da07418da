"""Command line: ``python -m bots --list`` and ``python -m bots <persona> --transport ...``.

- ``local``: talk through this machine's microphone and speaker.
- ``webrtc``: start the launcher and talk in the browser at http://localhost:7860.
- ``twilio``: start the launcher; point a Twilio number's voice webhook at /twilio/voice.
- ``livekit``: create a LiveKit room, print a user token, and run the bot in the room.
"""

from __future__ import annotations

import config.blas  # noqa: F401  (first: one BLAS thread before numpy loads)

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from pipecat.runner.types import LiveKitRunnerArguments

from assembly.call import CallContext, new_call_id
from assembly.pipeline import build_call
from assembly.run import run_call
from bots import PERSONAS, UnknownPersonaError, get_bot, get_persona
from config import Settings, get_settings
from config.logging import configure_logging
from providers import ProviderError, build_services, resolve_specs
from transports.kinds import TransportKind


def _list(settings: Settings) -> int:
    print(f"{'persona':<14}{'stt':<12}{'llm':<34}{'tts':<12}description")
    for persona in PERSONAS.values():
        chosen = {"stt": persona.stt, "llm": persona.llm, "tts": persona.tts}
        specs = resolve_specs(chosen, settings)
        llm = f"{specs['llm'].provider}:{specs['llm'].model or 'default'}"
        print(
            f"{persona.name:<14}{specs['stt'].provider:<12}{llm:<34}{specs['tts'].provider:<12}"
            f"{persona.description}"
        )
    return 0


async def _preflight(name: str, settings: Settings) -> None:
    """Fail before any call starts if the persona's providers cannot be built."""
    persona = get_persona(name)
    services = build_services(
        {"stt": persona.stt, "llm": persona.llm, "tts": persona.tts},
        settings,
        language=persona.language,
        prompt=persona.prompt,
    )
    await services.aclose()


async def _run_local(name: str, metadata: dict, settings: Settings) -> None:
    from transports.local import local_transport  # PyAudio needs PortAudio: only for this command

    persona = get_persona(name)
    ctx = CallContext(persona=name, transport=TransportKind.LOCAL, metadata=metadata)
    call = build_call(persona, local_transport(), ctx, settings)
    print(f"Talking to {name} on this machine's mic and speaker. Ctrl-C to stop.")
    await run_call(call, handle_sigint=True)


async def _run_livekit(name: str, metadata: dict, settings: Settings) -> None:
    from transports.livekit_rooms import LiveKitRooms  # the LiveKit SDK: only for this command

    rooms = LiveKitRooms.from_settings(settings)
    call_id = new_call_id()
    room = await rooms.create_room(call_id)
    user_token = rooms.user_token(room, identity="user", name="Caller", metadata={"persona": name})
    print(f"LiveKit room {room} on {settings.livekit_url}\nuser token: {user_token}")
    args = LiveKitRunnerArguments(
        room_name=room, url=settings.livekit_url or "", token=rooms.bot_token(room, call_id)
    )
    args.body = {"call_id": call_id, "metadata": metadata}
    await get_bot(name)(args)


def _serve(name: str, settings: Settings) -> None:
    """Become the launcher (``server.py``, exactly as ``make run`` starts it) for ``name``.

    The process is replaced, not imported into: ``bots`` stays below ``server`` in the layers
    (pyproject.toml), and the launcher runs with its own start-up (media hand-over to the
    worker processes, draining on SIGTERM), which a bare ``uvicorn.run`` here would skip.
    """
    print(f"Open http://localhost:{settings.port}/?persona={name}", flush=True)
    server = Path(__file__).resolve().parents[1] / "server.py"
    env = {**os.environ, "DEFAULT_PERSONA": name}
    os.execve(sys.executable, [sys.executable, str(server)], env)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m bots", description=__doc__.split("\n")[0])
    parser.add_argument("persona", nargs="?", help="persona to run")
    parser.add_argument("--list", action="store_true", help="list personas and their providers")
    parser.add_argument(
        "--transport", choices=["local", "webrtc", "twilio", "livekit"], default="local"
    )
    parser.add_argument("--metadata", default="{}", help="call metadata as JSON")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    if args.list:
        return _list(settings)
    if not args.persona:
        parser.error("name a persona, or use --list")
    try:
        metadata = json.loads(args.metadata)
        if not isinstance(metadata, dict):
            raise ValueError("metadata must be a JSON object")
        asyncio.run(_preflight(args.persona, settings))
    except (UnknownPersonaError, ProviderError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.transport in ("webrtc", "twilio"):
        _serve(args.persona, settings)
        return 0
    runner = _run_local if args.transport == "local" else _run_livekit
    try:
        asyncio.run(runner(args.persona, metadata, settings))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
