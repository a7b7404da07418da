"""The carrier table, its signatures, answers and REST calls, without a running launcher."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from config import Settings
from launcher.carrier_routes import require_carrier_signature
from launcher.carrier_signature import plivo_signature, plivo_valid, signalwire_valid, telnyx_valid
from launcher.carriers import CARRIERS
from launcher.front import media_call_id
from launcher.media_tokens import TOKEN_PARAM
from simulators.callers.carrier import plivo_v3_signature, telnyx_headers
from simulators.callers.twiml import parse_twiml, twilio_signature
from simulators.doubles.config import telnyx_public_key
from tests.conftest import FAKE_KEYS
from transports.carrier_rest import CarrierRestError, hang_up, transfer

URL = "https://sb.example.com/plivo/voice?persona=receptionist&tenant=acme"
FORM = {"CallUUID": "c-1", "From": "+15550001", "To": "+15550002"}


def test_signalwire_signature_is_twilios_algorithm_with_the_signing_key():
    good = twilio_signature("PSK_key", URL, FORM)
    assert signalwire_valid("PSK_key", URL, FORM.items(), good)
    assert not signalwire_valid("PSK_other", URL, FORM.items(), good)
    assert not signalwire_valid("PSK_key", URL, FORM.items(), None)


def test_telnyx_signature_checks_key_body_and_timestamp():
    seed = base64.b64encode(b"\x01" * 32).decode()
    public = telnyx_public_key(b"\x01" * 32)
    body = b"CallSid=v3%3Aabc&From=%2B15550001"
    headers = telnyx_headers(seed, body)
    sig, ts = headers["telnyx-signature-ed25519"], headers["telnyx-timestamp"]
    assert telnyx_valid(public, body, sig, ts)
    assert not telnyx_valid(public, body + b"&To=x", sig, ts)  # body changed
    other = base64.b64encode(Ed25519PrivateKey.generate().sign(ts.encode() + b"|" + body))
    assert not telnyx_valid(public, body, other.decode(), ts)  # another key
    stale = telnyx_headers(seed, body, int(time.time()) - 600)
    stale_sig, stale_ts = stale["telnyx-signature-ed25519"], stale["telnyx-timestamp"]
    assert not telnyx_valid(public, body, stale_sig, stale_ts)  # a replay
    assert not telnyx_valid(public, body, "not base64!", ts)
    assert not telnyx_valid(public, body, None, ts)


def test_plivo_v3_signature_matches_an_independent_implementation():
    for url in (URL, "https://sb.example.com/plivo/voice"):
        ours = plivo_signature("tok", url, FORM.items(), "12345")
        assert ours == plivo_v3_signature("tok", url, FORM, "12345")
        assert plivo_valid("tok", url, FORM.items(), f"bogus,{ours}", "12345")  # candidates
        assert not plivo_valid("tok", url, FORM.items(), ours, "99999")  # another nonce
        assert not plivo_valid("other", url, FORM.items(), ours, "12345")


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
def test_each_answer_streams_to_the_carriers_media_url_with_a_token(carrier):
    spec = CARRIERS[carrier]
    params = {"persona": "receptionist", "call_id": "c-42", TOKEN_PARAM: "1.n.sig"}
    answer = parse_twiml(spec.stream(f"wss://sb.example.com/{carrier}/media/c-42", params))
    assert answer.stream_url is not None
    url = urlsplit(answer.stream_url)
    assert url.path == f"/{carrier}/media/c-42"
    carried = {k: v[0] for k, v in parse_qs(url.query).items()} or answer.parameters
    assert carried[TOKEN_PARAM] == "1.n.sig" and carried["persona"] == "receptionist"
    assert spec.params_in_url == bool(url.query)
    refusal = parse_twiml(spec.apology("Sorry & goodbye"))
    assert refusal.rejected and refusal.hangup and refusal.say_text == "Sorry & goodbye"


def test_every_carriers_stream_is_handed_over_to_its_worker():
    for carrier in ("twilio", *CARRIERS):
        head = f"GET /{carrier}/media/c-7?x=1 HTTP/1.1\r\nHost: a\r\n".encode()
        assert media_call_id(head) == "c-7"
    assert media_call_id(b"GET /exotel/media/c-7 HTTP/1.1\r\n") is None


def _signature_app(**settings: str) -> TestClient:
    app = FastAPI()
    app.state.settings = Settings(_env_file=None, **{**FAKE_KEYS, **settings})

    @app.post("/{carrier}/voice", dependencies=[Depends(require_carrier_signature)])
    async def voice(carrier: str) -> dict[str, str]:
        return {"carrier": carrier}

    return TestClient(app)


@pytest.mark.parametrize("carrier", sorted(CARRIERS))
def test_unsigned_webhooks_are_refused_in_production_without_a_key(carrier):
    client = _signature_app(env="production", public_url="https://sb.example.com")
    resp = client.post(f"/{carrier}/voice", data=FORM)
    assert resp.status_code == 403 and CARRIERS[carrier].secret_env in resp.text
    dev = _signature_app(env="development").post(f"/{carrier}/voice", data=FORM)
    assert dev.status_code == 200  # development without a key: not checked (warned once)
    assert _signature_app().post("/exotel/voice", data=FORM).status_code == 404


def test_a_signed_plivo_webhook_passes_and_a_wrong_one_does_not():
    client = _signature_app(public_url="https://sb.example.com", plivo_auth_token="tok")
    url = "https://sb.example.com/plivo/voice?persona=receptionist"
    sig = plivo_v3_signature("tok", url, FORM, "777")
    headers = {"X-Plivo-Signature-V3": sig, "X-Plivo-Signature-V3-Nonce": "777"}
    assert client.post("/plivo/voice?persona=receptionist", data=FORM, headers=headers).is_success
    headers["X-Plivo-Signature-V3-Nonce"] = "778"
    resp = client.post("/plivo/voice?persona=receptionist", data=FORM, headers=headers)
    assert resp.status_code == 403


def _rest_settings(doubles) -> Settings:
    env = doubles.env()
    names = (
        "SIGNALWIRE_SPACE_URL SIGNALWIRE_PROJECT_ID SIGNALWIRE_API_TOKEN TELNYX_API_KEY "
        "TELNYX_API_BASE_URL PLIVO_AUTH_ID PLIVO_AUTH_TOKEN PLIVO_API_BASE_URL"
    ).split()
    return Settings(_env_file=None, **FAKE_KEYS, **{n.lower(): env[n] for n in names})


async def test_rest_hang_up_and_transfer_reach_each_carriers_double(doubles):
    doubles.client.reset()
    settings = _rest_settings(doubles)
    await transfer(settings, "telnyx", "v3:call-1", "+15550009")
    await hang_up(settings, "telnyx", "v3:call-1")  # already transferred: 422, fine
    await transfer(settings, "plivo", "uuid-2", "+15550009")
    await hang_up(settings, "plivo", "uuid-3")
    await hang_up(settings, "plivo", "uuid-3")  # already ended: 404, fine
    await transfer(settings, "signalwire", "sw-4", "+15550009")
    seen = [(r["carrier"], r["method"], r["status"]) for r in doubles.client.carrier_requests()]
    assert seen == [
        ("telnyx", "POST", 200),
        ("telnyx", "POST", 422),
        ("plivo", "POST", 202),
        ("plivo", "DELETE", 204),
        ("plivo", "DELETE", 404),
    ]
    telnyx_transfer, _, plivo_transfer = doubles.client.carrier_requests()[:3]
    assert telnyx_transfer["body"] == {"to": "+15550009"}
    assert plivo_transfer["body"]["legs"] == "aleg"
    assert plivo_transfer["body"]["aleg_url"].endswith("/plivo/dial?to=%2B15550009")
    laml = [r for r in doubles.client.twilio_requests() if r["path"].startswith("/api/laml/")]
    assert len(laml) == 1 and "<Dial>+15550009</Dial>" in laml[0]["form"]["Twiml"]


async def test_rest_with_wrong_credentials_is_an_error(doubles):
    settings = _rest_settings(doubles).model_copy(
        update={"telnyx_api_key": None, "plivo_auth_id": "MAWRONG"}
    )
    with pytest.raises(CarrierRestError, match="TELNYX_API_KEY"):
        await hang_up(settings, "telnyx", "v3:x")
    with pytest.raises(CarrierRestError, match="401"):
        await hang_up(settings, "plivo", "uuid-x")


def test_plivo_transfer_target_says_the_announcement_then_dials():
    from launcher.carrier_routes import router

    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    answer = parse_twiml(
        client.get("/plivo/dial", params={"to": "+15550009", "say": "Hold on"}).text
    )
    assert answer.say_text == "Hold on" and "<Number>+15550009</Number>" in answer.body
    assert client.get("/plivo/dial", params={"to": "sip:evil"}).status_code == 400


def test_stream_queries_stay_out_of_uvicorn_log_lines():
    import logging

    from launcher.carrier_routes import RedactStreamQueries

    path = "/telnyx/media/c-1?persona=r&from_number=%2B1555&media_token=1.a.b"
    record = logging.LogRecord(
        "uvicorn.error", 20, "", 0, '%s - "WebSocket %s" [accepted]', ("1.2.3.4", path), None
    )
    RedactStreamQueries().filter(record)
    assert record.getMessage() == '1.2.3.4 - "WebSocket /telnyx/media/c-1?[redacted]" [accepted]'
