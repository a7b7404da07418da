"""The launcher as `make run` starts it: a real server.py process on a free port."""

import pytest

from simulators.callers.twiml import parse_twiml, twilio_signature


@pytest.fixture(scope="module")
def launcher(doubles):
    from tests.launcher.process import LauncherProcess

    with LauncherProcess(doubles.env()) as running:
        yield running


def test_page_is_served_and_needs_no_cdn(launcher):
    page = launcher.get("/")
    assert page.status_code == 200
    assert "<title>Switchboard</title>" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # works offline


def test_personas_health_and_metrics(launcher):
    assert {p["name"] for p in launcher.get("/personas").json()} == {
        "receptionist",
        "coach",
        "companion",
        "assistant",
    }
    assert launcher.get("/healthz").json() == {"status": "ok"}
    metrics = launcher.get("/metrics").text
    assert "switchboard_active_calls 0.0" in metrics
    assert "switchboard_event_loop_lag_seconds_bucket" in metrics


def test_voice_webhook_streams_to_the_media_socket_with_the_persona(launcher):
    import httpx

    url = f"{launcher.base_url}/twilio/voice?persona=coach"
    form = {"From": "+15550001", "To": "+1555"}
    answer = httpx.post(url, data=form, headers=_signed(launcher, url, form))
    twiml = parse_twiml(answer.text, answer.status_code)
    call_id = twiml.parameters["call_id"]
    assert twiml.stream_url == f"{launcher.ws_url}/twilio/media/{call_id}"  # the call's own URL
    assert twiml.parameters["persona"] == "coach"
    assert twiml.parameters["from_number"] == "+15550001"
    assert twiml.parameters["call_id"].startswith("call_")


def test_unknown_persona_gets_a_spoken_apology_not_an_application_error(launcher):
    import httpx

    url = f"{launcher.base_url}/twilio/voice?persona=nobody"
    answer = httpx.post(url, data={}, headers=_signed(launcher, url, {}))
    twiml = parse_twiml(answer.text, answer.status_code)
    assert answer.status_code == 200
    assert twiml.rejected and "not configured" in twiml.say_text


def _signed(launcher, url: str, form: dict) -> dict[str, str]:
    """Twilio's signature header (the launcher checks it: TWILIO_AUTH_TOKEN is set)."""
    return {"X-Twilio-Signature": twilio_signature(launcher.env["TWILIO_AUTH_TOKEN"], url, form)}
