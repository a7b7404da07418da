"""Calls in worker processes: the same phone call, calls API and ending, and crash containment.

Every test runs the real launcher (``server.py``) with ``PROCESS_MODEL`` set, Twilio callers
and the provider doubles; the launcher forwards media to its worker processes.
"""

import asyncio
import os
import signal

import httpx
import psutil

from simulators.callers.listen import PhraseListener
from simulators.callers.script import Say, Wait, WaitForBotSilence
from tests.bots.scenario import BOOKING
from tests.eventually import aeventually

REPLY = "Sure, what time?"


def _prepare(doubles) -> None:
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book an appointment", "reply": REPLY}])


async def _answered(launcher, call_id: str | None = None, timeout: float = 30) -> dict:
    """The details of a call (the first active one) once its first turn was answered."""

    def answered() -> dict | None:
        calls = [c for c in launcher.get("/calls").json() if c["active"]]
        for cid in [call_id] if call_id else [c["call_id"] for c in calls]:
            details = launcher.get(f"/calls/{cid}").json()
            if details.get("turn_latency_secs"):
                return details
        return None

    return await aeventually(answered, timeout, "an answered call", every=0.2)


async def _final(launcher, call_id: str, timeout: float = 10) -> dict:
    """A call's details once the launcher has seen it end."""

    def ended() -> dict | None:
        details = launcher.get(f"/calls/{call_id}").json()
        return details if details["active"] is False else None

    return await aeventually(ended, timeout, f"{call_id} to end")


def _workers(launcher) -> list[psutil.Process]:
    return psutil.Process(launcher.proc.pid).children()


async def test_phone_call_runs_in_a_worker_process_with_the_calls_api(
    doubles, twilio_caller, launcher_factory
):
    _prepare(doubles)
    launcher = launcher_factory(PROCESS_MODEL="workers", WORKERS="2")
    workers = {p.pid for p in _workers(launcher)}
    assert len(workers) == 2  # started and warmed before the launcher answered /healthz
    script = [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15), Wait(20)]
    call = asyncio.create_task(twilio_caller(launcher, from_number="+15551230001").run(script))
    details = await _answered(launcher)
    assert details["worker_pid"] in workers and details["worker_pid"] != launcher.proc.pid
    assert details["persona"] == "receptionist" and details["caller_number"] == "+15551230001"
    assert [t["role"] for t in details["transcript"]][:2] == ["assistant", "user"]
    await asyncio.sleep(2)
    goodbye = "Thank you for calling goodbye"
    url = f"{launcher.base_url}/calls/{details['call_id']}/end"
    end = httpx.post(url, json={"goodbye": goodbye})
    assert end.status_code == 202
    result = await call
    assert result.hung_up_by_bot and result.errors == []
    assert PhraseListener([goodbye.lower()]).heard(result.bot_utterances[-1].pcm, 8000)
    final = await _final(launcher, details["call_id"])
    assert final["end_reason"] == "ended_by_api"
    assert final["transcript"][-1] == {"role": "assistant", "text": goodbye}
    # Per-turn metrics are observed in the worker; the launcher's /metrics carries them.
    metrics = launcher.get("/metrics").text
    worker = [p.pid for p in _workers(launcher)].index(details["worker_pid"])
    assert f'switchboard_voice_to_voice_seconds_count{{worker="{worker}"}} 1.0' in metrics
    assert 'switchboard_calls_ended_total{reason="ended_by_api"} 1.0' in metrics
    log = launcher.log()
    # The log is there: an empty one would pass the absence checks below.
    assert f"call={details['call_id']}" in log, log[-3000:]
    assert "Traceback" not in log


def _streams_on(pid: int, port: int) -> set[int]:
    """Caller ports of the established connections to ``port`` that process ``pid`` holds."""
    return {
        c.raddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port and c.raddr
    }


async def test_a_phone_calls_media_never_passes_through_the_launcher(
    doubles, twilio_caller, launcher_factory
):
    _prepare(doubles)
    launcher = launcher_factory(PROCESS_MODEL="workers", WORKERS="1")
    port = int(launcher.base_url.rsplit(":", 1)[1])
    script = [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15), Wait(4)]
    call = asyncio.create_task(twilio_caller(launcher, from_number="+15551230009").run(script))
    details = await _answered(launcher)
    # The caller's media socket is held by the worker, and the launcher holds no socket of it:
    # the launcher cannot see a media frame, in either direction.
    in_worker = _streams_on(details["worker_pid"], port)
    in_launcher = _streams_on(launcher.proc.pid, port)
    assert len(in_worker) == 1, in_worker
    assert not in_worker & in_launcher
    result = await call
    assert any(len(u.pcm) for u in result.bot_utterances), "the caller heard the bot"
    assert result.errors == []
    final = await _final(launcher, details["call_id"])
    assert final["end_reason"] in ("caller_hung_up", "completed"), final["end_reason"]


async def test_process_per_call_uses_a_fresh_warm_process_each_time(
    doubles, twilio_caller, launcher_factory
):
    _prepare(doubles)
    launcher = launcher_factory(PROCESS_MODEL="process_per_call", PREWARMED_PROCESSES="1")
    used = []
    for number in ("+15551230002", "+15551230003"):
        script = [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15)]
        call = asyncio.create_task(twilio_caller(launcher, from_number=number).run(script))
        details = await _answered(launcher)
        used.append(details["worker_pid"])
        result = await call
        assert result.bot_utterances, "the caller heard the bot"
        pid = details["worker_pid"]
        await aeventually(
            lambda pid=pid: not psutil.pid_exists(pid), 10, "the call's process to exit"
        )
        await aeventually(
            lambda: launcher.get("/readyz").status_code == 200 and len(_workers(launcher)) == 1,
            timeout=30,
            what="a warm process waiting for the next call",
        )
    assert used[0] != used[1]


async def test_a_crashed_worker_ends_only_its_own_calls(doubles, twilio_caller, launcher_factory):
    _prepare(doubles)
    launcher = launcher_factory(PROCESS_MODEL="workers", WORKERS="2")
    script = [WaitForBotSilence(timeout=15), Say(BOOKING), WaitForBotSilence(timeout=15), Wait(12)]
    first = asyncio.create_task(twilio_caller(launcher, from_number="+15551230004").run(script))
    one = await _answered(launcher)
    second = asyncio.create_task(twilio_caller(launcher, from_number="+15551230005").run(script))
    other = await aeventually(
        lambda: next(
            (c for c in launcher.get("/calls").json() if c["call_id"] != one["call_id"]), None
        ),
        timeout=30,
        what="the second call",
        every=0.2,
    )
    two = await _answered(launcher, other["call_id"])
    assert two["worker_pid"] != one["worker_pid"]  # least busy worker took the second call

    os.kill(one["worker_pid"], signal.SIGKILL)  # a native crash in one call-host process
    crashed = await first
    survived = await second
    assert crashed.duration_secs < survived.duration_secs
    assert survived.errors == [] and not survived.hung_up_by_bot  # the caller ended it
    await _final(launcher, one["call_id"])

    def replaced() -> bool:
        pids = {p.pid for p in _workers(launcher)}
        return len(pids) == 2 and one["worker_pid"] not in pids

    await aeventually(replaced, 30, "the lost worker to be replaced")


async def test_browser_offer_lands_in_a_worker_and_the_call_works(
    doubles, launcher_factory, tmp_path
):
    from simulators.callers.mic import mic_track
    from tests.bots.scenario import LONG_REPLY, SERVICES_Q
    from tests.bots.test_e2e_browser import _talk

    doubles.client.reset()
    doubles.client.stt_phrases([SERVICES_Q])
    doubles.client.llm_rules([{"match": "about your services", "reply": LONG_REPLY}])
    launcher = launcher_factory(
        PROCESS_MODEL="workers", WORKERS="2", SWITCHBOARD_ICE_LOOPBACK_ONLY="1"
    )
    wav = mic_track(tmp_path / "mic.wav", [(8.0, SERVICES_Q)], total=15)
    seen = await _talk(launcher, "receptionist", wav, seconds=15, hang_up=True)
    lines = [ln for ln in seen["transcript"].splitlines() if ln.strip()]
    assert lines[0].startswith("Bot:Thank you for calling Bright Smile Dental"), lines
    assert any("We offer cleanings" in ln for ln in lines), lines
    assert seen["bot_audio_max"] > 0.01
    call = await launcher.last_call_over(timeout=15)
    assert call["end_reason"] == "caller_hung_up" and call["transport"] == "webrtc"
    details = launcher.get(f"/calls/{call['call_id']}").json()
    assert details["transcript"][0]["role"] == "assistant"


async def test_a_burst_of_calls_is_not_all_put_on_one_worker(
    doubles, twilio_caller, launcher_factory
):
    """Incident: calls dialled in one burst all went to the first worker (the others idled).

    The least-busy choice counted only calls already handed over, and a burst is picked before
    any is; one process then ran every call of the burst on one core, and turn-taking at 20
    calls fell apart while the other worker stayed idle.
    """
    _prepare(doubles)
    launcher = launcher_factory(PROCESS_MODEL="workers", WORKERS="2")
    script = [WaitForBotSilence(timeout=20), Say(BOOKING), WaitForBotSilence(timeout=20)]
    numbers = [f"+1555123010{i}" for i in range(4)]
    callers = [twilio_caller(launcher, from_number=n) for n in numbers]
    calls = asyncio.gather(*(c.run(script) for c in callers))
    pids: dict[str, int] = {}

    def every_call_on_a_worker() -> bool:
        for call in launcher.get("/calls").json():
            details = launcher.get(f"/calls/{call['call_id']}").json()
            if details.get("worker_pid"):
                pids[call["call_id"]] = details["worker_pid"]
        return len(pids) == len(numbers)

    await aeventually(every_call_on_a_worker, 40, "every call of the burst on a worker", every=0.2)
    results = await calls
    assert all(r.errors == [] for r in results)
    assert len(pids) == len(numbers)
    per_worker = sorted(list(pids.values()).count(pid) for pid in set(pids.values()))
    assert per_worker == [2, 2]  # the burst is shared: two calls on each worker
