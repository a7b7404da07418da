import pytest
from pipecat.services.cartesia.stt import CartesiaSTTService
from pipecat.services.cartesia.tts import CartesiaTTSService
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.elevenlabs.tts import ElevenLabsTTSService
from pipecat.services.groq.llm import GroqLLMService
from pipecat.services.groq.stt import GroqSTTService
from pipecat.services.ollama.llm import OLLamaLLMService
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.openai.stt import OpenAISTTService
from pipecat.services.openai.tts import OpenAITTSService

from bots import PERSONAS
from providers import (
    MissingKeyError,
    ProviderOptionError,
    ProviderUnavailableError,
    UnknownProviderError,
    build_services,
)
from providers.spec import llm, stt, tts

EXPECTED = {
    "stt": {
        "deepgram": DeepgramSTTService,
        "cartesia": CartesiaSTTService,
        "groq": GroqSTTService,
        "openai": OpenAISTTService,
    },
    "llm": {"openai": OpenAILLMService, "groq": GroqLLMService, "ollama": OLLamaLLMService},
    "tts": {
        "elevenlabs": ElevenLabsTTSService,
        "cartesia": CartesiaTTSService,
        "openai": OpenAITTSService,
        "openai_compatible": OpenAITTSService,
    },
}


def _chosen(stage: str, name: str) -> dict:
    base = {"stt": stt("deepgram"), "llm": llm("openai"), "tts": tts("cartesia")}
    base[stage] = {"stt": stt, "llm": llm, "tts": tts}[stage](name)
    return base


@pytest.mark.parametrize(
    ("stage", "name"), [(stage, name) for stage, names in EXPECTED.items() for name in names]
)
async def test_each_provider_builds_its_pipecat_service(settings, stage, name):
    settings = settings.model_copy(
        update={"openai_compatible_tts_base_url": "http://127.0.0.1:9/v1"}
    )
    services = build_services(_chosen(stage, name), settings, language="en", prompt="hi")
    try:
        service = getattr(services, stage)
        # Pipecat's class itself, or Pipecat's with small overrides of ours on top (LLMs: a
        # shared TLS context and bounded requests; Deepgram STT: audio kept across a dropped
        # socket; ElevenLabs TTS: re-speaking what a dropped socket left unsaid).
        mro = type(service).__mro__
        ours = mro[: mro.index(EXPECTED[stage][name])]
        assert all(cls.__module__.startswith("providers.") for cls in ours), mro
    finally:
        await services.aclose()


async def test_calls_share_one_tls_context_instead_of_building_one_each(settings):
    """Regression: each call built two TLS contexts (~18 ms of CPU each, bench profile)."""
    from providers.tls import tls_context

    first = build_services(_chosen("llm", "openai"), settings, language="en", prompt="hi")
    second = build_services(_chosen("llm", "groq"), settings, language="en", prompt="hi")
    try:
        for services in (first, second):
            pool = services.llm._client._client._transport._pool
            assert pool._ssl_context is tls_context()
    finally:
        await first.aclose()
        await second.aclose()


async def test_persona_voice_settings_reach_the_service(settings):
    receptionist = PERSONAS["receptionist"]
    chosen = {"stt": receptionist.stt, "llm": receptionist.llm, "tts": receptionist.tts}
    services = build_services(chosen, settings, language="en", prompt="Be brief.")
    assert services.tts.settings.voice == "21m00Tcm4TlvDq8ikWAM"
    assert services.tts.settings.stability == 0.5
    assert services.tts.settings.similarity_boost == 0.75
    assert services.tts.settings.use_speaker_boost is True
    assert services.llm.settings.model == "gpt-4o-mini"
    assert services.llm.settings.system_instruction == "Be brief."
    assert services.stt.settings.model == "nova-3-general"


async def test_cartesia_speed_becomes_generation_config(settings):
    companion = PERSONAS["companion"]
    chosen = {"stt": companion.stt, "llm": companion.llm, "tts": companion.tts}
    services = build_services(chosen, settings, language="en", prompt="x")
    assert services.tts.settings.generation_config.speed == 1.05


async def test_environment_override_switches_provider_with_its_defaults(settings):
    settings = settings.model_copy(update={"tts_provider": "cartesia", "llm_provider": "groq"})
    receptionist = PERSONAS["receptionist"]
    chosen = {"stt": receptionist.stt, "llm": receptionist.llm, "tts": receptionist.tts}
    services = build_services(chosen, settings, language="en", prompt="x")
    assert isinstance(services.tts, CartesiaTTSService)
    assert services.tts.settings.voice == settings.cartesia_voice_id  # not ElevenLabs' voice
    assert isinstance(services.llm, GroqLLMService)
    assert services.llm.settings.model == settings.groq_model


def test_missing_key_names_the_variable(settings):
    settings = settings.model_copy(update={"deepgram_api_key": None})
    with pytest.raises(MissingKeyError, match="DEEPGRAM_API_KEY is not set"):
        build_services(_chosen("stt", "deepgram"), settings, language="en", prompt="x")


def test_unknown_provider_lists_the_valid_ones(settings):
    settings = settings.model_copy(update={"tts_provider": "speakomatic"})
    with pytest.raises(UnknownProviderError) as err:
        build_services(_chosen("tts", "cartesia"), settings, language="en", prompt="x")
    assert "speakomatic" in str(err.value)
    assert "cartesia, elevenlabs" in str(err.value)


def test_unknown_option_is_rejected_with_the_valid_ones(settings):
    chosen = _chosen("tts", "elevenlabs")
    chosen["tts"] = tts("elevenlabs", stabilty=0.3)  # typo
    with pytest.raises(ProviderOptionError, match="stabilty") as err:
        build_services(chosen, settings, language="en", prompt="x")
    assert "stability" in str(err.value)


@pytest.mark.parametrize(
    ("stage", "name"), [("stt", "whisper"), ("tts", "piper"), ("tts", "kokoro")]
)
def test_local_provider_without_its_package_says_what_to_install(settings, stage, name):
    with pytest.raises(ProviderUnavailableError, match=rf"pipecat-ai\[{name}\]"):
        build_services(_chosen(stage, name), settings, language="en", prompt="x")


def test_openai_compatible_tts_needs_its_base_url(settings):
    with pytest.raises(MissingKeyError, match="OPENAI_COMPATIBLE_TTS_BASE_URL"):
        build_services(_chosen("tts", "openai_compatible"), settings, language="en", prompt="x")
