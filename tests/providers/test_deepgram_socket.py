"""Regression: Deepgram's audio websocket must not compress 20 ms PCM chunks."""

from pipecat.frames.frames import InputAudioRawFrame
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import SleepFrame, run_test

from config import Settings
from providers import build_services
from providers.spec import llm, stt, tts


async def test_deepgram_audio_socket_is_not_deflated(doubles):
    doubles.client.reset()
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in doubles.env().items()})
    services = build_services(
        {"stt": stt("deepgram"), "llm": llm("openai"), "tts": tts("cartesia")},
        settings,
        language="en",
        prompt="x",
    )
    silence = InputAudioRawFrame(audio=b"\0" * 320, sample_rate=8000, num_channels=1)
    try:
        await run_test(
            services.stt,
            frames_to_send=[silence, SleepFrame(sleep=0.5), silence],
            pipeline_params=PipelineParams(audio_in_sample_rate=8000),
        )
    finally:
        await services.aclose()
    deepgram = doubles.client.stats()["services"]["deepgram"]
    assert deepgram["opened"] >= 1
    assert deepgram.get("deflate_sockets", 0) == 0  # the bench saw deflate eat 17 % of a core
