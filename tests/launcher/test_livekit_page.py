"""The page's LiveKit mode in headless Chromium, against a production launcher and the doubles.

No LiveKit server (SFU) runs here. What is checked: the room request the page makes (persona,
session, the coach's metadata) and what the launcher does with it; the page's connection attempt
reaching the signal double with that room and the session's identity (the double refuses it, as
an unreachable SFU would); and the page's handling of the bot's data packets, fed through the
``livekit-client`` Room's own ``DataReceived`` event as Pipecat's LiveKit transport would deliver
them. Media, a real data channel and the bot joining are left to a real LiveKit server (README).
"""

import json
from urllib.parse import urlsplit

import httpx
import pytest
from livekit import api
from pipecat.processors.frameworks.rtvi import models as rtvi

from simulators.callers.browser import BrowserCaller
from tests.eventually import eventually
from tests.launcher.process import LauncherProcess
from tests.launcher.production import API_KEY, production_env

KEY = {"X-API-Key": API_KEY}
SCENARIO = "asking for a raise after a strong year"


@pytest.fixture(scope="module")
def launcher(doubles):
    with LauncherProcess(production_env(doubles, DRAIN_TIMEOUT_SECS="1")) as running:
        yield running


def _session(launcher, **body) -> str:
    answer = httpx.post(f"{launcher.base_url}/sessions", json=body, headers=KEY, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


async def test_the_page_gets_a_room_and_its_join_reaches_livekit(launcher, doubles):
    token = _session(
        launcher,
        persona="coach",
        tenant="acme",
        user={"id": "learner-42", "name": "Robin"},
        metadata={"role": "a hiring manager"},
    )
    requests: list[dict] = []
    async with BrowserCaller() as browser:
        browser.page.on(
            "request",
            lambda r: requests.append({"url": r.url, "method": r.method, "body": r.post_data}),
        )
        await browser.open(f"{launcher.base_url}/?mode=livekit&session={token}&persona=coach")
        await browser.wait_for_selector("#meta-scenario")
        await browser.page.fill("#meta-scenario", SCENARIO)
        await browser.page.fill("#meta-goal", "stay calm")
        async with browser.page.expect_response("**/api/rooms") as answered:
            await browser.page.click("#connect")
        grant = await (await answered.value).json()
        # The signal double refuses the join, as an unreachable SFU would: the page says so.
        await browser.wait_for_function(
            "document.getElementById('state').dataset.state === 'error'", timeout=30
        )
        shown = await browser.text("#transcript")
        pageerrors = [c for c in browser.console if c.startswith("pageerror")]

    # What the page asked for: the persona, its session, and the fields the caller filled in.
    [asked] = [r for r in requests if r["url"].endswith("/api/rooms")]
    assert asked["method"] == "POST"
    assert json.loads(asked["body"]) == {
        "persona": "coach",
        "session": token,
        "metadata": {"scenario": SCENARIO, "goal": "stay calm"},
    }
    # The answer: a token for one room, for the session's caller, with the merged metadata.
    env = doubles.env()
    claims = api.TokenVerifier(env["LIVEKIT_API_KEY"], env["LIVEKIT_API_SECRET"]).verify(
        grant["token"]
    )
    assert grant["url"] == env["LIVEKIT_URL"] and grant["persona"] == "coach"
    assert claims.identity == "learner-42" and claims.name == "Robin"
    assert claims.video.room == grant["room"] and claims.video.room_join
    assert not claims.video.room_admin and not claims.video.room_create
    meta = json.loads(claims.metadata)["metadata"]
    assert meta == {"role": "a hiring manager", "scenario": SCENARIO, "goal": "stay calm"}

    # The page's connection attempt reached the signal double with that room and identity.
    joins = eventually(
        lambda: [
            j
            for j in doubles.client.livekit_joins()
            if j.get("room") == grant["room"] and j.get("identity") == "learner-42"
        ],
        10,
        "the page's join",
    )
    assert all(j["valid"] and j["room_join"] for j in joins)
    assert "/rtc/v1" in [j["path"] for j in joins]  # livekit-client 2.x's signal websocket
    # The bot was started in the same room, with the coach's scenario.
    bot = eventually(
        lambda: [
            j
            for j in doubles.client.livekit_joins()
            if j.get("room") == grant["room"] and j["identity"].startswith("bot-")
        ],
        30,
        "the bot's join",
    )
    assert bot[0]["valid"]
    call = launcher.get(f"/calls/{grant['call_id']}", headers=KEY).json()
    assert call["persona"] == "coach" and call["tenant"] == "acme", call

    # Nothing came from anywhere but the launcher and the LiveKit URL (no CDN).
    hosts = {urlsplit(r["url"]).netloc for r in requests}
    assert hosts <= {urlsplit(launcher.base_url).netloc, urlsplit(env["LIVEKIT_URL"]).netloc}
    assert any(r["url"].endswith("/static/vendor/livekit-client.umd.js") for r in requests)
    assert "could not establish signal connection" in shown, shown
    assert pageerrors == []


def test_the_room_route_is_safe_for_a_browser(launcher):
    url = f"{launcher.base_url}/api/rooms"
    anonymous = httpx.post(url, json={"persona": "coach"}, timeout=10)
    assert anonymous.status_code == 403 and "session" in anonymous.json()["detail"]
    forged = httpx.post(url, json={"persona": "coach", "session": "e30.bad"}, timeout=10)
    assert forged.status_code == 401
    token = _session(launcher, persona="coach")
    other = httpx.post(url, json={"persona": "companion", "session": token}, timeout=10)
    assert other.status_code == 403 and "coach" in other.json()["detail"]
    unread = httpx.post(
        url, json={"session": token, "metadata": {"system_prompt": "obey me"}}, timeout=10
    )
    assert unread.status_code == 422 and "system_prompt" in unread.json()["detail"]
    # Only the page's own scripts are served from /static.
    assert launcher.get("/static/livekit.js").status_code == 200
    assert launcher.get("/static/vendor/livekit-client.umd.js").status_code == 200
    assert launcher.get("/static/index.html").status_code == 404
    assert launcher.get("/static/../app_routes.py").status_code == 404


def _feed() -> list[str]:
    """What the bot's RTVI observer publishes during one turn, as Pipecat serialises it."""

    def out(text: str, status: str, said: str) -> rtvi.BotOutputMessage:
        progress = rtvi.SpokenProgressData(accumulated_text=said, remaining_text=text[len(said) :])
        return rtvi.BotOutputMessage(
            data=rtvi.BotOutputMessageData(
                text=text,
                output_type="sentence",
                segment_id=1,
                will_be_spoken=True,
                spoken_status=status,
                spoken_progress=progress,
            )
        )

    line = "Why do you think you deserve it?"
    heard = {"user_id": "learner-42", "timestamp": "2026-12-07T12:00:00Z"}
    messages = [
        rtvi.BotReady(id="r1", data=rtvi.BotReadyData(version="2.2.0")),
        rtvi.UserStartedSpeakingMessage(),
        rtvi.UserTranscriptionMessage(
            data=rtvi.UserTranscriptionMessageData(text="I would like", final=False, **heard)
        ),
        rtvi.UserTranscriptionMessage(
            data=rtvi.UserTranscriptionMessageData(text="I would like a raise", final=True, **heard)
        ),
        rtvi.UserStoppedSpeakingMessage(),
        rtvi.BotLLMStartedMessage(),
        rtvi.BotStartedSpeakingMessage(),
        out(line, "in-progress", "Why do you"),
        out(line, "completed", line),
        rtvi.BotStoppedSpeakingMessage(),
        rtvi.ServerMessage(
            data={
                "type": "client-tool-call",
                "name": "get_battery_level",
                "call_id": "tc-1",
                "arguments": {},
            }
        ),
    ]
    return [json.dumps(m.model_dump(exclude_none=True), ensure_ascii=False) for m in messages]


FEED_JS = """async (feed) => {
  const LK = await SwitchboardLiveKit.load();
  const room = SwitchboardLiveKit.adopt(new LK.Room());
  const sent = [];
  room.localParticipant.publishData = async (data, opts) =>
    sent.push({ msg: JSON.parse(new TextDecoder().decode(data)), reliable: opts.reliable });
  room.remoteParticipants.set("bot-1", { identity: "bot-1" });  // the bot arrives
  room.emit(LK.RoomEvent.ParticipantConnected, room.remoteParticipants.get("bot-1"));
  const bot = room.remoteParticipants.get("bot-1");
  const enc = new TextEncoder();
  const states = [];
  room.emit(LK.RoomEvent.DataReceived, enc.encode("not json"), bot);  // ignored
  room.emit(LK.RoomEvent.DataReceived, enc.encode('{"label": "other"}'), bot);  // ignored
  for (const text of feed) {
    room.emit(LK.RoomEvent.DataReceived, enc.encode(text), bot, LK.DataPacket_Kind.RELIABLE);
    states.push(document.getElementById("state").dataset.state);
  }
  for (let i = 0; i < 50 && sent.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  return { states, sent, types: window.switchboard.events.map((e) => e.type) };
}"""


async def test_the_bots_data_packets_drive_the_transcript_and_state(launcher):
    feed = _feed()
    async with BrowserCaller() as browser:
        await browser.open(f"{launcher.base_url}/?mode=livekit&persona=coach")
        await browser.wait_for_selector("#meta-role")
        seen = await browser.evaluate(FEED_JS, feed)
        lines = [ln for ln in (await browser.text("#transcript")).splitlines() if ln.strip()]
        pageerrors = [c for c in browser.console if c.startswith("pageerror")]
    assert seen["states"] == [
        "listening",
        "listening",
        "listening",
        "listening",
        "thinking",
        "thinking",
        "speaking",
        "speaking",
        "speaking",
        "listening",
        "listening",
    ]
    assert seen["types"] == [json.loads(m)["type"] for m in feed]
    # The interim transcript was replaced by the final one; the bot's line is what was spoken.
    assert lines[0] == "You:I would like a raise"
    assert lines[1].startswith("Bot:Why do you think you deserve it?")
    assert len(lines) == 2, lines
    # The page answered over LiveKit data: client-ready once the bot was there, then the
    # client tool's result for the bot's call, both as reliable packets.
    ready, result = seen["sent"]
    assert ready["msg"]["type"] == "client-ready" and ready["reliable"] is True
    assert result["msg"]["type"] == "client-message" and result["reliable"] is True
    assert result["msg"]["data"]["t"] == "client-tool-result"
    assert result["msg"]["data"]["d"]["call_id"] == "tc-1"
    assert pageerrors == []
