"""POST /rooms on LiveKit: a real launcher process, RoomService and signal doubles.

No LiveKit server runs here: the bot's join is recorded by the signal double and refused, so
each bot spends ~30 s in the SDK's retries. This module starts exactly one such bot.
"""

import json
import time

import httpx
import jwt
import pytest
from livekit import api

from tests.eventually import eventually
from tests.launcher.process import LauncherProcess
from transports.livekit_rooms import USER_TOKEN_TTL


@pytest.fixture(scope="module")
def launcher(doubles):
    with LauncherProcess({**doubles.env(), "DRAIN_TIMEOUT_SECS": "1"}) as running:
        yield running


def _claims(doubles, token: str) -> api.access_token.Claims:
    env = doubles.env()
    return api.TokenVerifier(env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]).verify(token)


def _post_room(launcher, body: dict) -> httpx.Response:
    return httpx.post(f"{launcher.base_url}/rooms", json=body, timeout=30)


@pytest.fixture(scope="module")
def room(launcher) -> dict:
    """One room request (one bot: it cannot join, and retries for a while)."""
    answer = _post_room(
        launcher,
        {
            "persona": "coach",
            "metadata": {"role": "a hiring manager", "scenario": "salary talk"},
            "user": {"id": "user-7", "name": "Robin"},
        },
    )
    assert answer.status_code == 200, answer.text
    return {**answer.json(), "requested_at": time.monotonic()}


def test_room_request_gives_a_ready_bot_in_the_room(launcher, doubles, room):
    call_id = room["call_id"]
    assert room["room"] == call_id and room["url"] == doubles.env()["LIVEKIT_URL"]
    assert room["transport"] == "livekit" and room["persona"] == "coach"
    assert 0 < room["start_latency_ms"] < 10_000
    assert f"starting {room['start_latency_ms']:.0f} ms after the room request" in launcher.log()

    # The room exists on the RoomService double, with what the bot and webhooks need.
    [made] = [r for r in doubles.client.livekit_rooms() if r["name"] == room["room"]]
    assert json.loads(made["metadata"])["persona"] == "coach"

    # The caller's token: their identity and name, one room, no admin, short-lived.
    claims = _claims(doubles, room["token"])
    assert claims.identity == "user-7" and claims.name == "Robin"
    assert claims.video.room == room["room"] and claims.video.room_join
    assert not claims.video.room_admin and not claims.video.room_create
    meta = json.loads(claims.metadata)
    assert meta["persona"] == "coach" and meta["metadata"]["scenario"] == "salary talk"
    raw = jwt.decode(room["token"], options={"verify_signature": False})
    assert raw["exp"] - raw["nbf"] == pytest.approx(USER_TOKEN_TTL.total_seconds(), abs=2)

    # The bot is a call the launcher knows, in that room.
    [listed] = [c for c in launcher.get("/calls").json() if c["call_id"] == call_id]
    assert listed["room"] == room["room"] and listed["transport"] == "livekit"
    assert listed["persona"] == "coach"

    # The bot presented its own valid token for that room, with a bot identity.
    joins = eventually(
        lambda: [j for j in doubles.client.livekit_joins() if j.get("room") == room["room"]],
        timeout=20,
        what="the bot's join",
    )
    assert all(j["valid"] and j["room_join"] for j in joins), joins
    identities = {j["identity"] for j in joins}
    assert len(identities) == 1 and identities != {"user-7"}
    assert next(iter(identities)).startswith(f"bot-{call_id}")
    assert room["token"] not in launcher.log()  # tokens are never logged


def test_a_bot_that_cannot_join_ends_its_call(launcher, room):
    # No SFU answers: the SDK gives up after ~9 s of retries; the call must then end.
    def ended():
        calls = launcher.get("/calls").json()
        return next((c for c in calls if c["call_id"] == room["call_id"] and not c["active"]), None)

    remaining = 30 - (time.monotonic() - room["requested_at"])
    assert eventually(ended, timeout=max(remaining, 1), what="the failed bot's call to end")


def test_unknown_persona_is_404_listing_the_valid_ones(launcher):
    answer = _post_room(launcher, {"persona": "nobody"})
    assert answer.status_code == 404
    detail = answer.json()["detail"]
    assert "nobody" in detail and "receptionist" in detail and "coach" in detail


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "persona"),
        ({"persona": "coach", "transport": "zoom"}, "transport"),
        ({"persona": "coach", "metadata": "not an object"}, "metadata"),
        ({"persona": "coach", "user": {"id": "has spaces"}}, "id"),
        ({"persona": "coach", "colour": "blue"}, "colour"),
    ],
)
def test_malformed_body_is_422_with_a_message(launcher, body, field):
    answer = _post_room(launcher, body)
    assert answer.status_code == 422
    errors = answer.json()["detail"]
    assert any(field in err["loc"] and err["msg"] for err in errors), errors
