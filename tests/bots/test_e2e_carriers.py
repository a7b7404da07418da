"""A phone call to the receptionist through SignalWire, Telnyx and Plivo, end to end.

Each carrier's simulated caller POSTs its signed voice webhook, follows the XML answer to the
media stream and speaks that carrier's wire: the greeting is heard, a turn is answered, a
barge-in flushes the caller's audio with the carrier's clear message, the goodbye is heard
before the REST hang-up reaches the carrier's double, and a forged signature is refused.
"""

import re
import time
from urllib.parse import unquote

import httpx
import pytest

from simulators.callers.carrier import CarrierCaller
from simulators.callers.listen import PhraseListener
from simulators.callers.script import BargeIn, Say, Wait, WaitForBotSilence
from tests.bots.scenario import (
    GOODBYE_HEARD,
    LONG_REPLY,
    SERVICES_Q,
    STOP,
    full_call_rules,
    spoken_before_barge_in,
)

CARRIERS = ["signalwire", "telnyx", "plivo"]
CLEAR = {"signalwire": "clear", "telnyx": "clear", "plivo": "clearAudio"}
SECRET_ENV = {
    "signalwire": "SIGNALWIRE_SIGNING_KEY",
    "telnyx": "TELNYX_TEST_SIGNING_SEED",
    "plivo": "PLIVO_AUTH_TOKEN",
}


@pytest.fixture(scope="module")
def carrier_line(doubles):
    """One launcher for every carrier's calls (the scripts reset the doubles per call)."""
    from tests.launcher.process import LauncherProcess

    process = LauncherProcess(doubles.env()).start()
    yield process
    process.stop()


def _caller(doubles, line, carrier: str, secret: str | None = None) -> CarrierCaller:
    return CarrierCaller(
        carrier,
        webhook_url=f"{line.base_url}/{carrier}/voice",
        secret=secret if secret is not None else doubles.env()[SECRET_ENV[carrier]],
    )


def _wall(result, t: float) -> float:
    """A caller timestamp (seconds since its start) as wall-clock time."""
    return time.time() - (time.monotonic() - result.t0_monotonic) + t


def _hang_ups(doubles, carrier: str, call_id: str) -> list[dict]:
    if carrier == "signalwire":
        return [
            r
            for r in doubles.client.twilio_requests()
            if r["path"].startswith("/api/laml/")
            and r["path"].endswith(f"/Calls/{call_id}.json")
            and r.get("form", {}).get("Status") == "completed"
        ]
    return [
        r
        for r in doubles.client.carrier_requests()
        if r["carrier"] == carrier
        and r["call_id"] == call_id
        and (r.get("action") == "hangup" or r["method"] == "DELETE")
    ]


@pytest.mark.parametrize("carrier", CARRIERS)
async def test_carrier_call_greets_answers_flushes_and_says_goodbye(doubles, carrier_line, carrier):
    doubles.client.reset()
    doubles.client.stt_phrases([SERVICES_Q, STOP, "goodbye"])
    doubles.client.llm_rules(full_call_rules())
    caller = _caller(doubles, carrier_line, carrier)
    result = await caller.run(
        [
            WaitForBotSilence(timeout=15),
            Say(SERVICES_Q),
            BargeIn(STOP, after_bot_audio_secs=1.5),
            WaitForBotSilence(timeout=15),
            Say("goodbye"),
            Wait(12),
        ]
    )
    assert result.connected, (result.errors, result.twiml)
    assert result.errors == [], result.errors
    # Greeting first.
    listener = PhraseListener(["thank you for calling bright smile dental", GOODBYE_HEARD])
    heard = [listener.heard(u.pcm, result.sample_rate) for u in result.bot_utterances]
    assert heard[0].startswith("thank you for calling"), heard
    # The turn was answered, and the barge-in flushed it with the carrier's clear message.
    received = [m.event for m in result.messages if m.direction == "received"]
    assert CLEAR[carrier] in received, sorted(set(received))
    barge = result.barge_ins[0]
    assert barge.clear_latency_secs is not None and barge.clear_latency_secs < 1.0, barge
    spoken = spoken_before_barge_in(doubles.client.llm_requests())
    assert 0 < len(spoken) < len(LONG_REPLY), spoken
    # The goodbye was heard to its end before the carrier's REST hang-up.
    assert result.hung_up_by_bot, "the bot should end the call"
    last = result.bot_utterances[-1]
    assert listener.heard(last.pcm, result.sample_rate) == GOODBYE_HEARD
    hangups = _hang_ups(doubles, carrier, caller.call_sid)
    assert len(hangups) == 1, hangups
    assert hangups[0]["time"] >= _wall(result, last.end) - 0.05, "hung up before the goodbye"


@pytest.mark.parametrize("carrier", CARRIERS)
async def test_forged_carrier_signature_is_refused(doubles, carrier_line, carrier):
    forged = {
        "signalwire": "PSK_forged",
        "telnyx": "A" * 43 + "=",  # another Ed25519 key
        "plivo": "forged-token",
    }[carrier]
    caller = _caller(doubles, carrier_line, carrier, secret=forged)
    result = await caller.run([Wait(1)])
    assert result.rejected and not result.connected
    assert result.twiml is not None and result.twiml.status_code == 403, result.twiml
    unsigned = httpx.post(f"{carrier_line.base_url}/{carrier}/voice", data={"From": "+1"})
    assert unsigned.status_code == 403, unsigned.text


@pytest.mark.parametrize("carrier", ["telnyx", "plivo"])
async def test_carrier_stream_is_handed_to_a_worker_process(doubles, launcher_factory, carrier):
    doubles.client.reset()
    doubles.client.stt_phrases(["goodbye"])
    doubles.client.llm_rules(full_call_rules())
    line = launcher_factory(PROCESS_MODEL="workers", WORKERS="1")
    caller = _caller(doubles, line, carrier)
    result = await caller.run([WaitForBotSilence(timeout=20), Say("goodbye"), Wait(12)])
    assert result.connected and result.errors == [], result.errors
    assert result.hung_up_by_bot
    listener = PhraseListener(["thank you for calling bright smile dental", GOODBYE_HEARD])
    assert listener.heard(result.bot_utterances[-1].pcm, result.sample_rate) == GOODBYE_HEARD
    assert len(_hang_ups(doubles, carrier, caller.call_sid)) == 1
    # With workers, a stream that reached the launcher itself would be refused ("busy"): the
    # call ran because the front handed the carrier's stream to the worker.
    log = line.log()
    # The log is there: an empty one would pass the absence check below.
    assert re.search(r"\| call=(?!- )", log), log[-2000:]
    assert "media stream" not in log or "refused" not in log, log[-2000:]


def _transfers(doubles, carrier: str, call_id: str) -> list[dict]:
    """The REST requests that moved the call to another number, at the carrier's double."""
    if carrier == "signalwire":
        return [
            r
            for r in doubles.client.twilio_requests()
            if r["path"].startswith("/api/laml/")
            and r["path"].endswith(f"/Calls/{call_id}.json")
            and "Twiml" in r.get("form", {})
        ]
    return [
        r
        for r in doubles.client.carrier_requests()
        if r["carrier"] == carrier
        and r["call_id"] == call_id
        and (r.get("action") == "transfer" or (r["method"] == "POST" and "legs" in str(r["body"])))
    ]


@pytest.mark.parametrize("carrier", CARRIERS)
async def test_carrier_cold_transfer_goes_through_its_rest_api(doubles, launcher_factory, carrier):
    number = "+15550001111"
    doubles.client.reset()
    doubles.client.stt_phrases(["i would like to speak to a person"])
    tool = {"name": "transfer_immediate", "arguments": {"reason": "caller asked for a person"}}
    doubles.client.llm_rules([{"match": "speak to a person", "tool_calls": [tool]}])
    line = launcher_factory(TRANSFER_NUMBER=number)
    caller = _caller(doubles, line, carrier)
    result = await caller.run(
        [WaitForBotSilence(timeout=15), Say("i would like to speak to a person"), Wait(5)]
    )
    assert result.connected, (result.errors, result.twiml)
    moves = _transfers(doubles, carrier, caller.call_sid)
    assert len(moves) == 1, moves  # one REST transfer at the carrier, to the number
    assert number in unquote(str(moves[0])), moves[0]
    assert "Say" not in str(moves[0]) and "say=" not in str(moves[0])  # a cold transfer
    assert _hang_ups(doubles, carrier, caller.call_sid) == []  # the transferred leg stays up
    assert (await line.last_call_over())["end_reason"] == "transferred"
