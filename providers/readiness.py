"""Can a persona take a call with the settings present? Each stage built once, on its own."""

from __future__ import annotations

from config import Settings
from providers import resolve_specs
from providers.errors import ProviderError
from providers.llm import LLM_BUILDERS
from providers.spec import ServiceSpec
from providers.stt import STT_BUILDERS
from providers.tts import TTS_BUILDERS, Closers


async def stage_problems(
    chosen: dict[str, ServiceSpec], settings: Settings, language: str
) -> list[str]:
    """What stops these providers from being built: one message per failing stage.

    Args:
        chosen: The persona's choices, keyed ``stt``, ``llm`` and ``tts``.
        settings: The process settings.
        language: The persona's language.

    Returns:
        Messages naming what to set (``DEEPGRAM_API_KEY is not set: ...``); empty when ready.
    """
    try:
        specs = resolve_specs(chosen, settings)
    except ProviderError as exc:
        return [str(exc)]
    problems: list[str] = []
    closers: Closers = []
    builds = (
        lambda: STT_BUILDERS[specs["stt"].provider](specs["stt"], settings, language),
        lambda: LLM_BUILDERS[specs["llm"].provider](specs["llm"], settings, "readiness"),
        lambda: TTS_BUILDERS[specs["tts"].provider](specs["tts"], settings, language, closers),
    )
    for build in builds:
        try:
            build()
        except ProviderError as exc:
            problems.append(str(exc))
    for close in closers:
        await close()
    return problems
