"""At runtime the services run at the transport's rates (real services against the doubles)."""

import pytest
from pipecat.frames.frames import TTSAudioRawFrame, TTSSpeakFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import SleepFrame, run_test

from bots import PERSONAS
from config import Settings
from providers import build_services
from providers.tts import tts_output_rate
from transports.kinds import AUDIO, TransportKind


@pytest.fixture
def doubles_settings(doubles) -> Settings:
    env = {k.lower(): v for k, v in doubles.env().items()}
    return Settings(_env_file=None, **env)


@pytest.mark.parametrize("kind", [TransportKind.TWILIO, TransportKind.WEBRTC, TransportKind.LOCAL])
@pytest.mark.parametrize("name", sorted(PERSONAS))
async def test_services_run_at_the_transport_rates(doubles_settings, kind, name):
    persona = PERSONAS[name]
    audio = AUDIO[kind]
    services = build_services(
        {"stt": persona.stt, "llm": persona.llm, "tts": persona.tts},
        doubles_settings,
        language=persona.language,
        prompt=persona.prompt,
    )
    try:
        down, _ = await run_test(
            Pipeline([services.stt, services.tts]),
            frames_to_send=[TTSSpeakFrame("Hello there."), SleepFrame(sleep=1.5)],
            pipeline_params=PipelineParams(
                audio_in_sample_rate=audio.in_rate, audio_out_sample_rate=audio.out_rate
            ),
        )
    finally:
        await services.aclose()
    assert services.stt.sample_rate == audio.in_rate
    chunks = [f for f in down if isinstance(f, TTSAudioRawFrame)]
    assert chunks, f"{name}: no speech for the greeting"
    expected = tts_output_rate(services.specs["tts"].provider, audio.out_rate)
    assert {f.sample_rate for f in chunks} == {expected}
