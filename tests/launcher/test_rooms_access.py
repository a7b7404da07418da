"""Who may make rooms, and what happens when a transport is not configured or the launcher is full.

One production launcher: API key required, LiveKit unconfigured, Daily configured, one call max.
"""

import httpx
import pytest

from tests.launcher.process import LauncherProcess

API_KEY = "rooms-test-api-key-0123456789"


@pytest.fixture(scope="module")
def launcher(doubles):
    env = {
        **doubles.env(),
        "ENV": "production",
        "SWITCHBOARD_API_KEY": API_KEY,
        "MEDIA_TOKEN_SECRET": "rooms-test-media-secret-0123456789",
        "LIVEKIT_URL": "",
        "MAX_CONCURRENT_CALLS": "1",
        "DRAIN_TIMEOUT_SECS": "1",
    }
    with LauncherProcess(env) as running:
        yield running


def _post(launcher, body: dict, key: str | None = API_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{launcher.base_url}/rooms", json=body, headers=headers, timeout=30)


def test_production_needs_the_api_key(launcher, doubles):
    assert _post(launcher, {"persona": "coach"}, key=None).status_code == 401
    assert _post(launcher, {"persona": "coach"}, key="wrong").status_code == 401
    rooms_before = len(doubles.client.daily_rooms())
    assert _post(launcher, {"persona": "coach", "transport": "daily"}, key=None).status_code == 401
    assert len(doubles.client.daily_rooms()) == rooms_before  # nothing was made


def test_livekit_not_configured_is_503_naming_the_variable(launcher):
    answer = _post(launcher, {"persona": "coach"})
    assert answer.status_code == 503
    assert "LIVEKIT_URL" in answer.json()["detail"]
    webhook = httpx.post(f"{launcher.base_url}/livekit/webhook", content=b"{}")
    assert webhook.status_code == 503 and "LIVEKIT_URL" in webhook.json()["detail"]


def test_full_launcher_answers_429_with_retry_after(launcher, doubles):
    first = _post(launcher, {"persona": "coach", "transport": "daily"})
    assert first.status_code == 200, first.text
    rooms_before = len(doubles.client.daily_rooms())
    second = _post(launcher, {"persona": "coach", "transport": "daily"})
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0 and "full" in second.json()["detail"]
    assert len(doubles.client.daily_rooms()) == rooms_before  # refused before any room


@pytest.fixture
def no_daily(launcher_factory):
    return launcher_factory(DAILY_API_KEY="", DRAIN_TIMEOUT_SECS="1")


def test_daily_without_its_key_is_503_naming_the_variable(no_daily):
    answer = httpx.post(
        f"{no_daily.base_url}/rooms", json={"persona": "coach", "transport": "daily"}, timeout=30
    )
    assert answer.status_code == 503
    assert "DAILY_API_KEY" in answer.json()["detail"]
