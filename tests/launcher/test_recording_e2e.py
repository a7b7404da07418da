"""Recording a 2-minute phone call: streamed to a stereo WAV, RSS flat, right duration."""

import asyncio
import time
import wave
from pathlib import Path

import numpy as np

from simulators.callers.script import Say, Wait, WaitForBotSilence
from storage.sqlite import SQLiteStorage
from tests.bots.scenario import BOOKING
from tests.eventually import aeventually

CALL_SECS = 120


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def _sample_rss(pid: int, t0: float, samples: list[tuple[float, float]]) -> None:
    while True:
        samples.append((time.monotonic() - t0, _rss_mb(pid)))
        await asyncio.sleep(2.0)


def _rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if len(pcm) else 0.0


async def test_two_minute_call_is_recorded_in_stereo_with_flat_rss(
    doubles, twilio_caller, launcher_factory, tmp_path
):
    doubles.client.reset()
    doubles.client.stt_phrases([BOOKING])
    doubles.client.llm_rules([{"match": "book an appointment", "reply": "Sure, what time?"}])
    launcher = launcher_factory(
        DATA_DIR=str(tmp_path), RECORDING_ENABLED="true", IDLE_HANGUP_SECS="300"
    )
    caller = twilio_caller(launcher)
    script: list = [WaitForBotSilence(timeout=15)]
    # A turn every ~11 s, real-time μ-law both ways all along, until the hang-up at CALL_SECS.
    # The pauses stay well under the receptionist's user_idle_secs (10 s): a caller speaking
    # just as its second idle period ran out was (rightly) told goodbye, and the call was short.
    for _ in range(14):
        script += [Say(BOOKING), WaitForBotSilence(timeout=15), Wait(7)]
    t0 = time.monotonic()
    samples: list[tuple[float, float]] = []
    sampler = asyncio.create_task(_sample_rss(launcher.proc.pid, t0, samples))
    call = asyncio.create_task(caller.run(script))
    await asyncio.sleep(CALL_SECS - (time.monotonic() - t0))
    caller.hang_up()
    result = await call
    sampler.cancel()
    assert result.connected and result.errors == [], result.errors
    print("launcher RSS during the call (s, MB):", [(round(t), round(m, 1)) for t, m in samples])
    at_half = next(m for t, m in samples if t >= 30)
    at_two = [m for t, m in samples if t >= 115][0]
    print(f"RSS at 0.5 min {at_half:.1f} MB, at 2 min {at_two:.1f} MB: {at_two - at_half:+.1f} MB")
    assert at_two - at_half < 10, "RSS grows with the call's length"

    storage = SQLiteStorage(tmp_path / "switchboard.db")
    await storage.open()
    try:

        async def recorded():
            [record] = await storage.list_calls()
            return record if record.recording_url else None

        record = await aeventually(recorded, 10, "the call's recording URL")
        recording = await storage.get_recording(record.id)
        events = await storage.list_events()
    finally:
        await storage.close()
    assert record.recording_url and recording is not None, record
    assert events == []  # no WEBHOOK_URLS: nothing queued
    with wave.open(record.recording_url, "rb") as wav:
        channels, rate, frames = wav.getnchannels(), wav.getframerate(), wav.getnframes()
        pcm = np.frombuffer(wav.readframes(frames), dtype=np.int16).reshape(-1, 2)
    duration = frames / rate
    print(f"WAV: {channels} ch, {rate} Hz, {duration:.2f} s; call {result.duration_secs:.2f} s")
    assert channels == 2 and rate == 8000
    assert abs(duration - result.duration_secs) <= 1.0
    assert recording.channels == 2 and abs(recording.duration_secs - duration) < 0.01
    # Caller on the left, bot on the right: while the caller speaks the left channel carries
    # the voice; during the greeting the right one does.
    turn = result.turns[0]
    said = pcm[int(turn.start * rate) : int(turn.end * rate)]
    greeting = result.bot_utterances[0]
    heard = pcm[int(greeting.start * rate) : int(greeting.end * rate)]
    print(f"caller turn RMS L/R {_rms(said[:, 0]):.0f}/{_rms(said[:, 1]):.0f}, "
          f"greeting RMS L/R {_rms(heard[:, 0]):.0f}/{_rms(heard[:, 1]):.0f}")
    assert _rms(said[:, 0]) > 5 * max(_rms(said[:, 1]), 1)
    assert _rms(heard[:, 1]) > 5 * max(_rms(heard[:, 0]), 1)
