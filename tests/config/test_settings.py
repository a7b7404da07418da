import subprocess
import sys

import pytest
from pydantic import ValidationError

from config import EndpointError, Settings


def test_real_environment_wins_over_env_file(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=1111\nPUBLIC_URL=https://from-file.example\n")
    monkeypatch.setenv("PORT", "2222")
    settings = Settings(_env_file=env_file)
    assert settings.port == 2222
    assert settings.public_url == "https://from-file.example"


@pytest.mark.parametrize(
    ("given", "ws", "http"),
    [
        ("http://127.0.0.1:8800", "ws://127.0.0.1:8800", "http://127.0.0.1:8800"),
        ("wss://api.deepgram.com/", "wss://api.deepgram.com", "https://api.deepgram.com"),
        ("https://eu.example.com:443", "wss://eu.example.com:443", "https://eu.example.com:443"),
    ],
)
def test_websocket_providers_accept_either_scheme(monkeypatch, given, ws, http):
    monkeypatch.setenv("DEEPGRAM_BASE_URL", given)
    monkeypatch.setenv("CARTESIA_BASE_URL", given)
    settings = Settings(_env_file=None)
    assert settings.deepgram_ws_url == ws
    assert settings.cartesia_tts_ws_url == f"{ws}/tts/websocket"


def test_sdk_style_base_urls_follow_their_conventions(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("GROQ_BASE_URL", "http://127.0.0.1:9")
    settings = Settings(_env_file=None)
    assert settings.openai_base_url == "http://127.0.0.1:9/v1"
    assert settings.groq_openai_url == "http://127.0.0.1:9/openai/v1"


def test_malformed_endpoint_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ELEVENLABS_BASE_URL", "ftp://nowhere")
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    assert "ftp://nowhere" in str(err.value)
    assert "scheme" in str(err.value)


def test_endpoint_error_names_the_variable():
    settings = Settings(_env_file=None)
    with pytest.raises(EndpointError, match="LIVEKIT_URL"):
        Settings(_env_file=None, livekit_url="nonsense").livekit_http_url  # noqa: B018
    assert settings.livekit_http_url is None


def test_env_only_accepts_known_modes(monkeypatch):
    monkeypatch.setenv("ENV", "staging")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_provider_override_blank_means_none(monkeypatch):
    monkeypatch.setenv("STT_PROVIDER", "")
    monkeypatch.setenv("TTS_PROVIDER", "cartesia")
    settings = Settings(_env_file=None)
    assert settings.stt_provider is None
    assert settings.tts_provider == "cartesia"


def test_launcher_never_imports_the_dev_runner_that_overrides_env():
    # pipecat.runner.run loads .env with override=True and sets ENV=local on import.
    code = (
        "import sys, server, bots, bots.__main__; "
        "print('pipecat.runner.run' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
