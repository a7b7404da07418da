"""The fleet bench: its pure figures, and a tiny real run (2 hosts, one Redis, 3 calls, a kill)."""

from __future__ import annotations

import json

from bench.fleet_calls import FleetCall, Kill, exchanges_for, host_of
from bench.fleet_report import context_kept, failed, format_fleet, redirect_secs, summarize
from bench.fleet_stack import FleetConfig
from simulators.callers.result import CallerTurn, CallResult
from simulators.callers.twiml import TwimlAnswer

KILL = Kill("h1", at=100.0, wall=1000.0)


def _call(index: int, host: str, moved: bool | None = None, refused: bool = False) -> FleetCall:
    call = FleetCall(index, "h1", exchanges_for(index), "done", None if refused else host)
    twiml = TwimlAnswer(200, "<Response/>", say=["Sorry, all our lines are busy."], hangup=True)
    call.first = CallResult(f"CA{index}", "MZ", "AC", connected=not refused, rejected=refused,
                            twiml=twiml if refused else None,
                            custom_parameters={} if refused else {"call_id": f"call_{index}"})
    turns = [CallerTurn(0, "one", 1.0, 2.0, voice_to_voice_secs=0.9)]
    if moved is None and not refused:  # a call its host finished: both turns answered
        turns.append(CallerTurn(1, "two", 5.0, 6.0, voice_to_voice_secs=0.8))
    call.first.turns = turns
    if moved is not None:
        call.moved, call.moved_to = moved, "h2" if moved else None
        if moved:
            call.after_move = CallResult(f"CA{index}", "MZ2", "AC", connected=True)
            call.after_move.turns = [CallerTurn(0, "two", 3.0, 4.0, voice_to_voice_secs=0.7)]
            call.kill_to_first_audio_secs = 2.3
            call.checks = {"redirect_secs": 2.1, "context_kept": True, "row_hosts_ok": True,
                           "stored_turns_kept": True, "apology_first": True}
    return call


def test_the_first_twenty_calls_have_distinct_phrase_pairs():
    pairs = [tuple(e.phrase for e in exchanges_for(i)) for i in range(20)]
    assert len(set(pairs)) == 20 and all(a != b for a, b in pairs)


def test_host_of_matches_the_stream_url_to_its_host():
    hosts = {"h1": "ws://127.0.0.1:9001", "h2": "ws://127.0.0.1:9002"}
    assert host_of("ws://127.0.0.1:9002/twilio/media/call_1", hosts) == "h2"
    assert host_of("ws://127.0.0.1:90011/twilio/media/x", hosts) is None
    assert host_of(None, hosts) is None


def test_redirect_time_and_the_context_after_the_move():
    call = _call(0, "h1", moved=True)
    one, two = call.exchanges
    twilio = [
        {"time": 999.0, "call_sid": "CA0", "form": {"Twiml": "<Response/>"}},  # before the kill
        {"time": 1002.2, "call_sid": "CA0", "form": {"Twiml": "<Response/>"}},
        {"time": 1001.0, "call_sid": "CA9", "form": {"Twiml": "<Response/>"}},  # another call
    ]
    assert redirect_secs(call, twilio, KILL) == 2.2
    ask = {"time": 1003.0, "messages": [
        {"role": "system", "content": "You are..."},
        {"role": "user", "content": one.phrase},
        {"role": "assistant", "content": one.reply},
        {"role": "user", "content": [{"type": "text", "text": two.phrase}]},
    ]}  # fmt: skip
    assert context_kept(call, [ask], KILL) is True
    forgot = {"time": 1003.0, "messages": [{"role": "user", "content": two.phrase}]}
    assert context_kept(call, [forgot], KILL) is False
    assert context_kept(call, [{**ask, "time": 999.0}], KILL) is None  # before the kill


def test_summary_and_table():
    calls = [_call(0, "h1", moved=True), _call(1, "h2"), _call(2, "h1", moved=True),
             _call(3, "h1", refused=True)]
    hosts = [
        {"host": "h1", "slots": 2, "killed": True, "admitted": 2, "taken_over": 0,
         "ran_per_call_rows": 2, "peak_active": 2},
        {"host": "h2", "slots": 2, "killed": False, "admitted": 1, "taken_over": 2,
         "ran_per_call_rows": 3, "peak_active": 2},
    ]  # fmt: skip
    s = summarize(calls, hosts, KILL)
    assert (s["placed"], s["admitted"], s["refused"], s["refused_politely"]) == (4, 3, 1, 1)
    assert s["admission_spread"] == 1 and s["other_calls"] == {"calls": 1, "continued": 1}
    k = s["kill"]
    assert (k["live_calls"], k["moved"], k["continued"], k["context_kept"]) == (2, 2, 2, 2)
    assert k["moved_to"] == {"h2": 2} and k["kill_to_first_audio_secs"]["p50"] == 2.3
    assert failed(s) == []
    data = {"summary": s, "hosts": hosts, "wall_secs": 30.0, "overflow": None,
            "machine": {"load_avg_1_5_15": [1, 1, 1], "cpus": 2},
            "config": {"hosts": 2, "slots": 2, "calls": 4, "ramp_secs": 1.0}}
    table = format_fleet(data)
    assert "| h1 | 2 | 2 | 0 | 2 | 2 | SIGKILL |" in table
    assert "| live calls on the killed host (h1) moved | 2 / 2 (to h2: 2) |" in table
    assert "| kill → first audio on the new host, p50 / max (ms) | 2300 / 2300 (n=2) |" in table
    lost = _call(4, "h1", moved=False)
    assert failed(summarize([*calls, lost], hosts, KILL))  # a call lost in the crash fails


def test_default_slots_leave_room_for_one_lost_host():
    assert FleetConfig(hosts=3, calls=12).host_slots == 6
    assert FleetConfig(hosts=3, calls=12, kill_one=False).host_slots == 4
    assert FleetConfig(hosts=2, calls=3, slots=1).host_slots == 1


def test_a_tiny_fleet_run_moves_the_killed_hosts_calls(tmp_path):
    from bench.fleet import run

    cfg = FleetConfig(hosts=2, calls=3, out=tmp_path, launcher_env={"PROCESS_MODEL": "inprocess"})
    assert run(cfg, ["python -m bench fleet --hosts 2 --calls 3"]) == 0
    (path,) = tmp_path.glob("fleet-H2-N3-*.json")
    data = json.loads(path.read_text())
    assert data["kind"] == "fleet" and data["failures"] == []
    assert [h["host"] for h in data["hosts"]] == ["h1", "h2"]
    assert sum(h["admitted"] for h in data["hosts"]) == 3
    s = data["summary"]
    assert (s["placed"], s["admitted"], s["refused"], s["admission_spread"]) == (3, 3, 0, 1)
    kill = s["kill"]
    killed = [h for h in data["hosts"] if h["killed"]]
    assert len(killed) == 1 and kill["host"] == killed[0]["host"]
    assert kill["live_calls"] == killed[0]["admitted"] == 2  # the host with the most calls
    assert kill["moved"] == kill["continued"] == kill["context_kept"] == 2
    assert kill["row_lists_both_hosts"] == kill["stored_turns_kept"] == 2
    assert kill["kill_to_first_audio_secs"]["n"] == 2
    for call in data["calls_detail"]:
        if call["host"] == kill["host"]:
            assert call["moved"] and call["moved_to"] != kill["host"], call["index"]
            assert call["checks"]["row_hosts"] == [kill["host"], call["moved_to"]]
        else:
            assert call["moved"] is None and call["continued"]
