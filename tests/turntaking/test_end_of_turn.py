"""Smart-turn judges the speech when the STT hears it end, not 0.2 s later at the VAD's stop.

Incident (``bench turns``, 20 calls): the model ran only after the VAD's stop, queued behind
other calls' inferences on the shared threads, and 13 of 60 complete turns waited for it until
0.45 s of silence (``model_late``), ending ~0.5 s after the voice instead of ~0.2 s. Run
through the real user aggregator, the real smart-turn model and the real OpenAI LLM service
(the double); what the LLM service lets out is what the TTS would speak.
"""

from __future__ import annotations

import asyncio
import os
import time
from types import SimpleNamespace

import numpy as np
from pipecat.frames.frames import (
    InputAudioRawFrame,
    LLMTextFrame,
    MetricsFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TurnMetricsData
from pipecat.pipeline.task import PipelineParams
from pipecat.utils.time import time_now_iso8601

from simulators.doubles.harness import Collector, run_pipeline
from tests.bots.turn_line import item
from tests.turntaking.line import user_and_llm
from turntaking.acoustic import TurnModel
from turntaking.models import smart_turn_executor

RATE = 8000
CHUNK = 160  # 20 ms, as Twilio sends it
SAID = "My name is Sarah Johnson."  # neutral words: smart-turn has a say
REPLY = "Nice to meet you, Sarah."
PARAMS = PipelineParams(audio_in_sample_rate=RATE)


async def _play(worker, pcm: np.ndarray) -> None:
    for start in range(0, len(pcm), CHUNK):
        chunk = pcm[start : start + CHUNK].tobytes()
        await worker.queue_frame(InputAudioRawFrame(chunk, RATE, 1))


def _silence(secs: float) -> np.ndarray:
    return np.zeros(int(secs * RATE), dtype=np.int16)


def _endpoint_final(text: str) -> TranscriptionFrame:
    """A final the STT sent on its own endpoint (Deepgram marks it ``speech_final``)."""
    return TranscriptionFrame(
        text, "caller", time_now_iso8601(), result=SimpleNamespace(speech_final=True)
    )


def _judged(collector: Collector) -> int:
    return sum(isinstance(d, TurnMetricsData) for f in collector.of(MetricsFrame) for d in f.data)


async def _occupy_smart_turn_threads(secs: float) -> list[asyncio.Future]:
    """Other calls' inferences: every shared smart-turn thread busy for ``secs``."""
    loop = asyncio.get_running_loop()
    executor = smart_turn_executor()
    return [loop.run_in_executor(executor, time.sleep, secs) for _ in range(os.cpu_count() or 1)]


async def test_busy_smart_turn_threads_do_not_delay_a_turn_the_stt_already_endpointed(doubles):
    doubles.client.reset()
    await doubles.client.allm_rules([{"match": "Sarah", "reply": REPLY, "first_token_ms": 50}])
    speech = item("statement", SAID, "festival-slt-hts")
    assert speech.rate == RATE
    busy: list[asyncio.Future] = []
    released = {}

    async def drive(worker, collector: Collector) -> None:
        await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.2))
        await _play(worker, np.concatenate([speech.pcm, _silence(0.06)]))
        await worker.queue_frame(_endpoint_final(SAID))  # the STT heard the speech end
        await asyncio.sleep(0.3)  # a free thread judges 1.5 s of speech in ~40 ms
        busy.extend(await _occupy_smart_turn_threads(1.5))
        await _play(worker, _silence(0.14))
        await asyncio.sleep(0.1)  # the audio is in before the VAD's (system) stop overtakes it
        stopped = time.monotonic()
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await collector.wait_for(lambda c: c.of(LLMTextFrame), timeout=5)
        released["after_stop"] = collector.first_time(LLMTextFrame) - stopped

    try:
        collector = await run_pipeline(
            list(user_and_llm(doubles, model=TurnModel())),
            drive,
            PipelineParams(audio_in_sample_rate=RATE),
        )
    finally:
        await asyncio.gather(*busy)  # the shared threads are free again for the next test
    # Before: smart-turn ran again at the stop, behind the busy threads, and the reply waited
    # ~1.25 s (the model's 0.45 s wait on a stalled audio clock). Now the verdict is in hand.
    assert released["after_stop"] < 0.5, released
    assert "".join(f.text for f in collector.of(LLMTextFrame)) == REPLY
    assert _judged(collector) == 1, "the speech was judged once"


async def test_voice_after_the_endpoint_is_judged_again_with_the_rest(doubles):
    doubles.client.reset()
    await doubles.client.allm_rules([{"match": "Sarah", "reply": REPLY, "first_token_ms": 50}])
    first = item("statement", SAID, "festival-slt-hts")
    more = item("statement", SAID, "festival-kal")  # the caller carries on talking

    async def drive(worker, collector: Collector) -> None:
        await worker.queue_frame(VADUserStartedSpeakingFrame(start_secs=0.2))
        await _play(worker, np.concatenate([first.pcm, _silence(0.06)]))
        await worker.queue_frame(_endpoint_final(SAID))
        await asyncio.sleep(0.3)
        await _play(worker, np.concatenate([_silence(0.1), more.pcm, _silence(0.2)]))
        await asyncio.sleep(0.1)
        times["stop"] = time.monotonic()
        await worker.queue_frame(VADUserStoppedSpeakingFrame(stop_secs=0.2))
        await collector.wait_for(lambda c: c.of(LLMTextFrame), timeout=5)

    times: dict[str, float] = {}
    collector = await run_pipeline(
        list(user_and_llm(doubles, model=TurnModel())),
        drive,
        PipelineParams(audio_in_sample_rate=RATE),
    )
    # A verdict on the first sentence alone would be stale: the whole turn was judged again.
    verdicts = [
        t
        for t, f in collector.frames
        if isinstance(f, MetricsFrame) and any(isinstance(d, TurnMetricsData) for d in f.data)
    ]
    assert verdicts and verdicts[-1] > times["stop"], (verdicts, times)
    assert "".join(f.text for f in collector.of(LLMTextFrame)) == REPLY
