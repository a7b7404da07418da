"""Tenant overrides from agent_configs rows (real SQLite)."""

import pytest

from bots import get_persona
from runner.tenant import TenantConfigError, apply_tenant_config, override
from storage.base import AgentConfig


async def test_row_overrides_prompt_greeting_voice_providers_tools_and_recording(storage):
    base = get_persona("receptionist")
    tool = {"name": "check_order", "url": "https://crm.example.com/orders", "parameters": {}}
    await storage.put_agent_config(
        AgentConfig(
            tenant="acme",
            persona="receptionist",
            prompt="You answer for the green garden shop.",
            greeting="Welcome to the green garden shop.",
            voice_id="voice-acme",
            voice_settings={"stability": 0.9},
            providers={"llm": {"provider": "groq", "model": "llama-3.1-8b-instant"}},
            tools=[tool],
            recording=True,
        )
    )
    persona = await apply_tenant_config(storage, base, "acme")
    assert persona.prompt == "You answer for the green garden shop."
    assert persona.greeting == "Welcome to the green garden shop."
    assert persona.tts.provider == "elevenlabs" and persona.tts.voice == "voice-acme"
    assert persona.tts.options["stability"] == 0.9
    assert persona.tts.options["similarity_boost"] == base.tts.options["similarity_boost"]
    assert (persona.llm.provider, persona.llm.model) == ("groq", "llama-3.1-8b-instant")
    assert persona.llm.options == {}  # another provider: the file's OpenAI options do not apply
    assert persona.webhook_tools == (tool,)
    assert persona.recording is True
    assert persona.stt == base.stt and persona.tools == base.tools
    # Other tenants and personas keep the file.
    assert await apply_tenant_config(storage, base, "other") == base
    assert await apply_tenant_config(storage, get_persona("coach"), "acme") == get_persona("coach")


async def test_empty_fields_keep_the_persona_file(storage):
    base = get_persona("coach")
    await storage.put_agent_config(AgentConfig(tenant="t1", persona="coach", greeting="Hello."))
    persona = await apply_tenant_config(storage, base, "t1")
    assert persona == base.with_overrides(greeting="Hello.")


def test_disabled_row_refuses_the_call():
    base = get_persona("receptionist")
    row = AgentConfig(tenant="acme", persona="receptionist", enabled=False)
    with pytest.raises(TenantConfigError, match="disabled for tenant 'acme'"):
        override(base, row)


def test_malformed_provider_override_is_a_clear_error():
    base = get_persona("receptionist")
    row = AgentConfig(tenant="acme", persona="receptionist", providers={"tts": {"voic": "x"}})
    with pytest.raises(TenantConfigError, match="providers.tts"):
        override(base, row)
    row = AgentConfig(tenant="acme", persona="receptionist", providers={"video": {}})
    with pytest.raises(TenantConfigError, match="unknown stages"):
        override(base, row)


async def test_tenant_names_are_validated(storage):
    with pytest.raises(TenantConfigError, match="invalid tenant"):
        await apply_tenant_config(storage, get_persona("coach"), "../etc'; drop")


async def test_row_changes_turn_settings_on_top_of_the_persona_file(storage):
    base = get_persona("receptionist")
    turns = {"max_wait_secs": 2.5, "barge_in": "immediate", "extra_backchannels": ["you bet"]}
    await storage.put_agent_config(AgentConfig(tenant="acme", persona="receptionist", turns=turns))
    persona = await apply_tenant_config(storage, base, "acme")
    assert (persona.turns.max_wait_secs, persona.turns.barge_in) == (2.5, "immediate")
    assert persona.turns.extra_backchannels == ("you bet",)
    unchanged = {"max_wait_secs", "barge_in", "extra_backchannels"}
    assert persona.turns.model_dump(exclude=unchanged) == base.turns.model_dump(exclude=unchanged)
    assert base.turns.max_wait_secs != 2.5  # the file itself is untouched


def test_invalid_turn_settings_are_a_clear_error():
    base = get_persona("receptionist")
    for turns, field in (({"max_wait_secs": 9}, "max_wait_secs"), ({"colour": 1}, "colour")):
        row = AgentConfig(tenant="acme", persona="receptionist", turns=turns)
        with pytest.raises(TenantConfigError, match=f"(?s)turns is not valid.*{field}"):
            override(base, row)
