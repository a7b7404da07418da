"""OpenAI/Groq speech and segmented transcription services against the audio doubles."""

from __future__ import annotations

from pipecat.frames.frames import (
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStoppedFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.services.groq.stt import GroqSTTService
from pipecat.services.groq.tts import GroqTTSService
from pipecat.services.openai.stt import OpenAISTTService
from pipecat.services.openai.tts import OpenAITTSService

from simulators.doubles.harness import run_pipeline, transcribe


async def _speak(tts, rate):
    async def drive(worker, collector):
        await worker.queue_frame(TTSSpeakFrame("Goodbye, and have a nice day."))
        await collector.wait_for(lambda c: c.of(TTSStoppedFrame), timeout=10)

    return await run_pipeline([tts], drive, params=PipelineParams(audio_out_sample_rate=rate))


async def test_openai_tts_streams_pcm_24k(doubles):
    env = doubles.env()
    tts = OpenAITTSService(
        api_key=env["OPENAI_API_KEY"],
        base_url=env["OPENAI_BASE_URL"],
        settings=OpenAITTSService.Settings(voice="alloy"),
    )
    collector = await _speak(tts, 24000)
    audio = collector.of(TTSAudioRawFrame)
    assert len(audio) > 3 and all(f.sample_rate == 24000 for f in audio)
    assert sum(len(f.audio) for f in audio) / 2 / 24000 > 1.0


async def test_groq_tts_returns_one_wav(doubles, monkeypatch):
    env = doubles.env()
    monkeypatch.setenv("GROQ_BASE_URL", env["GROQ_BASE_URL"])
    tts = GroqTTSService(api_key=env["GROQ_API_KEY"])
    collector = await _speak(tts, 24000)
    audio = collector.of(TTSAudioRawFrame)
    assert audio and sum(len(f.audio) for f in audio) > 24000


async def _transcribe(stt, phrase, rate=16000):
    collector = await transcribe(stt, phrase, rate)
    return " ".join(f.text for f in collector.of(TranscriptionFrame)).lower().replace(".", "")


async def test_openai_and_groq_segmented_stt(doubles):
    phrase = "i would like to book an appointment for tomorrow"
    await doubles.client.astt_phrases([phrase, "goodbye"])
    env = doubles.env()
    openai_stt = OpenAISTTService(
        api_key=env["OPENAI_API_KEY"],
        base_url=env["OPENAI_BASE_URL"],
        settings=OpenAISTTService.Settings(model="gpt-4o-transcribe"),
    )
    assert phrase in await _transcribe(openai_stt, phrase)
    groq_stt = GroqSTTService(
        api_key=env["GROQ_API_KEY"],
        base_url=f"{env['GROQ_BASE_URL']}/openai/v1",
        include_prob_metrics=True,
    )
    assert "goodbye" in await _transcribe(groq_stt, "goodbye")
    stats = (await doubles.client.astats())["services"]
    assert stats["openai_transcriptions"]["requests"] >= 1
    assert stats["groq_transcriptions"]["requests"] >= 1
