"""Start what a benchmark calls: the provider doubles and the real launcher, both subprocesses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import scenario
from config import Settings
from simulators.callers.audio import speech_pcm
from simulators.doubles.client import DoublesClient
from simulators.doubles.process import DoublesProcess
from tests.launcher.process import LauncherProcess


class BenchSetupError(RuntimeError):
    """The doubles or the launcher could not be prepared for the benchmark."""


@dataclass
class Stack:
    """A running doubles process and launcher.

    Attributes:
        doubles: The provider doubles (subprocess).
        launcher: The launcher (``python server.py`` subprocess).
        profile: The doubles' latency profile in force.
        launcher_env: The ``--launcher-env`` pairs given to the launcher.
    """

    doubles: DoublesProcess
    launcher: LauncherProcess
    profile: dict[str, Any]
    launcher_env: dict[str, str]

    @property
    def client(self) -> DoublesClient:
        """Control client of the doubles."""
        assert self.doubles.client is not None
        return self.doubles.client

    @property
    def webhook_url(self) -> str:
        """The launcher's Twilio voice webhook."""
        return f"{self.launcher.base_url}/twilio/voice"

    @property
    def auth_token(self) -> str:
        """The Twilio auth token the launcher was given (signs the webhook)."""
        return self.doubles.env()["TWILIO_AUTH_TOKEN"]


def parse_env_pairs(pairs: list[str]) -> dict[str, str]:
    """Turn ``KEY=VALUE`` strings into a dict.

    Raises:
        ValueError: On a pair without ``=`` or with an empty key.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--launcher-env expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def parse_profile(text: str | None) -> dict[str, Any]:
    """A latency profile from a JSON string or the path of a JSON file (``None``: defaults)."""
    if not text:
        return {}
    path = Path(text)
    raw = path.read_text() if not text.lstrip().startswith("{") and path.exists() else text
    profile = json.loads(raw)
    if not isinstance(profile, dict):
        raise ValueError("--profile must be a JSON object")
    return profile


def prepare_doubles(client: DoublesClient) -> None:
    """Register the callers' phrases and the LLM's replies; warm the caller speech cache.

    Raises:
        BenchSetupError: If the STT double rejects a phrase (a word outside its dictionary).
    """
    answer = client.stt_phrases(scenario.phrases())
    if answer.get("rejected"):
        raise BenchSetupError(f"STT double rejected phrases: {answer['rejected']}")
    client.llm_rules(scenario.llm_rules())
    for phrase in scenario.phrases():  # synthesise once, before the calls run concurrently
        speech_pcm(phrase, 8000)


@contextmanager
def running_stack(
    profile: dict[str, Any],
    launcher_env: dict[str, str],
    prepare: Callable[[DoublesClient], None] = prepare_doubles,
    launcher_dir: Path | None = None,
) -> Iterator[Stack]:
    """Doubles + launcher for the duration of the ``with`` block; both stopped by PID after.

    Args:
        profile: Latency profile overrides for the doubles.
        launcher_env: Extra launcher environment (wins over the doubles' env).
        prepare: Registers what the callers say and what the LLM answers.
        launcher_dir: Run the launcher of another checkout (a baseline commit).

    Yields:
        The running stack.
    """
    with DoublesProcess(profile=profile) as doubles:
        assert doubles.client is not None
        prepare(doubles.client)
        # The product's default process model (the test suite's launchers pin inprocess).
        default_model = str(Settings.model_fields["process_model"].default)
        launcher = LauncherProcess(
            {**doubles.env(), "PROCESS_MODEL": default_model, **launcher_env}, cwd=launcher_dir
        )
        launcher.start()
        try:
            yield Stack(doubles, launcher, doubles.client.profile(), dict(launcher_env))
        finally:
            launcher.stop()
