"""Shared fixtures: settings with fake keys, and the repo root on sys.path."""

from __future__ import annotations

import os
from urllib.parse import urlencode

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

from config import Settings  # noqa: E402
from tests.slowest_first import slowest_first  # noqa: E402

FAKE_KEYS = {
    "deepgram_api_key": "dg-test",
    "cartesia_api_key": "ca-test",
    "elevenlabs_api_key": "el-test",
    "openai_api_key": "sk-test",
    "groq_api_key": "gsk-test",
    "twilio_account_sid": "AC" + "0" * 32,
    "twilio_auth_token": "twilio-test-token",
}


@pytest.fixture
def settings() -> Settings:
    """Settings with a fake key for every provider and no .env file."""
    return Settings(_env_file=None, **FAKE_KEYS)


@pytest.fixture
async def storage(tmp_path):
    """An opened, empty SQLite storage in a temp dir; closed after the test.

    ``tests/storage`` overrides it with one parametrized over every backend.
    """
    from storage.sqlite import SQLiteStorage

    store = SQLiteStorage(tmp_path / "switchboard.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture(scope="session")
def doubles():
    """The provider doubles in their own process, for the whole session."""
    from simulators.doubles.process import DoublesProcess

    with DoublesProcess() as running:
        yield running


@pytest.fixture
def twilio_caller(doubles):
    """Make a simulated phone call to a launcher's voice webhook, signed as Twilio signs it.

    ``twilio_caller(launcher, persona="receptionist", tenant="acme", from_number="+1555…")``:
    ``persona`` and ``tenant`` go in the webhook URL's query, the other keyword arguments to
    :class:`~simulators.callers.twilio.TwilioCaller`. Nothing is dialled until ``.run(script)``.
    """
    from simulators.callers.twilio import TwilioCaller

    def make(
        launcher, *, persona: str | None = None, tenant: str | None = None, **kwargs
    ) -> TwilioCaller:
        query = urlencode({k: v for k, v in (("persona", persona), ("tenant", tenant)) if v})
        return TwilioCaller(
            webhook_url=f"{launcher.base_url}/twilio/voice" + (f"?{query}" if query else ""),
            auth_token=doubles.env()["TWILIO_AUTH_TOKEN"],
            **kwargs,
        )

    return make


@pytest.fixture
def launcher_factory(doubles):
    """Start launchers (real ``server.py`` processes) pointed at the doubles; stopped after."""
    from tests.launcher.process import LauncherProcess

    started = []

    def start(**env: str):
        process = LauncherProcess({**doubles.env(), **env}).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Hand the longest test files to the workers first (see ``tests/slowest_first.py``)."""
    slowest_first(items)
