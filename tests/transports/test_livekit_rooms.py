"""LiveKit: rooms through RoomService (Twirp double), tokens, and the bot's room join."""

import asyncio
import json
import time

import pytest
from livekit import api
from pipecat.runner.types import LiveKitRunnerArguments
from pipecat.transports.livekit.transport import LiveKitTransport

from bots import get_persona
from config import Settings
from providers.errors import MissingKeyError
from transports.livekit_rooms import BOT_TOKEN_TTL, USER_TOKEN_TTL, LiveKitRooms


@pytest.fixture
def lk_settings(doubles) -> Settings:
    doubles.client.reset()
    env = doubles.env()
    return Settings(
        _env_file=None,
        livekit_url=env["LIVEKIT_URL"],
        livekit_api_key=env["LIVEKIT_API_KEY"],
        livekit_api_secret=env["LIVEKIT_API_SECRET"],
        **{k.lower(): v for k, v in env.items() if k.endswith("_API_KEY") and "LIVEKIT" not in k},
        **{k.lower(): v for k, v in env.items() if k.endswith("_BASE_URL")},
    )


def _claims(settings: Settings, token: str) -> api.access_token.Claims:
    secret = settings.livekit_api_secret.get_secret_value()
    verifier = api.TokenVerifier(settings.livekit_api_key, secret)
    return verifier.verify(token)


async def test_room_is_created_with_timeout_and_participant_cap(doubles, lk_settings):
    rooms = LiveKitRooms.from_settings(lk_settings)
    name = await rooms.create_room("call_abc", metadata={"persona": "coach"})
    assert name == "call_abc"
    [room] = [r for r in doubles.client.livekit_rooms() if r["name"] == "call_abc"]
    assert int(room["empty_timeout"]) == rooms.empty_timeout_secs
    assert int(room["max_participants"]) == rooms.max_participants
    assert json.loads(room["metadata"]) == {"persona": "coach"}
    await rooms.delete_room("call_abc")
    assert not [r for r in doubles.client.livekit_rooms() if r["name"] == "call_abc"]


async def test_wrong_secret_is_refused(lk_settings):
    rooms = LiveKitRooms.from_settings(lk_settings)
    rooms.api_secret = "not-the-secret-at-all-not-the-secret"
    with pytest.raises(api.TwirpError) as err:
        await rooms.create_room("call_x")
    assert err.value.code == "unauthenticated"


def test_user_token_is_room_scoped_short_lived_and_carries_metadata(lk_settings):
    rooms = LiveKitRooms.from_settings(lk_settings)
    token = rooms.user_token(
        "call_1", identity="user-7", name="Robin", metadata={"persona": "coach", "role": "boss"}
    )
    claims = _claims(lk_settings, token)
    assert claims.identity == "user-7" and claims.name == "Robin"
    assert claims.video.room == "call_1" and claims.video.room_join
    assert not claims.video.room_create and not claims.video.room_admin
    assert json.loads(claims.metadata) == {"persona": "coach", "role": "boss"}
    import jwt

    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["exp"] - raw["nbf"] == pytest.approx(USER_TOKEN_TTL.total_seconds(), abs=2)
    assert raw["exp"] > time.time()


def test_bot_identity_is_unique_per_token(lk_settings):
    rooms = LiveKitRooms.from_settings(lk_settings)
    first = _claims(lk_settings, rooms.bot_token("call_1", "call_1"))
    second = _claims(lk_settings, rooms.bot_token("call_1", "call_1"))
    assert first.identity != second.identity  # no DuplicateIdentity on a reconnect
    assert first.identity.startswith("bot-call_1") and first.video.room == "call_1"
    assert BOT_TOKEN_TTL > USER_TOKEN_TTL


def test_missing_livekit_settings_name_the_variable():
    with pytest.raises(MissingKeyError, match="LIVEKIT_URL"):
        LiveKitRooms.from_settings(Settings(_env_file=None))


async def test_bot_joins_the_room_with_its_url_token_and_room(doubles, lk_settings):
    from assembly.pipeline import build_call
    from assembly.run import run_call, transport_for

    rooms = LiveKitRooms.from_settings(lk_settings)
    room = await rooms.create_room("call_join")
    token = rooms.bot_token(room, "call_join")
    args = LiveKitRunnerArguments(room_name=room, url=lk_settings.livekit_url, token=token)
    persona = get_persona("assistant")
    transport, ctx = await transport_for(args, persona, lk_settings)
    assert isinstance(transport, LiveKitTransport)
    assert ctx.room == "call_join" and ctx.transport == "livekit"
    call = build_call(persona, transport, ctx, lk_settings)
    # The doubles have no SFU: the join is refused, and the call must end, not hang.
    await asyncio.wait_for(run_call(call), timeout=30)
    joins = doubles.client.livekit_joins()
    assert joins, "the bot never tried to join"
    assert all(j["valid"] and j["room"] == "call_join" and j["room_join"] for j in joins), joins
    assert {j["identity"] for j in joins} == {_claims(lk_settings, token).identity}
