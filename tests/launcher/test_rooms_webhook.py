"""POST /livekit/webhook: signed events from LiveKit start a bot per SIP caller and end it.

Requests are signed the way LiveKit signs them: a JWT made with the API key and secret that
carries the base64 sha256 of the raw body. One SIP bot is started (it cannot join: no SFU).
"""

import base64
import hashlib
import json
import time

import httpx
import pytest
from google.protobuf.json_format import MessageToJson
from livekit import api
from livekit.protocol import models
from livekit.protocol.webhook import WebhookEvent

from config import Settings
from launcher.livekit_webhook import sip_persona
from tests.eventually import eventually
from tests.launcher.process import LauncherProcess

TRUNK = "+15550100"
CALLER = "+15557654321"


@pytest.fixture(scope="module")
def launcher(doubles):
    env = {
        **doubles.env(),
        "PHONE_PERSONAS": json.dumps({TRUNK: "receptionist"}),
        "DRAIN_TIMEOUT_SECS": "1",
    }
    with LauncherProcess(env) as running:
        yield running


def _event(kind: str, room: str, **fields) -> WebhookEvent:
    return WebhookEvent(
        event=kind,
        id=f"EV_{time.monotonic_ns()}",
        created_at=int(time.time()),
        room=models.Room(name=room, sid=f"RM_{room}", metadata=fields.pop("metadata", "")),
        **fields,
    )


def _sip_caller(room: str) -> WebhookEvent:
    participant = models.ParticipantInfo(
        sid="PA_sip",
        identity=f"sip_{CALLER}",
        kind=models.ParticipantInfo.Kind.SIP,
        attributes={
            "sip.phoneNumber": CALLER,
            "sip.trunkPhoneNumber": TRUNK,
            "sip.callID": "SCL_123",
        },
    )
    return _event("participant_joined", room, participant=participant)


def _send(launcher, doubles, event: WebhookEvent, *, secret: str | None = None, body=None):
    env = doubles.env()
    raw = body if body is not None else MessageToJson(event)
    digest = base64.b64encode(hashlib.sha256(MessageToJson(event).encode()).digest()).decode()
    token = (
        api.AccessToken(env["LIVEKIT_API_KEY"], secret or env["LIVEKIT_API_SECRET"])
        .with_sha256(digest)
        .to_jwt()
    )
    return httpx.post(
        f"{launcher.base_url}/livekit/webhook",
        content=raw.encode(),
        headers={"Authorization": token, "Content-Type": "application/webhook+json"},
        timeout=30,
    )


def _call(launcher, call_id: str) -> dict:
    return next(c for c in launcher.get("/calls").json() if c["call_id"] == call_id)


def test_bad_or_missing_signature_is_401(launcher, doubles):
    event = _sip_caller("room_forged")
    wrong = _send(launcher, doubles, event, secret="not-the-secret-not-the-secret-at-all")
    assert wrong.status_code == 401
    tampered = _send(launcher, doubles, event, body=MessageToJson(_sip_caller("room_other")))
    assert tampered.status_code == 401
    unsigned = httpx.post(f"{launcher.base_url}/livekit/webhook", content=MessageToJson(event))
    assert unsigned.status_code == 401
    assert not [
        c for c in launcher.get("/calls").json() if c["room"] in ("room_forged", "room_other")
    ]


def test_sip_caller_gets_one_bot_with_the_numbers_and_room_finished_ends_it(launcher, doubles):
    room = "sip_room_1"
    first = _send(launcher, doubles, _sip_caller(room))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "started"
    call_id = first.json()["call_id"]

    again = _send(launcher, doubles, _sip_caller(room))  # LiveKit retries deliveries
    assert again.json() == {"status": "already_running", "call_id": call_id, "room": room}
    ours = [c for c in launcher.get("/calls").json() if c["room"] == room]
    assert len(ours) == 1

    call = ours[0]
    assert call["persona"] == "receptionist"  # PHONE_PERSONAS by the trunk number
    assert call["caller_number"] == CALLER and call["called_number"] == TRUNK
    assert call["transport"] == "livekit" and call["active"]

    joins = eventually(
        lambda: [j for j in doubles.client.livekit_joins() if j.get("room") == room],
        timeout=20,
        what="the bot to try to join",
        every=0.25,
    )
    assert all(j["valid"] and j["room_join"] for j in joins), joins
    assert {j["identity"] for j in joins} == {joins[0]["identity"]}
    assert joins[0]["identity"].startswith(f"bot-{call_id}")

    finished = _send(launcher, doubles, _event("room_finished", room))
    assert finished.json() == {"status": "ending", "call_id": call_id, "room": room}
    eventually(
        lambda: not _call(launcher, call_id)["active"],
        timeout=30,
        what="room_finished to end the call",
        every=0.25,
    )
    assert _call(launcher, call_id)["end_reason"] == "room_finished"
    assert _send(launcher, doubles, _event("room_finished", room)).json()["status"] == "ignored"


def test_other_participants_and_events_are_acknowledged_and_ignored(launcher, doubles):
    person = models.ParticipantInfo(identity="user-1", kind=models.ParticipantInfo.Kind.STANDARD)
    joined = _send(launcher, doubles, _event("participant_joined", "room_web", participant=person))
    assert joined.json()["status"] == "ignored"
    started = _send(launcher, doubles, _event("room_started", "room_web"))
    assert started.json() == {"status": "ignored", "event": "room_started"}


def test_sip_persona_prefers_room_metadata_then_trunk_then_default():
    settings = Settings(_env_file=None, phone_personas={TRUNK: "receptionist"})
    assert sip_persona(settings, {"persona": "coach"}, TRUNK) == "coach"
    assert sip_persona(settings, {}, TRUNK) == "receptionist"
    assert sip_persona(settings, {}, "+1999") == settings.default_persona
