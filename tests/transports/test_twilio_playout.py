"""Twilio playout as the caller hears it: pacing, marks, pause/resume/discard, the time limit.

A real Pipecat pipeline built by ``transports.twilio`` on a uvicorn websocket, driven by the
simulated phone (``TwilioCaller``). Known speech is queued as TTS audio; what the caller played
out (its playout model) is aligned with it sample by sample (both are 8 kHz μ-law).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from pipecat.frames.frames import EndFrame, InterruptionFrame

from config import Settings
from simulators.callers.script import Wait
from simulators.callers.server import serve_app
from simulators.callers.twilio import TwilioCaller
from tests.conftest import FAKE_KEYS
from tests.transports.twilio_bot import (
    RATE,
    BotCall,
    align,
    as_heard,
    heard_stream,
    playout_bot_app,
    speech,
    speech_frames,
)
from transports.twilio_playout import LEAD_SECS, MARK_EVERY_SECS

pytestmark = pytest.mark.serial  # playout timings in tens of ms

SENTENCE = "The quick brown fox jumps over the lazy dog near the quiet river bank"
SECOND = "Sorry, go ahead"
CHUNK_SECS = 0.04
TOLERANCE_SECS = 0.06  # jitter allowed on top of the lead and between chunks


class Call:
    """One call: the bot endpoint, the phone and the times the test acted (caller clock)."""

    def __init__(self, listen_secs: float):
        self.listen_secs = listen_secs
        self.marks: dict[str, float] = {}

    async def run(self, controller) -> None:
        app, endpoint = playout_bot_app(Settings(_env_file=None, **FAKE_KEYS))
        async with serve_app(app) as base:
            self.caller = TwilioCaller(base.replace("http://", "ws://") + "/ws")
            task = asyncio.create_task(self.caller.run([Wait(self.listen_secs)]))
            self.bot: BotCall = await endpoint.call()
            try:
                await controller(self)
            finally:
                self.result = await task
        self.model = self.caller._model  # the caller's playout buffer: arrival and play times

    def now(self, name: str) -> None:
        """Remember when something happened (converted to the caller's clock afterwards)."""
        self.marks[name] = time.monotonic()

    def at(self, name: str) -> float:
        """When ``name`` happened, in seconds since the caller's ``start``."""
        return self.marks[name] - self.result.t0_monotonic

    def heard_until(self, t: float) -> float:
        """Playout end of the audio that had arrived before ``t``."""
        return max(c.end for c in self.model.chunks if c.arrival < t and len(c.pcm))

    def arrived_between(self, a: float, b: float) -> list[float]:
        """Arrival times of audio that arrived in ``[a, b)`` and was played."""
        return [c.arrival for c in self.model.chunks if a <= c.arrival < b and len(c.pcm)]


async def say(call: Call, pcm: np.ndarray, **kwargs) -> None:
    call.now("speech_queued")
    await call.bot.worker.queue_frames(speech_frames(pcm, **kwargs))


async def test_paced_with_bounded_lead_and_marks_acknowledged():
    source = speech(SENTENCE)

    async def controller(call: Call) -> None:
        await say(call, source, texts={len(source) // 160 - 1: "last words"})
        await asyncio.sleep(len(source) / RATE + 1.5)

    call = Call(listen_secs=len(source) / RATE + 3.0)
    await call.run(controller)
    r, model = call.result, call.model

    heard = heard_stream(model)
    fit = align(heard, as_heard(source))
    assert fit.cut == len(source) and not fit.rest.any()  # all of it, once, nothing else
    # (d) Twilio never holds more than the lead (+ jitter) ahead of what the caller played
    held = [c.end - c.arrival for c in model.chunks]
    assert max(held) <= LEAD_SECS + TOLERANCE_SECS, max(held)
    assert max(held) >= LEAD_SECS - CHUNK_SECS  # and it does keep that cushion
    assert r.gaps_over_threshold == 0 and r.max_gap_secs <= TOLERANCE_SECS, r.max_gap_secs
    assert r.clears == []
    # Pipecat's bot-stopped-speaking and the text are at most the lead ahead of the ears
    heard_end = call.heard_until(float("inf"))
    for kind in ("bot_stopped", "text:last words"):
        (t,) = call.bot.log.times(kind)
        ahead = heard_end - (t - r.t0_monotonic)
        assert -TOLERANCE_SECS <= ahead <= LEAD_SECS + TOLERANCE_SECS, (kind, ahead)
    # (e) marks: about one per MARK_EVERY_SECS of audio, every one acknowledged
    out = call.bot.output
    assert out.marks_sent == len(r.marks) >= int(len(source) / RATE / MARK_EVERY_SECS)
    assert all(m.answered_at is not None for m in r.marks)
    assert out.marks_acked >= out.marks_sent - 1
    assert out.marks_acked > 0 and not out._unacked  # everything played was acknowledged
    print(
        f"lead: max held {max(held):.3f}s, max gap {r.max_gap_secs:.3f}s; "
        f"marks {out.marks_sent} sent, {out.marks_acked} acked"
    )


async def test_pause_stops_the_caller_and_resume_plays_the_rest():
    source = speech(SENTENCE)
    text_chunk = int(2.5 * RATE) // 160  # text synchronised with the audio 2.5 s in

    async def controller(call: Call) -> None:
        await say(call, source, texts={text_chunk: "middle"})
        await asyncio.sleep(1.5)
        call.now("pause")
        await call.bot.gate.pause()
        await asyncio.sleep(0.5)
        call.now("resume")
        await call.bot.gate.resume()
        await asyncio.sleep(len(source) / RATE)

    call = Call(listen_secs=len(source) / RATE + 2.5)
    await call.run(controller)
    r, model = call.result, call.model
    pause, resume = call.at("pause"), call.at("resume")

    # (a) the caller stops hearing within 100 ms (+ a chunk) of the pause
    stop_latency = call.heard_until(resume) - pause
    assert stop_latency <= 0.1 + CHUNK_SECS, stop_latency
    assert len(r.clears) == 1 and r.clears[0] - pause <= 0.1
    assert call.arrived_between(r.clears[0], resume) == []
    # (b) after resume the rest is heard: nothing missing, a short repeat at the resume point
    fit = align(heard_stream(model), as_heard(source))
    assert fit.resume_at is not None, f"audio missing after {fit.cut / RATE:.3f}s"
    assert 0 <= fit.duplicate_secs <= 0.15, fit.duplicate_secs
    assert not fit.rest.any()
    first_after = min(call.arrived_between(resume, float("inf")))
    assert first_after - resume <= 0.1
    assert r.gaps_over_threshold == 0
    # the paused output held its audio task: synchronised text and bot-stopped waited
    (text_at,) = call.bot.log.times("text:middle")
    assert text_at - r.t0_monotonic > resume
    assert [t for t in call.bot.log.times("bot_stopped") if t - r.t0_monotonic < resume] == []
    out = call.bot.output
    assert out.flushes == 1 and 0 < out.replayed_secs <= LEAD_SECS + 0.15
    gate = call.bot.gate
    assert (gate.pauses, gate.resumes, gate.auto_resumes) == (1, 1, 0)
    assert 0.45 <= gate.paused_secs <= 0.7
    print(
        f"pause: caller stopped {stop_latency * 1000:.0f} ms after pause(), clear after "
        f"{(r.clears[0] - pause) * 1000:.0f} ms; replayed {out.replayed_secs:.3f}s, "
        f"heard twice {fit.duplicate_secs * 1000:.0f} ms; resumed audio after "
        f"{(first_after - resume) * 1000:.0f} ms"
    )


async def test_discard_then_interruption_drops_the_rest():
    source, second = speech(SENTENCE), speech(SECOND)
    states: list[str] = []

    async def controller(call: Call) -> None:
        await say(call, source)
        await asyncio.sleep(1.5)
        call.now("pause")
        await call.bot.gate.pause()
        await asyncio.sleep(0.3)
        await call.bot.gate.discard()
        await call.bot.worker.queue_frame(InterruptionFrame())
        await asyncio.sleep(0.2)
        states.append(call.bot.gate.state)  # the interruption reached the output and opened it
        await asyncio.sleep(0.8)
        call.now("second")
        await say(call, second)
        await asyncio.sleep(len(second) / RATE + 1.0)

    call = Call(listen_secs=len(source) / RATE + 2.5)
    await call.run(controller)
    r, model = call.result, call.model
    pause, second_at = call.at("pause"), call.at("second")

    heard, said, reply = heard_stream(model), as_heard(source), as_heard(second)
    cut = align(heard, said).cut  # may run a few samples into the reply if they happen to match
    starts = [k for k in range(max(0, cut - 80), cut + 1)
              if np.array_equal(heard[k : k + len(reply)], reply)]
    assert starts, "the next reply was not heard whole"
    start = starts[0]  # the sentence until here, then the whole reply, then silence
    assert np.array_equal(heard[:start], said[:start]) and not heard[start + len(reply) :].any()
    assert start < len(source) - RATE  # the sentence was cut...
    assert call.heard_until(second_at) - pause <= 0.1 + CHUNK_SECS  # ...where it was paused
    assert call.arrived_between(pause + 0.1, second_at) == []  # and no more of it came
    gate = call.bot.gate
    assert states == ["open"] and gate.discards == 1 and call.bot.output.replayed_secs == 0
    assert len(r.clears) == 2  # the pause's, then Pipecat's on the interruption


async def test_pause_after_everything_played_is_harmless():
    source = speech(SECOND)

    async def controller(call: Call) -> None:
        await say(call, source)
        await asyncio.sleep(len(source) / RATE + 1.0)
        await call.bot.gate.pause()
        await asyncio.sleep(0.3)
        await call.bot.gate.resume()
        await asyncio.sleep(0.5)

    call = Call(listen_secs=len(source) / RATE + 2.5)
    await call.run(controller)
    fit = align(heard_stream(call.model), as_heard(source))
    assert fit.cut == len(source) and not fit.rest.any()
    assert call.result.clears == [] and call.bot.output.replayed_secs == 0
    assert call.bot.gate.pauses == 1 and not call.bot.gate.paused


async def test_undecided_pause_resumes_by_itself_and_end_frame_still_ends_the_call():
    source = speech(SENTENCE)

    async def controller(call: Call) -> None:
        await say(call, source)
        await asyncio.sleep(1.5)
        call.now("pause")
        await call.bot.gate.pause()
        await call.bot.worker.queue_frame(EndFrame())  # queued behind the paused audio

    call = Call(listen_secs=20.0)
    await call.run(controller)
    r, gate = call.result, call.bot.gate
    pause = call.at("pause")

    assert r.hung_up_by_bot and r.duration_secs < 15
    assert gate.auto_resumes == 1 and not gate.paused
    assert abs(gate.paused_secs - gate.max_pause_secs) < 0.2
    resumed = min(call.arrived_between(pause + 0.2, float("inf")))
    assert abs(resumed - pause - gate.max_pause_secs) < 0.2
    fit = align(heard_stream(call.model), as_heard(source))
    assert fit.resume_at is not None and fit.duplicate_secs <= 0.15
    assert not fit.rest.any()  # then the end silence only
