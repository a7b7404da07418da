"""The playout gate on its own: order, idempotence, discard, interruptions, the time limit."""

from __future__ import annotations

import asyncio
import time

from loguru import logger

from transports.playout import PlayoutGate, PlayoutGateFilter, playout_gate


class Remote:
    """A far end that records what the gate asked of it, and what the gate held meanwhile."""

    def __init__(self, gate: PlayoutGate):
        self.gate = gate
        self.calls: list[tuple[str, str]] = []

    async def flush(self) -> None:
        self.calls.append(("flush", self.gate.state))

    async def replay(self) -> None:
        await asyncio.sleep(0.01)  # a replay takes a moment: nothing may pass meanwhile
        self.calls.append(("replay", self.gate.state))

    async def forget(self) -> None:
        self.calls.append(("forget", self.gate.state))


class Output:
    """Admits chunks one after another like Pipecat's audio task, recording what came out."""

    def __init__(self, gate: PlayoutGate, remote: Remote | None = None):
        self.gate, self.remote = gate, remote
        self.out: list[tuple[bytes, list[str]]] = []

    async def play(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            audio = await self.gate.admit(chunk)
            replays = [name for name, _ in self.remote.calls] if self.remote else []
            self.out.append((audio, replays))


def chunks(n: int) -> list[bytes]:
    return [bytes([i]) * 4 for i in range(n)]


async def test_open_gate_lets_audio_through_at_once_in_order():
    gate = PlayoutGate()
    output = Output(gate)
    await asyncio.wait_for(output.play(chunks(5)), 0.1)
    assert [a for a, _ in output.out] == chunks(5)


async def test_pause_holds_and_resume_replays_first_then_releases_in_order():
    gate = PlayoutGate()
    remote = Remote(gate)
    gate.attach_remote(remote)
    output = Output(gate, remote)
    await gate.pause()
    await gate.pause()  # idempotent: one flush, one pause
    task = asyncio.create_task(output.play(chunks(3)))
    await asyncio.sleep(0.05)
    assert output.out == [] and gate.paused
    await gate.resume()
    await asyncio.wait_for(task, 0.5)
    assert [a for a, _ in output.out] == chunks(3)
    assert remote.calls == [("flush", "paused"), ("replay", "paused")]  # replayed while shut
    assert output.out[0][1] == ["flush", "replay"]  # the held chunk came after the replay
    await gate.resume()  # resuming an open gate does nothing
    assert len(remote.calls) == 2
    assert (gate.pauses, gate.resumes) == (1, 1) and 0.04 <= gate.paused_secs < 0.5


async def test_discard_releases_the_held_chunk_empty_and_forgets_the_remote():
    gate = PlayoutGate()
    remote = Remote(gate)
    gate.attach_remote(remote)
    await gate.pause()
    held = asyncio.create_task(gate.admit(b"stale"))
    await asyncio.sleep(0.02)
    await gate.discard()
    assert await asyncio.wait_for(held, 0.1) == b""
    assert await asyncio.wait_for(gate.admit(b"new"), 0.1) == b"new"
    assert remote.calls == [("flush", "paused"), ("forget", "paused")]
    assert gate.state == "open" and gate.discards == 1


async def test_discard_waits_for_the_interruption_when_the_output_reports_them():
    gate = PlayoutGate()
    gate.reports_interruptions = True
    await gate.pause()
    held = asyncio.create_task(gate.admit(b"stale 1"))
    await asyncio.sleep(0.02)
    await gate.discard()
    queued = asyncio.create_task(gate.admit(b"stale 2"))  # still the old reply: held too
    await asyncio.sleep(0.05)
    assert not held.done() and not queued.done() and gate.state == "discarding"
    gate.interrupted()
    assert await asyncio.wait_for(held, 0.1) == b""
    assert await asyncio.wait_for(queued, 0.1) == b""
    assert await asyncio.wait_for(gate.admit(b"next reply"), 0.1) == b"next reply"


async def test_discard_after_the_interruption_already_arrived_opens_at_once():
    gate = PlayoutGate()
    gate.reports_interruptions = True
    await gate.pause()
    held = asyncio.create_task(gate.admit(b"stale"))
    await asyncio.sleep(0.02)
    gate.interrupted()  # the controller broadcast the interruption first
    assert await asyncio.wait_for(held, 0.1) == b""
    await gate.discard()
    assert gate.state == "open"
    assert await asyncio.wait_for(gate.admit(b"next reply"), 0.1) == b"next reply"


async def test_interruption_while_paused_drops_the_held_chunk_but_stays_paused():
    gate = PlayoutGate()
    await gate.pause()
    held = asyncio.create_task(gate.admit(b"stale"))
    await asyncio.sleep(0.02)
    gate.interrupted()
    assert await asyncio.wait_for(held, 0.1) == b""
    assert gate.paused
    fresh = asyncio.create_task(gate.admit(b"new reply"))
    await asyncio.sleep(0.02)
    assert not fresh.done()
    await gate.resume()
    assert await asyncio.wait_for(fresh, 0.1) == b"new reply"


async def test_an_undecided_pause_resumes_by_itself_with_a_warning():
    warnings: list[str] = []
    sink = logger.add(lambda m: warnings.append(m.record["message"]), level="WARNING")
    try:
        gate = PlayoutGate(max_pause_secs=0.2)
        remote = Remote(gate)
        gate.attach_remote(remote)
        await gate.pause()
        start = time.monotonic()
        assert await asyncio.wait_for(gate.admit(b"rest"), 1.0) == b"rest"
        assert 0.18 <= time.monotonic() - start < 0.5
    finally:
        logger.remove(sink)
    assert gate.auto_resumes == 1 and not gate.paused
    assert [name for name, _ in remote.calls] == ["flush", "replay"]
    assert any("without a decision" in w for w in warnings)


async def test_an_undecided_pause_with_nothing_waiting_resumes_too():
    gate = PlayoutGate(max_pause_secs=0.1)
    remote = Remote(gate)
    gate.attach_remote(remote)
    await gate.pause()
    await asyncio.sleep(0.3)
    assert not gate.paused and gate.auto_resumes == 1
    assert [name for name, _ in remote.calls] == ["flush", "replay"]  # the far end played on


async def test_a_discard_without_interruption_opens_after_a_while():
    gate = PlayoutGate()
    gate.reports_interruptions = True
    await gate.discard()
    start = time.monotonic()
    assert await asyncio.wait_for(gate.admit(b"x"), 2.0) == b""  # queued before: stale
    assert 0.9 <= time.monotonic() - start < 1.5 and gate.state == "open"


async def test_filter_stop_releases_the_gate():
    gate = PlayoutGate()
    gate_filter = PlayoutGateFilter(gate)
    await gate.pause()
    held = asyncio.create_task(gate_filter.filter(b"audio"))
    await asyncio.sleep(0.02)
    await gate_filter.stop()
    assert await asyncio.wait_for(held, 0.1) == b"audio" and gate.state == "open"


def test_attach_and_find_a_transports_gate(settings):
    from tests.assembly.builders import transport_for_kind
    from transports.kinds import TransportKind

    for kind in TransportKind:
        transport = transport_for_kind(kind, settings)
        gate = playout_gate(transport)
        assert gate is not None and gate.reports_interruptions, kind
    assert playout_gate(object()) is None


def test_a_gate_does_not_keep_its_transport_alive(settings):
    import gc
    import weakref

    from transports.twilio import twilio_transport

    class Socket:
        client_state = application_state = None

    transport = twilio_transport(Socket(), settings, stream_sid="MZ1", call_sid=None)
    gate = playout_gate(transport)
    gone = weakref.ref(transport)
    del transport
    gc.collect()
    assert gone() is None and gate is not None
