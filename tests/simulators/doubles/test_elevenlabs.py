"""ElevenLabsTTSService against the ElevenLabs multi-stream-input double."""

from __future__ import annotations

import time

from pipecat.frames.frames import (
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TTSAudioRawFrame,
    TTSStoppedFrame,
    TTSTextFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.services.elevenlabs.tts import ElevenLabsTTSService

from simulators.doubles.harness import run_pipeline

REPLY = ["Hello there.", " Your appointment is booked", " for tomorrow morning."]


async def test_elevenlabs_streams_audio_and_aligned_words(doubles):
    env = doubles.env()
    tts = ElevenLabsTTSService(
        api_key=env["ELEVENLABS_API_KEY"],
        url=env["ELEVENLABS_BASE_URL"],
        settings=ElevenLabsTTSService.Settings(voice="21m00Tcm4TlvDq8ikWAM"),
    )
    sent_at = {}

    async def drive(worker, collector):
        sent_at["t"] = time.monotonic()
        await worker.queue_frames(
            [LLMFullResponseStartFrame(), *[LLMTextFrame(t) for t in REPLY]]
            + [LLMFullResponseEndFrame()]
        )
        await collector.wait_for(lambda c: c.of(TTSStoppedFrame), timeout=10)

    collector = await run_pipeline([tts], drive, params=PipelineParams(audio_out_sample_rate=16000))
    audio = collector.of(TTSAudioRawFrame)
    assert audio and all(f.sample_rate == 16000 for f in audio)
    first = collector.first_time(TTSAudioRawFrame) - sent_at["t"]
    assert 0.1 <= first < 1.5, first
    spoken = " ".join(f.text for f in collector.of(TTSTextFrame))
    assert spoken.split() == "".join(REPLY).split()
    stats = (await doubles.client.astats())["services"]["elevenlabs"]
    assert stats["contexts"] == 1 and stats["close_socket"] == 1 and stats["open"] == 0


async def test_elevenlabs_armed_drop_closes_mid_context(doubles):
    """``drop`` with ``after_audio``: the next context's socket closes after its Nth audio."""
    import json

    import websockets

    env = doubles.env()
    await doubles.client.areset()
    await doubles.client.adrop_mid_reply("elevenlabs", after_audio=2, code=1011)
    url = (
        f"{env['ELEVENLABS_BASE_URL']}/v1/text-to-speech/v/multi-stream-input"
        "?model_id=eleven_flash_v2_5&output_format=pcm_16000&auto_mode=true"
    )
    audio = 0
    async with websockets.connect(
        url, additional_headers={"xi-api-key": env["ELEVENLABS_API_KEY"]}
    ) as ws:
        await ws.send(json.dumps({"text": " ", "context_id": "c1"}))
        await ws.send(json.dumps({"text": " ".join(REPLY) + " ", "context_id": "c1"}))
        await ws.send(json.dumps({"context_id": "c1", "flush": True}))
        try:
            async for message in ws:
                audio += bool(json.loads(message).get("audio"))
        except websockets.ConnectionClosedError:
            pass
        assert ws.close_code == 1011 and audio == 2, (ws.close_code, audio)
    stats = (await doubles.client.astats())["services"]["elevenlabs"]
    assert stats["scripted_drops"] == 1
