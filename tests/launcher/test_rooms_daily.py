"""POST /rooms with ``transport: "daily"``: room and meeting tokens from the Daily REST double.

The double's room URLs are never dialled, so the bot cannot join; only what it was handed is
checked here (and that the launcher lists the call).
"""

import time

import httpx
import jwt
import pytest

from tests.eventually import eventually
from tests.launcher.process import LauncherProcess
from transports.daily_rooms import USER_TOKEN_TTL_SECS


@pytest.fixture(scope="module")
def launcher(doubles):
    with LauncherProcess({**doubles.env(), "DRAIN_TIMEOUT_SECS": "1"}) as running:
        yield running


def _decode(doubles, token: str) -> dict:
    return jwt.decode(token, doubles.env()["DAILY_API_KEY"], algorithms=["HS256"])


def test_daily_room_comes_from_the_rest_api_with_tokens_and_a_bot(launcher, doubles):
    answer = httpx.post(
        f"{launcher.base_url}/rooms",
        json={
            "persona": "companion",
            "transport": "daily",
            "metadata": {"goal": "walk daily"},
            "user": {"id": "u-42", "name": "Sam"},
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    room = answer.json()
    assert room["transport"] == "daily" and room["room"] == room["call_id"]
    assert room["start_latency_ms"] > 0

    [made] = [r for r in doubles.client.daily_rooms() if r["name"] == room["room"]]
    assert made["url"] == room["url"] and made["privacy"] == "private"
    assert made["config"]["exp"] > time.time() and made["config"]["eject_at_room_exp"]
    assert made["config"]["max_participants"] >= 2

    user = _decode(doubles, room["token"])  # the caller: this room, not an owner, short-lived
    assert user["r"] == room["room"] and user["o"] is False
    assert user["exp"] - time.time() == pytest.approx(USER_TOKEN_TTL_SECS, abs=10)

    [call] = [c for c in launcher.get("/calls").json() if c["call_id"] == room["call_id"]]
    assert call["transport"] == "daily" and call["persona"] == "companion" and call["active"]
    eventually(  # the bot goes for the room it was given (it starts within ~50 ms)
        lambda: f"Joining {room['url']}" in launcher.log(),
        timeout=5,
        what=f"the bot joining {room['url']} in the log",
        every=0.05,
    )
    assert room["token"] not in launcher.log()
