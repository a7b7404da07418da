"""Who gets in: API keys in production, refused placeholder secrets, body limits, CORS."""

import httpx
import pytest

from tests.launcher.process import LauncherProcess
from tests.launcher.production import API_KEY, PRODUCTION, production_env


@pytest.fixture(scope="module")
def production(doubles):
    with LauncherProcess(production_env(doubles)) as running:
        yield running


def test_management_api_needs_the_key_in_production(production):
    assert production.get("/calls").status_code == 401
    assert production.get("/calls", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert production.get("/calls", headers={"Authorization": f"Bearer {API_KEY}"}).json() == []
    assert production.get("/calls", headers={"X-API-Key": API_KEY}).status_code == 200
    assert production.get("/healthz").status_code == 200  # probes stay open


def test_oversized_body_is_refused_before_it_is_read(production):
    response = httpx.post(f"{production.base_url}/api/offer", content=b"x" * 10_000)
    assert response.status_code == 413
    assert "larger than 4096 bytes" in response.json()["detail"]


def test_malformed_body_gets_422_with_a_message(production):
    response = httpx.post(f"{production.base_url}/api/offer", json={"sdp": 5})
    assert response.status_code == 422
    fields = {tuple(err["loc"]) for err in response.json()["detail"]}
    assert ("body", "type") in fields  # the missing field is named


def test_cors_allows_only_configured_origins(production):
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            f"{production.base_url}/calls",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )

    assert preflight("https://app.example.com").headers.get("access-control-allow-origin") == (
        "https://app.example.com"
    )
    assert "access-control-allow-origin" not in preflight("https://evil.example").headers


def test_secrets_never_reach_the_logs(production, doubles):
    production.get("/calls", headers={"Authorization": f"Bearer {API_KEY}"})
    log = production.log()
    # The log is there and did record requests (an empty log would pass the check below).
    assert "launcher ready" in log and "/calls" in log, log[-2000:]
    for secret in (API_KEY, PRODUCTION["MEDIA_TOKEN_SECRET"], doubles.env()["TWILIO_AUTH_TOKEN"]):
        assert secret not in log


@pytest.mark.parametrize("placeholder", ["", "changeme", "short"])
def test_placeholder_secrets_refuse_to_start_in_production(doubles, placeholder):
    env = {**doubles.env(), **PRODUCTION, "SWITCHBOARD_API_KEY": placeholder}
    with pytest.raises(RuntimeError, match="SWITCHBOARD_API_KEY"):
        LauncherProcess(env, startup_timeout=30).start()
