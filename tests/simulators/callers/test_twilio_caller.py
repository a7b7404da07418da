import asyncio
import json
import time
from contextlib import asynccontextmanager

import numpy as np
import pytest

from simulators.callers.audio import speech_pcm, trim_silence
from simulators.callers.fake_bot import FakeBotConfig, fake_bot_app
from simulators.callers.listen import PhraseListener
from simulators.callers.pipecat_echo import pipecat_echo_app
from simulators.callers.script import (
    BargeIn,
    HangUp,
    Say,
    SendDigits,
    Wait,
    WaitForBotSilence,
    WaitForBotSpeech,
)
from simulators.callers.server import serve_app, serve_app_in_thread
from simulators.callers.twilio import TwilioCaller

pytestmark = pytest.mark.serial  # playout gaps and clear latency in tens of ms

GREETING = "Hello, how can I help you?"
REQUEST = "I would like to book an appointment for tomorrow"
REPLY = "Please cancel my appointment"
LONG_REPLY = "I can book an appointment for tomorrow morning or tomorrow afternoon"


@pytest.fixture(scope="module")
def listener():
    return PhraseListener([GREETING, REQUEST, REPLY])


def voice(text: str) -> np.ndarray:
    return trim_silence(speech_pcm(text, 8000), 8000)


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


async def test_against_real_pipecat_twilio_serializer_echo(listener):
    app, log = pipecat_echo_app()
    async with serve_app(app) as base:
        caller = TwilioCaller(ws_url(base), custom_parameters={"persona": "echo", "lang": "en"})
        result = await caller.run([Wait(0.4), Say(REQUEST), Wait(1.2)])

    assert result.connected and not result.hung_up_by_bot and result.errors == []
    # What pipecat parsed from our `start` message
    transport_type, call_data = log.calls[0]
    assert transport_type == "twilio"
    assert call_data["call_id"] == caller.call_sid and call_data["stream_id"] == caller.stream_sid
    assert call_data["body"] == {"persona": "echo", "lang": "en"}
    # Message sequence: connected, start, media..., stop
    sent = result.events("sent")
    assert sent[:2] == ["connected", "start"] and sent[-1] == "stop"
    assert set(sent[2:-1]) == {"media"} and len(sent) - 3 == result.sent_media
    start = next(m.data for m in result.messages if m.event == "start")
    assert start["start"]["mediaFormat"] == {
        "encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1,
    }
    # Real-time pacing: N media frames take N x 20 ms
    times = result.sent_media_times
    span = times[-1] - times[0]
    assert abs(span - (len(times) - 1) * 0.02) < 0.05, span
    assert abs(result.duration_secs - result.sent_media * 0.02) < 0.2
    # The echo came back through the serializer as media for our stream
    assert {m.data["streamSid"] for m in result.messages if m.event == "clear"} <= {
        caller.stream_sid
    }
    assert result.received_media > 0 and result.bot_audio_received_secs > 2.0
    (echo,) = result.bot_utterances
    turn = result.turns[0]
    assert abs(echo.start - turn.start) < 0.15  # echo delay is a few ms
    assert listener.heard(echo.pcm, 8000) == REQUEST
    # an echo cannot run ahead of the caller, so scheduling jitter shows up as small gaps
    assert result.max_gap_secs < 0.2
    json.dumps(result.to_dict(include_messages=True))


async def test_webhook_turn_latency_gaps_and_marks(listener):
    cfg = FakeBotConfig(
        greeting=voice(GREETING), greeting_delay=0.3, reply=voice(REPLY),
        hangover=0.3, reply_delay=0.4, stall_after=0.6, stall=0.4, lead=0.1,
    )
    app, log = fake_bot_app(cfg)
    async with serve_app(app) as base:
        caller = TwilioCaller(
            webhook_url=base + "/twilio/voice", auth_token=cfg.auth_token,
            from_number="+14155550100", custom_parameters={"extra": "1"},
        )
        result = await caller.run([
            WaitForBotSilence(timeout=6, quiet=0.5),
            Say(REQUEST),
            WaitForBotSpeech(timeout=5),
            WaitForBotSilence(timeout=6, quiet=0.5),
            SendDigits("12"),
        ])

    assert log.signature_ok == [True] and log.webhooks[0]["From"] == "+14155550100"
    assert log.webhooks[0]["CallSid"] == caller.call_sid
    assert result.twiml is not None and result.ws_url == ws_url(base)
    assert result.custom_parameters == {
        "persona": "fake", "from_number": "+14155550100", "extra": "1",
    }
    assert result.errors == [], result.errors
    # The bot side saw a proper stream
    bot_events = [e for _, e, _ in log.received]
    assert bot_events[:2] == ["connected", "start"] and bot_events[-1] == "stop"
    assert [m["dtmf"]["digit"] for _, e, m in log.received if e == "dtmf"] == ["1", "2"]
    media_t = [t for t, e, _ in log.received if e == "media"]
    assert abs((media_t[-1] - media_t[0]) - (len(media_t) - 1) * 0.02) < 0.06

    greeting, reply = result.bot_utterances
    assert abs(result.time_to_first_audio_secs - 0.3) < 0.05
    # The greeting's first byte arrives 0.3 s after start too, and never after its voice.
    assert abs(result.time_to_first_bot_byte_secs - 0.3) < 0.05
    assert result.time_to_first_bot_byte_secs <= result.time_to_first_audio_secs
    assert greeting.max_gap_secs < 0.06  # the 0.1 s lead absorbs scheduling jitter
    (v2v,) = result.voice_to_voice_secs
    assert abs(v2v - (0.3 + 0.4)) < 0.06, v2v
    assert result.turns[0].reply_utterance == 1
    # The injected stall (0.4 s, minus the bot's 0.1 s lead) is the one long underrun,
    # 0.6 s into the reply
    long_gaps = [(at, d) for at, d in reply.gaps if d > 0.2]
    assert len(long_gaps) == 1 and abs(long_gaps[0][1] - 0.3) < 0.05
    assert abs(long_gaps[0][0] - reply.start - 0.6) < 0.05
    assert result.gaps_over_threshold >= 1 and abs(result.max_gap_secs - 0.3) < 0.05
    # Marks come back once the audio before them has been played out
    assert [m.name for m in result.marks] == ["greeting", "reply-1"]
    for mark, utt in zip(result.marks, result.bot_utterances, strict=True):
        assert mark.answered_at is not None and utt.end - 0.05 <= mark.answered_at < utt.end + 0.2
    # What the caller heard
    assert [listener.heard(u.pcm, 8000) for u in result.bot_utterances] == [GREETING, REPLY]
    assert len(result.bot_audio) / 8000 >= reply.end
    json.dumps(result.to_dict())


async def test_barge_in_clear_and_buffered_playout():
    greeting = voice(GREETING)
    cfg = FakeBotConfig(
        greeting=greeting, greeting_delay=0.2, reply=voice(LONG_REPLY), pace=2.0,
        reply_delay=0.2, barge_in_frames=3,
    )
    app, _ = fake_bot_app(cfg)
    async with serve_app(app) as base:
        result = await TwilioCaller(ws_url(base)).run([
            WaitForBotSilence(timeout=6, quiet=0.4),
            Say("Please cancel my appointment"),
            BargeIn("stop", after_bot_audio_secs=0.8, timeout=5),
            Wait(1.5),
        ])

    assert result.errors == [], result.errors
    # At 2x send speed the greeting's mark arrives early but is answered after playout
    g_mark = result.marks[0]
    played = len(greeting) / 8000
    assert abs(g_mark.answered_at - g_mark.received_at - played / 2) < 0.12
    (barge,) = result.barge_ins
    assert barge.bot_speaking and barge.clear_latency_secs is not None
    # The fake bot clears after 3 caller frames (60 ms of audio). A caller catching up after a
    # stall of its own sends them faster than real time (31.6 ms seen once in make test's serial
    # phase), so the lower bound only proves the clear came after the barge-in began.
    assert 0.02 <= barge.clear_latency_secs < 0.15, (barge, result.caller_stalls)
    interrupted = result.bot_utterances[1]
    assert interrupted.truncated_by_clear
    assert 0.78 <= barge.start - interrupted.start < 0.95  # ~after_bot_audio_secs into it
    assert barge.audio_stop_secs is not None and barge.audio_stop_secs <= barge.clear_latency_secs
    assert result.clears and result.clears[0] == barge.clear_at
    # The bot answers the barge-in turn afterwards
    assert result.turns[1].barge_in and result.turns[1].voice_to_voice_secs is not None
    assert json.loads(json.dumps(result.to_dict()))["barge_ins"][0]["bot_speaking"] is True


async def test_bot_hangs_up():
    cfg = FakeBotConfig(greeting=voice("Goodbye"), greeting_delay=0.2, hang_up_after_replies=1)
    app, _ = fake_bot_app(cfg)
    async with serve_app(app) as base:
        result = await TwilioCaller(ws_url(base)).run(
            [Wait(10), Say("this is never said"), HangUp()]
        )
    assert result.hung_up_by_bot and result.turns == []
    assert result.duration_secs < 3 and "stop" not in result.events("sent")
    assert len(result.bot_utterances) == 1


async def test_caller_hangs_up_mid_utterance():
    app, log = pipecat_echo_app()
    async with serve_app(app) as base:
        caller = TwilioCaller(ws_url(base))
        call = asyncio.create_task(caller.run([Say(REQUEST), Wait(5)]))
        await asyncio.sleep(0.8)
        caller.hang_up()
        result = await call
    assert not result.hung_up_by_bot and result.turns == []  # the Say never finished
    assert result.events("sent")[-1] == "stop" and 0.7 < result.duration_secs < 1.2
    assert result.close_code == 1000


async def test_webhook_refusals():
    cfg = FakeBotConfig(blocked_numbers=("+15550000000",))
    app, log = fake_bot_app(cfg)
    async with serve_app(app) as base:
        blocked = await TwilioCaller(
            webhook_url=base + "/twilio/voice", auth_token=cfg.auth_token,
            from_number="+15550000000",
        ).run([Wait(1)])
        forged = await TwilioCaller(
            webhook_url=base + "/twilio/voice", auth_token="wrong-token"
        ).run([Wait(1)])
        refused = await TwilioCaller("ws://127.0.0.1:9/ws", open_timeout=2).run([Wait(1)])
    assert blocked.rejected and blocked.rejected_text == "Sorry, this number is not allowed."
    assert blocked.twiml is not None and blocked.twiml.hangup and not blocked.connected
    assert forged.rejected and forged.rejected_text == "HTTP 403"
    assert log.signature_ok == [True, False]
    assert not refused.connected and refused.errors and "connect failed" in refused.errors[0]


@pytest.mark.parametrize("bot_stalls_too", [False, True])
async def test_a_stall_of_the_caller_is_not_bot_silence(bot_stalls_too):
    """Regression (a CI run talked over the end of the bot's sentence): a stall of the caller's
    process, or of the whole machine (``bot_stalls_too``: the bot shares the stalled loop), made
    WaitForBotSilence count the stalled time as the bot being quiet."""
    cfg = FakeBotConfig(
        greeting=voice(LONG_REPLY), greeting_delay=0.3, lead=0.1, catch_up=not bot_stalls_too
    )
    app, _ = fake_bot_app(cfg)
    serve = serve_app(app) if bot_stalls_too else _in_thread(app)
    async with serve as base:
        caller = TwilioCaller(ws_url(base))
        asyncio.get_running_loop().call_later(1.0, time.sleep, 1.5)  # 1.5 s stall mid-greeting
        result = await caller.run([WaitForBotSilence(timeout=10, quiet=0.5), Say(REQUEST)])

    assert result.errors == [], result.errors
    greeting = result.bot_utterances[0]
    assert not greeting.truncated_by_clear and result.clears == [], (result.clears, result.turns)
    assert result.turns[0].start >= greeting.end + 0.45, (result.turns[0].start, greeting.end)
    # The whole sentence came in before the caller spoke (the stall shows as a gap inside it).
    assert result.bot_audio_received_secs >= len(cfg.greeting) / 8000 - 0.02
    # The induced stall is noticed once; a real short stall of this busy test process (one of
    # 0.12 s after the serial phase's other tests) is noticed too, and is no error.
    long_stalls = [secs for _, secs in result.caller_stalls if secs >= 1.0]
    assert len(long_stalls) == 1, result.caller_stalls


@asynccontextmanager
async def _in_thread(app):
    with serve_app_in_thread(app) as base:  # the bot keeps sending while our loop is stalled
        yield base
