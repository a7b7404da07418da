"""Twilio hang-up, LiveKit RoomService and Daily REST against their doubles."""

from __future__ import annotations

import aiohttp
import pytest
from livekit import api
from pipecat.frames.frames import EndFrame
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.daily.utils import DailyRESTHelper, DailyRoomParams


async def test_twilio_hang_up_then_already_completed(doubles):
    env = doubles.env()
    call_sid = "CA" + "1" * 32

    def serializer(token: str) -> TwilioFrameSerializer:
        return TwilioFrameSerializer(
            "MZ" + "2" * 32,
            call_sid,
            account_sid=env["TWILIO_ACCOUNT_SID"],
            auth_token=token,
            base_url=env["TWILIO_API_BASE_URL"],
        )

    await serializer("wrong-token").serialize(EndFrame())
    await serializer(env["TWILIO_AUTH_TOKEN"]).serialize(EndFrame())
    await serializer(env["TWILIO_AUTH_TOKEN"]).serialize(EndFrame())
    requests = await doubles.client.atwilio_requests()
    assert [r["status"] for r in requests] == [401, 200, 404]
    assert all(r["form"] == {"Status": "completed"} for r in requests)
    assert requests[1]["path"].endswith(f"/Calls/{call_sid}.json")

    auth = aiohttp.BasicAuth(env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
    url = f"{env['TWILIO_API_BASE_URL']}/2010-04-01/Accounts/{env['TWILIO_ACCOUNT_SID']}/Calls.json"
    async with aiohttp.ClientSession(auth=auth) as http:
        form = {"To": "+15550001111", "From": "+15550002222", "Twiml": "<Response/>"}
        async with http.post(url, data=form) as resp:
            assert resp.status == 201
            created = await resp.json()
    assert created["sid"].startswith("CA") and created["status"] == "queued"


async def test_livekit_room_service(doubles):
    env = doubles.env()
    lk = api.LiveKitAPI(
        env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"], failover=False
    )
    try:
        room = await lk.room.create_room(
            api.CreateRoomRequest(
                name="call-123", empty_timeout=30, max_participants=2, metadata="m"
            )
        )
        assert room.name == "call-123" and room.sid.startswith("RM_")
        listed = await lk.room.list_rooms(api.ListRoomsRequest())
        assert [r.name for r in listed.rooms] == ["call-123"]
        assert listed.rooms[0].max_participants == 2 and listed.rooms[0].metadata == "m"
        assert (await doubles.client.alivekit_rooms())[0]["empty_timeout"] == 30
        await lk.room.delete_room(api.DeleteRoomRequest(room="call-123"))
        assert not (await lk.room.list_rooms(api.ListRoomsRequest())).rooms
    finally:
        await lk.aclose()

    bad = api.LiveKitAPI(env["LIVEKIT_URL"], env["LIVEKIT_API_KEY"], "x" * 40, failover=False)
    try:
        with pytest.raises(api.TwirpError) as err:
            await bad.room.list_rooms(api.ListRoomsRequest())
        assert err.value.code == "unauthenticated" and err.value.status == 401
    finally:
        await bad.aclose()


async def test_daily_rooms_and_tokens(doubles):
    env = doubles.env()
    async with aiohttp.ClientSession() as http:
        daily = DailyRESTHelper(
            daily_api_key=env["DAILY_API_KEY"],
            daily_api_url=env["DAILY_API_URL"],
            aiohttp_session=http,
        )
        room = await daily.create_room(DailyRoomParams(name="support-1"))
        assert room.name == "support-1" and room.url.endswith("/support-1")
        token = await daily.get_token(room.url)
        assert token.count(".") == 2
        assert (await daily.get_room_from_url(room.url)).id == room.id
        assert await daily.delete_room_by_name("support-1")
        assert not await doubles.client.adaily_rooms()
        bad = DailyRESTHelper(
            daily_api_key="nope", daily_api_url=env["DAILY_API_URL"], aiohttp_session=http
        )
        with pytest.raises(Exception, match="401"):
            await bad.create_room(DailyRoomParams())
