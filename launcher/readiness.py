"""Which personas can take a call now, decided once at start-up and checked on every way in.

A persona whose providers lack a key (or a package) is refused before any media is set up: the
browser offer gets 503 with the reason, a phone call hears an apology and is hung up on, a room
request gets 503. ``GET /personas`` and the page show the reason.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from loguru import logger

from assembly.persona import Persona
from bots import PERSONAS
from config import Settings
from providers.readiness import stage_problems


async def check_personas(app: FastAPI, settings: Settings) -> dict[str, list[str]]:
    """Find what each persona lacks, keep it on the app and log one line per persona."""
    found = {}
    for persona in PERSONAS.values():
        chosen = {"stt": persona.stt, "llm": persona.llm, "tts": persona.tts}
        found[persona.name] = await stage_problems(chosen, settings, persona.language)
    app.state.persona_problems = found
    for name, problems in found.items():
        if problems:
            logger.warning(f"persona {name}: cannot take calls: {'; '.join(problems)}")
        else:
            logger.info(f"persona {name}: ready")
    return found


def problems_of(app: FastAPI, name: str) -> list[str]:
    """What persona ``name`` lacks (empty before the start-up check or when ready)."""
    return getattr(app.state, "persona_problems", {}).get(name, [])


def require_ready(app: FastAPI, persona: Persona) -> None:
    """Refuse a call to a persona that cannot take one.

    Raises:
        HTTPException: 503 naming what to set.
    """
    problems = problems_of(app, persona.name)
    if problems:
        raise HTTPException(
            status_code=503,
            detail=f"persona {persona.name!r} cannot take calls: {'; '.join(problems)}",
        )
