import subprocess
import sys
from pathlib import Path

import pytest

from assembly.persona import Persona
from bots import PERSONAS, UnknownPersonaError, get_bot, get_persona
from tools import UnknownToolError, resolve_tools


def test_four_personas_are_registered():
    assert set(PERSONAS) == {"receptionist", "coach", "companion", "assistant"}


def test_default_providers_match_the_design():
    assert (PERSONAS["receptionist"].stt.provider, PERSONAS["receptionist"].llm.provider) == (
        "deepgram",
        "openai",
    )
    assert PERSONAS["receptionist"].llm.model == "gpt-4o-mini"
    assert PERSONAS["receptionist"].tts.provider == "elevenlabs"
    assert [PERSONAS["coach"].stt.provider, PERSONAS["coach"].llm.provider] == ["groq", "groq"]
    assert PERSONAS["companion"].stt.provider == "cartesia"
    assert PERSONAS["companion"].tts.provider == "cartesia"
    assert PERSONAS["companion"].memory
    assert PERSONAS["assistant"].llm.provider == "groq"
    assert PERSONAS["assistant"].tts.provider == "cartesia"


def test_every_persona_has_what_it_is():
    assert set(PERSONAS) == {"assistant", "coach", "companion", "receptionist"}
    for persona in PERSONAS.values():
        assert isinstance(persona, Persona)
        assert persona.prompt and persona.greeting and persona.language
        assert persona.tts.voice
        assert callable(get_bot(persona.name))


def test_unknown_persona_lists_the_valid_names():
    with pytest.raises(UnknownPersonaError) as err:
        get_persona("../../etc/passwd")
    assert "assistant, coach, companion, receptionist" in str(err.value)


def test_unknown_tool_is_a_clear_error():
    with pytest.raises(UnknownToolError, match="teleport"):
        resolve_tools(["end_call", "teleport"])


def test_persona_names_are_validated():
    with pytest.raises(ValueError):
        PERSONAS["coach"].model_validate({**PERSONAS["coach"].model_dump(), "name": "Bad Name"})


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bots", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_cli_lists_the_four_personas_with_providers():
    out = _cli("--list")
    assert out.returncode == 0, out.stderr
    for name in PERSONAS:
        assert name in out.stdout
    assert "gpt-4o-mini" in out.stdout and "elevenlabs" in out.stdout


def test_cli_unknown_persona_exits_with_a_clear_error():
    out = _cli("nobody")
    assert out.returncode == 2
    assert "unknown persona 'nobody'; valid personas:" in out.stderr


def test_cli_missing_key_fails_before_the_call_starts(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-m", "bots", "receptionist", "--transport", "local"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,  # no .env here
    )
    assert out.returncode == 2
    assert "DEEPGRAM_API_KEY is not set" in out.stderr
