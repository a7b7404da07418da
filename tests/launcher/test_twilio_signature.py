"""X-Twilio-Signature on every Twilio webhook, computed over PUBLIC_URL (a launcher behind a proxy).

The launcher listens on 127.0.0.1 but believes it is https://voice.example.com, as it would behind
a TLS-terminating proxy: Twilio signs the public URL, so that is the URL that must verify.
"""

import httpx
import pytest

from simulators.callers.twiml import parse_twiml, twilio_signature, voice_webhook_form

PUBLIC = "https://voice.example.com"
FLEET = "https://fleet.example.com"  # a fleet's shared address, in front of every host


@pytest.fixture(scope="module")
def launcher(doubles):
    from tests.launcher.process import LauncherProcess

    env = {**doubles.env(), "PUBLIC_URL": PUBLIC, "FLEET_PUBLIC_URL": FLEET}
    with LauncherProcess(env) as running:
        yield running


@pytest.fixture
def token(doubles) -> str:
    return doubles.env()["TWILIO_AUTH_TOKEN"]


def _post(launcher, path: str, form: dict, signature: str | None) -> httpx.Response:
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return httpx.post(f"{launcher.base_url}{path}", data=form, headers=headers, timeout=10)


def _form() -> dict[str, str]:
    return voice_webhook_form("CA" + "1" * 32, "AC" + "2" * 32, "+15005550006", "+15005550001")


def test_signed_over_the_public_url_passes(launcher, token):
    form = _form()
    signature = twilio_signature(token, f"{PUBLIC}/twilio/voice?persona=coach", form)
    answer = _post(launcher, "/twilio/voice?persona=coach", form, signature)
    twiml = parse_twiml(answer.text, answer.status_code)
    assert answer.status_code == 200, answer.text
    assert twiml.stream_url.startswith("wss://voice.example.com/twilio/media/")
    assert twiml.parameters["persona"] == "coach"
    assert twiml.parameters["media_token"]


def test_signed_over_the_fleets_shared_url_passes(launcher, token):
    """A fleet's Twilio number points at its load balancer, not at one host."""
    form = _form()
    signature = twilio_signature(token, f"{FLEET}/twilio/voice?persona=coach", form)
    answer = _post(launcher, "/twilio/voice?persona=coach", form, signature)
    assert answer.status_code == 200, answer.text
    # The media still goes straight to this host.
    assert parse_twiml(answer.text, 200).stream_url.startswith("wss://voice.example.com/")


def test_signed_over_the_local_url_is_refused(launcher, token):
    form = _form()
    signature = twilio_signature(token, f"{launcher.base_url}/twilio/voice", form)
    assert _post(launcher, "/twilio/voice", form, signature).status_code == 403


def test_bad_or_missing_signature_is_refused(launcher, token):
    form = _form()
    good = twilio_signature(token, f"{PUBLIC}/twilio/voice", form)
    assert _post(launcher, "/twilio/voice", form, None).status_code == 403
    assert _post(launcher, "/twilio/voice", form, "").status_code == 403
    forged = twilio_signature("not-the-token", f"{PUBLIC}/twilio/voice", form)
    assert _post(launcher, "/twilio/voice", form, forged).status_code == 403
    tampered = {**form, "To": "+15009999999"}  # signed form, changed in flight
    assert _post(launcher, "/twilio/voice", tampered, good).status_code == 403
    # the query string is signed too: the persona cannot be swapped
    assert _post(launcher, "/twilio/voice?persona=coach", form, good).status_code == 403
    assert _post(launcher, "/twilio/voice", form, good).status_code == 200


def test_status_callback_needs_a_signature_too(launcher, token):
    form = {"CallSid": "CA" + "3" * 32, "CallStatus": "ringing", "AccountSid": "AC" + "2" * 32}
    assert _post(launcher, "/twilio/status", form, None).status_code == 403
    signature = twilio_signature(token, f"{PUBLIC}/twilio/status", form)
    assert _post(launcher, "/twilio/status", form, signature).status_code == 204
    assert launcher.get(f"/twilio/calls/{form['CallSid']}").json()["status"] == "ringing"


def test_unknown_persona_is_a_spoken_apology_with_a_hangup(launcher, token):
    form = _form()
    signature = twilio_signature(token, f"{PUBLIC}/twilio/voice?persona=nobody", form)
    answer = _post(launcher, "/twilio/voice?persona=nobody", form, signature)
    twiml = parse_twiml(answer.text, answer.status_code)
    assert answer.status_code == 200
    assert twiml.rejected and twiml.hangup and "not configured" in twiml.say_text


def test_refusals_are_logged_without_secrets(launcher, token):
    log = launcher.log()
    assert "X-Twilio-Signature (403)" in log
    assert token not in log
    assert "5550006" not in log  # numbers are masked to their last four digits
