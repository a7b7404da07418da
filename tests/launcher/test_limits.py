"""Call limits, drain and recycling, on a real launcher process with Twilio callers."""

import asyncio
import os
import signal

import psutil

from launcher.serve import DRAIN_GOODBYE
from plugins.limits import IDLE_GOODBYE, MAX_DURATION_GOODBYE
from simulators.callers.listen import PhraseListener
from simulators.callers.script import BargeIn, Say, Wait, WaitForBotSilence
from simulators.callers.twiml import fetch_twiml, voice_webhook_form
from tests.bots.scenario import BOOKING
from tests.eventually import aeventually


def _heard_words(phrase: str) -> str:
    return "".join(c for c in phrase.lower() if c.isalpha() or c == " ").replace("  ", " ")


def _last_words(result) -> str:
    """What the caller heard last, checked against every goodbye the launcher can say."""
    goodbyes = [_heard_words(g) for g in (MAX_DURATION_GOODBYE, IDLE_GOODBYE, DRAIN_GOODBYE)]
    return PhraseListener(goodbyes).heard(result.bot_utterances[-1].pcm, result.sample_rate)


async def _silent_call_until_hung_up(doubles, twilio_caller, launcher_factory, **env):
    doubles.client.reset()
    launcher = launcher_factory(**env)
    result = await twilio_caller(launcher).run([WaitForBotSilence(timeout=15), Wait(20)])
    assert result.hung_up_by_bot
    [call] = launcher.get("/calls").json()
    return result, call


async def test_max_duration_says_goodbye_then_hangs_up(doubles, twilio_caller, launcher_factory):
    result, call = await _silent_call_until_hung_up(
        doubles, twilio_caller, launcher_factory, MAX_CALL_DURATION_SECS="9", IDLE_HANGUP_SECS="60"
    )
    assert _last_words(result) == _heard_words(MAX_DURATION_GOODBYE)
    assert 9 <= result.duration_secs < 20
    assert call["end_reason"] == "max_duration"


async def test_silent_caller_is_hung_up_politely(doubles, twilio_caller, launcher_factory):
    result, call = await _silent_call_until_hung_up(
        doubles, twilio_caller, launcher_factory, IDLE_HANGUP_SECS="4"
    )
    assert _last_words(result) == _heard_words(IDLE_GOODBYE)
    assert call["end_reason"] == "idle"


async def _refused_webhook(doubles, launcher) -> str:
    form = voice_webhook_form("CA" + "1" * 32, "AC" + "2" * 32, "+15550001", "+15550000")
    token = doubles.env()["TWILIO_AUTH_TOKEN"]
    answer = await fetch_twiml(f"{launcher.base_url}/twilio/voice", form, token)
    return answer.body


async def _wait_for_a_call(launcher) -> None:
    await aeventually(lambda: launcher.get("/calls").json(), 20, "a call", every=0.2)


async def test_sigterm_lets_the_active_call_finish_and_refuses_new_ones(
    doubles, twilio_caller, launcher_factory
):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    launcher = launcher_factory(DRAIN_TIMEOUT_SECS="60")
    first = asyncio.create_task(
        twilio_caller(launcher).run(
            [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15)]
        )
    )
    await _wait_for_a_call(launcher)
    launcher.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(1.0)
    ready = launcher.get("/readyz")
    assert ready.status_code == 503 and ready.json()["reason"] == "draining"
    twiml = await _refused_webhook(doubles, launcher)
    assert "<Say>" in twiml and "<Hangup/>" in twiml  # an apology, not an application error
    result = await first
    assert result.errors == []
    assert result.turns[0].voice_to_voice_secs is not None  # the call went on as usual
    assert not result.hung_up_by_bot  # and ended when the caller hung up
    assert launcher.proc.wait(timeout=20) == 0  # then the launcher exited, long before 60 s


async def test_drain_timeout_ends_remaining_calls_with_a_goodbye(
    doubles, twilio_caller, launcher_factory
):
    doubles.client.reset()
    launcher = launcher_factory(DRAIN_TIMEOUT_SECS="3")
    first = asyncio.create_task(
        twilio_caller(launcher).run([WaitForBotSilence(timeout=15), Wait(30)])
    )
    await _wait_for_a_call(launcher)
    await asyncio.sleep(6)  # the greeting has played
    launcher.proc.send_signal(signal.SIGTERM)
    result = await first
    assert result.hung_up_by_bot
    assert _last_words(result) == _heard_words(DRAIN_GOODBYE)
    assert launcher.proc.wait(timeout=20) == 0


async def test_worker_recycles_after_its_quota_of_calls(doubles, twilio_caller, launcher_factory):
    doubles.client.reset()
    launcher = launcher_factory(WORKER_MAX_CALLS="1", DRAIN_TIMEOUT_SECS="30")
    result = await twilio_caller(launcher).run([WaitForBotSilence(timeout=15), Wait(1)])
    assert result.connected and not result.hung_up_by_bot  # the call itself was not cut short
    assert launcher.proc.wait(timeout=30) == 0  # then the process exited for a fresh one


async def test_sigterm_to_the_process_group_still_drains(doubles, twilio_caller, launcher_factory):
    """systemd's control-group kill, Ctrl-C, a container runtime: every process gets SIGTERM.

    Incidents: the workers died with the launcher (replies cut mid-word, lines closed in 0.1 s,
    recorded as ``caller_hung_up``) and the drain task crashed; and at the drain timeout the
    reply to the caller's last turn came after "Goodbye!".
    """
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book", "reply": "Sure.", "first_token_ms": 3000}])
    launcher = launcher_factory(PROCESS_MODEL="workers", WORKERS="1", DRAIN_TIMEOUT_SECS="1")
    workers = psutil.Process(launcher.proc.pid).children()
    call = asyncio.create_task(
        twilio_caller(launcher).run([WaitForBotSilence(timeout=15), Say(BOOKING), Wait(30)])
    )

    async def asked() -> bool:
        return any("book" in str(r["messages"]) for r in await doubles.client.allm_requests())

    # The caller asked; the (slow) answer is on its way.
    await aeventually(asked, 30, "the caller's question at the LLM", every=0.05)
    os.killpg(launcher.proc.pid, signal.SIGTERM)  # the whole group, as systemd does
    result = await call
    assert result.errors == [], result.errors
    assert result.hung_up_by_bot  # the call was not cut off by dying workers
    assert _last_words(result) == _heard_words(DRAIN_GOODBYE)  # and nothing came after it
    assert launcher.proc.wait(timeout=30) == 0
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    log = launcher.log()
    # The log is there: an empty one would pass the absence checks below.
    assert "draining calls" in log, log[-2000:]
    assert "never retrieved" not in log and "drain:" not in log, log[-2000:]


async def test_drain_goodbye_is_the_last_thing_the_caller_hears(
    doubles, twilio_caller, launcher_factory
):
    """Incident: at the drain timeout, what the caller said over "Goodbye!" got a reply after it.

    The caller talks over the drain goodbye: they are not heard any more, the goodbye plays to
    its end, and nothing follows it.
    """
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book", "reply": "Sure."}])
    launcher = launcher_factory(DRAIN_TIMEOUT_SECS="2", ANALYSIS_ENABLED="false")
    call = asyncio.create_task(
        twilio_caller(launcher).run(
            [
                WaitForBotSilence(timeout=15),
                Say(BOOKING),
                WaitForBotSilence(timeout=15),
                BargeIn(BOOKING, after_bot_audio_secs=1.0),  # over the goodbye
                Wait(20),
            ]
        )
    )
    await aeventually(doubles.client.allm_requests, 30, "an LLM request", every=0.05)
    launcher.proc.send_signal(signal.SIGTERM)
    result = await call
    assert result.errors == [], result.errors
    assert result.hung_up_by_bot
    assert len(doubles.client.llm_requests()) == 1  # what was said over the goodbye: unheard
    assert _last_words(result) == _heard_words(DRAIN_GOODBYE)
    assert launcher.proc.wait(timeout=20) == 0
