"""The agents API over HTTP: a real launcher, its real SQLite file (operator issue, part 3).

CRUD of tenants' ``agent_configs`` rows, validation against the persona's own models with one
error per bad field, and the API key in production.
"""

from pathlib import Path

import httpx
import pytest

from storage.sqlite import SQLiteStorage
from tests.launcher.process import LauncherProcess
from tests.launcher.production import API_KEY, production_env

A = "/agent-configs"
FULL = {
    "prompt": "You answer the phone for the green garden shop.",
    "greeting": "Welcome to the green garden shop.",
    "voice_id": "gardenVoice000000001",
    "voice_settings": {"stability": 0.8},
    "providers": {"llm": {"provider": "groq", "model": "llama-3.1-8b-instant"}},
    "tools": [
        {
            "name": "check_order",
            "description": "Look up an order by its number.",
            "url": "https://crm.example.com/orders",
            "parameters": {"type": "object", "properties": {"number": {"type": "string"}}},
        }
    ],
    "webhook_urls": ["https://hooks.example.com/calls"],
    "recording": False,
    "turns": {"max_wait_secs": 2.5, "barge_in": "immediate", "extra_backchannels": ["you bet"]},
    "enabled": True,
}


@pytest.fixture(scope="module")
def launcher(doubles):
    with LauncherProcess({**doubles.env(), "GROQ_API_KEY": ""}) as running:
        yield running


@pytest.fixture
def api(launcher):
    with httpx.Client(base_url=launcher.base_url, timeout=20) as client:
        yield client


async def _rows_in_file(launcher) -> list:
    storage = SQLiteStorage(Path(launcher.env["DATA_DIR"]) / "switchboard.db")
    await storage.open()
    try:
        return await storage.list_agent_configs()
    finally:
        await storage.close()


async def test_configs_are_created_read_replaced_listed_and_deleted(api, launcher):
    assert api.get(A).json() == []
    created = api.put(f"{A}/acme/receptionist", json=FULL)
    assert created.status_code == 201, created.text
    stored = created.json()["config"]
    assert {k: stored[k] for k in FULL} == FULL
    assert (stored["tenant"], stored["persona"]) == ("acme", "receptionist")
    # Stored, with what would stop a call here: this launcher has no Groq key.
    [problem] = created.json()["problems"]
    assert problem.startswith("GROQ_API_KEY is not set"), problem
    assert api.get(f"{A}/acme/receptionist").json() == stored
    # The row is in the launcher's SQLite file, as calls read it.
    [row] = await _rows_in_file(launcher)
    assert (row.greeting, row.turns, row.recording) == (FULL["greeting"], FULL["turns"], False)
    # PUT replaces the whole row: what it leaves out goes back to the persona file.
    replaced = api.put(f"{A}/acme/receptionist", json={"greeting": "Hello from the garden shop."})
    assert replaced.status_code == 200, replaced.text
    again = api.get(f"{A}/acme/receptionist").json()
    assert again["greeting"] == "Hello from the garden shop." and again["prompt"] is None
    assert again["turns"] == {} and again["tools"] == [] and again["recording"] is None
    assert again["updated_at"] > stored["updated_at"]
    assert api.put(f"{A}/acme/coach", json={"enabled": False}).status_code == 201
    assert api.put(f"{A}/beta/receptionist", json={"greeting": "   "}).status_code == 201
    listed = [(c["tenant"], c["persona"], c["enabled"]) for c in api.get(A).json()]
    assert listed == [
        ("acme", "coach", False),
        ("acme", "receptionist", True),
        ("beta", "receptionist", True),
    ]
    assert api.get(f"{A}/beta/receptionist").json()["greeting"] is None  # blank keeps the file's
    assert [c["persona"] for c in api.get(A, params={"tenant": "acme"}).json()] == [
        "coach",
        "receptionist",
    ]
    deleted = api.delete(f"{A}/acme/coach")
    assert deleted.status_code == 204 and deleted.content == b""
    assert api.delete(f"{A}/acme/coach").status_code == 404
    assert api.get(f"{A}/acme/coach").status_code == 404
    assert [(r.tenant, r.persona) for r in await _rows_in_file(launcher)] == [
        ("acme", "receptionist"),
        ("beta", "receptionist"),
    ]
    for path in ("acme/receptionist", "beta/receptionist"):
        assert api.delete(f"{A}/{path}").status_code == 204
    missing = api.put(f"{A}/acme/sales_bot", json={"greeting": "Hi."})
    assert missing.status_code == 404 and "unknown persona 'sales_bot'" in missing.json()["detail"]


def _errors(response: httpx.Response) -> dict[tuple, str]:
    assert response.status_code == 422, response.text
    return {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}


def test_invalid_values_are_refused_with_one_error_per_field(api):
    bad = {
        "providers": {"tts": {"provider": "no_such_tts"}, "video": {"provider": "x"}},
        "tools": [
            {"name": "bad name", "description": "x", "url": "https://x.example.com"},
            {"name": "no_url", "description": "x"},
            {"name": "book_appointment", "description": "x", "url": "https://x.example.com"},
        ],
        "webhook_urls": ["ftp://files.example.com"],
        "turns": {"max_wait_secs": 9, "barge_in": "sometimes", "colour": "red"},
    }
    errors = _errors(api.put(f"{A}/vet/receptionist", json=bad))
    assert "no_such_tts" in errors[("body", "providers", "tts", "provider")]
    assert "elevenlabs" in errors[("body", "providers", "tts", "provider")]  # what is offered
    assert "unknown stage" in errors[("body", "providers", "video")]
    assert "letters, digits" in errors[("body", "tools", 0, "name")]
    assert "Field required" in errors[("body", "tools", 1, "url")]
    assert "exists" in errors[("body", "tools", 2, "name")]  # a catalogue tool of the persona
    assert "http(s)" in errors[("body", "webhook_urls", 0)]
    assert "less than or equal to 4" in errors[("body", "turns", "max_wait_secs")]
    assert "'adaptive', 'immediate' or 'off'" in errors[("body", "turns", "barge_in")]
    assert "not permitted" in errors[("body", "turns", "colour")]
    assert len(errors) == 9, errors
    # A rule across fields of the merged settings: the persona's cap is 1.5 s.
    # Options the provider does not have, found by building it as a call would.
    options = {"voice_settings": {"stabilty": 0.5}, "providers": {"stt": {"options": {"x": 1}}}}
    unknown = _errors(api.put(f"{A}/vet/receptionist", json=options))
    assert set(unknown) == {
        ("body", "voice_settings", "stabilty"),
        ("body", "providers", "stt", "options", "x"),
    }, unknown
    assert "valid: " in unknown[("body", "voice_settings", "stabilty")]
    cross = _errors(api.put(f"{A}/vet/receptionist", json={"turns": {"hold_secs": 2.0}}))
    assert cross == {("body", "turns"): "Value error, hold_secs must not exceed max_wait_secs"}
    # The body's own shape: unknown fields and wrong types, each named.
    shaped = {"colour": "red", "recording": "maybe", "greeting": 5}
    shape = _errors(api.put(f"{A}/vet/receptionist", json=shaped))
    assert set(shape) == {("body", "colour"), ("body", "recording"), ("body", "greeting")}
    tenant = _errors(api.put(f"{A}/bad tenant!/receptionist", json={}))
    assert set(tenant) == {("path", "tenant")}
    assert api.get(f"{A}/vet/receptionist").status_code == 404  # nothing refused was stored


def test_the_page_gets_each_personas_values_providers_and_turn_fields(api, launcher):
    defaults = api.get(f"{A}/personas").json()
    personas = {p["name"]: p for p in defaults["personas"]}
    assert set(personas) == {"receptionist", "coach", "companion", "assistant"}
    receptionist = personas["receptionist"]
    assert receptionist["greeting"].startswith("Thank you for calling {business_name}")
    assert receptionist["providers"]["tts"]["provider"] == "elevenlabs"
    assert receptionist["turns"]["max_wait_secs"] == 1.5
    assert "cartesia" in defaults["providers"]["tts"] and "groq" in defaults["providers"]["llm"]
    turn_fields = defaults["turn_schema"]["properties"]
    assert turn_fields["max_wait_secs"]["maximum"] == 4.0
    assert turn_fields["barge_in"]["enum"] == ["adaptive", "immediate", "off"]
    page = launcher.get("/agents")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "sessionStorage" in page.text and "/agent-configs" in page.text
    assert "<script src" not in page.text and "<link" not in page.text  # no CDN, no build


@pytest.fixture(scope="module")
def production(doubles):
    with LauncherProcess(production_env(doubles)) as running:
        yield running


def test_production_refuses_the_agents_api_without_the_key(production):
    routes = [
        ("GET", "/agent-configs"),
        ("GET", "/agent-configs/personas"),
        ("GET", "/agent-configs/acme/receptionist"),
        ("PUT", "/agent-configs/acme/receptionist"),
        ("DELETE", "/agent-configs/acme/receptionist"),
    ]
    body = {"greeting": "Intruders welcome."}
    with httpx.Client(base_url=production.base_url, timeout=20) as client:
        for method, path in routes:
            for headers in ({}, {"Authorization": f"Bearer {API_KEY}x"}, {"X-API-Key": "nope"}):
                refused = client.request(method, path, json=body, headers=headers)
                assert refused.status_code == 401, (method, path, headers, refused.text)
        key = {"Authorization": f"Bearer {API_KEY}"}
        assert client.get("/agent-configs", headers=key).json() == []  # nothing got in
        assert client.put("/agent-configs/acme/receptionist", json=body, headers=key).is_success
        assert client.get("/agent-configs", headers={"X-API-Key": API_KEY}).json()[0]["greeting"]
        assert client.delete("/agent-configs/acme/receptionist", headers=key).status_code == 204
        page = client.get("/agents")  # the page itself is static: it asks for the key
        assert page.status_code == 200 and "Intruders" not in page.text
