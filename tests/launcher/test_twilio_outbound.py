"""Outbound calls through the Twilio REST double, and Twilio's status callbacks."""

import httpx
import pytest

from simulators.callers.twiml import fetch_twiml, random_sid, twilio_signature, voice_webhook_form

CALLER_ID = "+15005550006"
API_KEY = "outbound-test-api-key-0123456789"


@pytest.fixture(scope="module")
def launcher(doubles):
    from tests.launcher.process import LauncherProcess

    with LauncherProcess({**doubles.env(), "TWILIO_CALLER_ID": CALLER_ID}) as running:
        yield running


def _created_calls(doubles) -> list[dict]:
    return [
        r
        for r in doubles.client.twilio_requests()
        if r["method"] == "POST" and r["path"].endswith("/Calls.json")
    ]


def _status(launcher, doubles, form: dict[str, str]) -> httpx.Response:
    url = f"{launcher.base_url}/twilio/status"
    signature = twilio_signature(doubles.env()["TWILIO_AUTH_TOKEN"], url, form)
    return httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)


async def test_outbound_call_is_placed_through_twilio_and_runs_the_persona(launcher, doubles):
    env = doubles.env()
    before = len(_created_calls(doubles))
    resp = httpx.post(
        f"{launcher.base_url}/calls/outbound",
        json={"to": "+15005550009", "persona": "coach"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["call_sid"].startswith("CA") and body["status"] == "queued"
    assert body["call_id"].startswith("call_")
    created = _created_calls(doubles)[before:]
    assert len(created) == 1 and created[0]["status"] == 201  # the double checks Basic auth
    sent = created[0]
    assert env["TWILIO_ACCOUNT_SID"] in sent["path"]
    assert sent["form"]["To"] == "+15005550009" and sent["form"]["From"] == CALLER_ID
    assert sent["form"]["Url"] == f"{launcher.base_url}/twilio/voice?persona=coach"
    assert sent["form"]["StatusCallback"] == f"{launcher.base_url}/twilio/status"

    # The callee answers: Twilio fetches the Url it was given, signed, with the same CallSid.
    form = voice_webhook_form(
        body["call_sid"], env["TWILIO_ACCOUNT_SID"], CALLER_ID, "+15005550009"
    )
    twiml = await fetch_twiml(sent["form"]["Url"], form, env["TWILIO_AUTH_TOKEN"])
    assert twiml.parameters["persona"] == "coach"
    assert twiml.parameters["call_id"] == body["call_id"]

    # Then it reports progress to the StatusCallback.
    done = {"CallSid": body["call_sid"], "CallStatus": "completed", "CallDuration": "12"}
    assert _status(launcher, doubles, {**done, "SequenceNumber": "1"}).status_code == 204
    entry = launcher.get(f"/twilio/calls/{body['call_sid']}").json()
    assert entry["call_id"] == body["call_id"] and entry["persona"] == "coach"
    assert entry["status"] == "completed" and entry["duration"] == "12"


def test_status_callbacks_keep_latest_and_history(launcher, doubles):
    sid = random_sid("CA")
    for seq, status in enumerate(("initiated", "ringing", "in-progress", "completed")):
        form = {"CallSid": sid, "CallStatus": status, "SequenceNumber": str(seq)}
        form["Timestamp"] = "Fri, 20 Nov 2026 12:00:00 +0000"
        assert _status(launcher, doubles, form).status_code == 204
    entry = launcher.get(f"/twilio/calls/{sid}").json()
    assert entry["status"] == "completed"
    assert [e["status"] for e in entry["history"]] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert entry["timestamp"].startswith("Fri, 20 Nov 2026")
    assert sid in {e["call_sid"] for e in launcher.get("/twilio/calls").json()}
    assert launcher.get(f"/twilio/calls/{random_sid('CA')}").status_code == 404
    assert _status(launcher, doubles, {"CallStatus": "ringing"}).status_code == 400
    assert f"twilio status {sid}" in launcher.log()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"to": "5550009"}, 422, "E.164"),
        ({"to": "+1 555 0009"}, 422, "E.164"),
        ({"persona": "coach"}, 422, "Field required"),
        ({"to": "+15005550009", "persona": "nobody"}, 404, "valid personas"),
    ],
)
def test_bad_requests_say_what_is_wrong(launcher, doubles, body, status, message):
    before = len(_created_calls(doubles))
    resp = httpx.post(f"{launcher.base_url}/calls/outbound", json=body, timeout=10)
    assert resp.status_code == status, resp.text
    assert message in resp.text
    assert len(_created_calls(doubles)) == before


def test_production_needs_the_api_key_and_a_caller_id(launcher_factory, doubles):
    launcher = launcher_factory(
        ENV="production",
        SWITCHBOARD_API_KEY=API_KEY,
        MEDIA_TOKEN_SECRET="media-token-secret-0123456789",
        TWILIO_CALLER_ID="",
    )
    url = f"{launcher.base_url}/calls/outbound"
    call = {"to": "+15005550009", "persona": "coach"}
    assert httpx.post(url, json=call, timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer not-the-key"}
    assert httpx.post(url, json=call, headers=wrong, timeout=10).status_code == 401
    resp = httpx.post(url, json=call, headers={"X-API-Key": API_KEY}, timeout=10)
    assert resp.status_code == 503 and "TWILIO_CALLER_ID" in resp.text
    log = launcher.log()
    # The log is there: an empty one would pass the absence checks below.
    assert '"POST /calls/outbound HTTP/1.1" 503' in log, log[-3000:]
    assert API_KEY not in log
