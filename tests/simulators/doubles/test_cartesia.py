"""CartesiaSTTService and CartesiaTTSService against the Cartesia doubles."""

from __future__ import annotations

from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.services.cartesia.stt import CartesiaSTTService
from pipecat.services.cartesia.tts import CartesiaTTSService

from simulators.doubles.harness import run_pipeline, transcribe

REPLY = ["Sure thing.", " The weather in Paris", " is sunny today."]


async def test_cartesia_stt_transcribes_after_finalize(doubles):
    phrase = "cancel my appointment"
    await doubles.client.astt_phrases([phrase, "hello there"])
    env = doubles.env()
    rate = 16000
    stt = CartesiaSTTService(
        api_key=env["CARTESIA_API_KEY"],
        base_url=env["CARTESIA_BASE_URL"],
        settings=CartesiaSTTService.Settings(model="ink-whisper"),
    )
    collector = await transcribe(stt, phrase, rate)
    text = " ".join(f.text for f in collector.of(TranscriptionFrame)).lower()
    assert phrase in text.replace(".", "")
    stats = (await doubles.client.astats())["services"]["cartesia_stt"]
    assert stats["finalize"] >= 1 and stats["done"] == 1 and stats["open"] == 0


async def test_cartesia_tts_streams_audio_and_cumulative_words(doubles):
    env = doubles.env()
    tts = CartesiaTTSService(
        api_key=env["CARTESIA_API_KEY"],
        url=f"{env['CARTESIA_BASE_URL']}/tts/websocket",
        settings=CartesiaTTSService.Settings(voice="a0e99841-438c-4a64-b679-ae501e7d6091"),
    )

    async def drive(worker, collector):
        await worker.queue_frames(
            [LLMFullResponseStartFrame(), *[LLMTextFrame(t) for t in REPLY]]
            + [LLMFullResponseEndFrame()]
        )
        await collector.wait_for(lambda c: c.of(TTSStoppedFrame), timeout=10)

    collector = await run_pipeline([tts], drive, params=PipelineParams(audio_out_sample_rate=24000))
    audio = collector.of(TTSAudioRawFrame)
    assert audio and all(f.sample_rate == 24000 for f in audio)
    seconds = sum(len(f.audio) for f in audio) / 2 / 24000
    assert seconds > 1.5
    spoken = " ".join(f.text for f in collector.of(TTSTextFrame))
    assert spoken.split() == "".join(REPLY).split()
    stats = (await doubles.client.astats())["services"]["cartesia_tts"]
    assert stats["contexts"] == 1 and stats["open"] == 0
