"""Every route the launcher serves is either public for a stated reason or refuses strangers.

The routes are enumerated from the app itself, so a new route that nobody classified fails this
test. Each one is then called without credentials on a production launcher.
"""

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from tests.launcher.production import API_KEY, production_env

# Public routes and why. Everything else must refuse a request without credentials.
PUBLIC = {
    ("GET", "/"): "the demo page (static, no data)",
    ("GET", "/favicon.ico"): "an icon",
    ("GET", "/personas"): "persona names and descriptions, as the page shows them",
    ("GET", "/healthz"): "liveness probe, no data",
    ("GET", "/readyz"): "readiness probe, no data",
    ("GET", "/openapi.json"): "the API's description, no data",
    ("GET", "/docs"): "the API's description, no data",
    ("GET", "/docs/oauth2-redirect"): "part of /docs",
    ("GET", "/redoc"): "the API's description, no data",
    ("POST", "/api/offer"): "browser calls: rate- and call-limited per client, offer checked",
    ("PATCH", "/api/offer"): "ICE candidates for a peer connection the caller already holds",
    ("GET", "/agents"): "the agents page (static, no data: it asks for the API key)",
    ("GET", "/static/{name:path}"): "the page's own scripts (a fixed list, no data)",
    ("POST", "/console/login"): "checks the API key, then sets the console's login cookie",
    ("POST", "/console/logout"): "forgets the console's login cookie",
    ("GET", "/plivo/dial"): "Plivo XML that dials a number (a document; it places no call)",
    ("POST", "/plivo/dial"): "the same, as Plivo may fetch it with POST",
}
# Guarded routes and the refusal a stranger gets.
GUARDED = {
    ("GET", "/calls"): 401,
    ("GET", "/fleet"): 401,
    ("POST", "/fleet/rooms/rejoin"): 401,
    ("GET", "/calls/{call_id}"): 401,
    ("POST", "/calls/{call_id}/end"): 401,
    ("POST", "/calls/outbound"): 401,
    ("GET", "/metrics"): 401,
    ("POST", "/rooms"): 401,
    ("POST", "/sessions"): 401,
    ("POST", "/api/rooms"): 403,  # the page's LiveKit room: needs a session token
    ("GET", "/webhooks/events"): 401,
    ("GET", "/agent-configs"): 401,
    ("GET", "/agent-configs/personas"): 401,
    ("GET", "/agent-configs/{tenant}/{persona}"): 401,
    ("PUT", "/agent-configs/{tenant}/{persona}"): 401,
    ("DELETE", "/agent-configs/{tenant}/{persona}"): 401,
    ("GET", "/console"): 401,  # the API key or the console's login cookie
    ("GET", "/console/static/{name}"): 401,
    ("GET", "/console/api/calls"): 401,
    ("GET", "/console/api/calls/{call_id}"): 401,
    ("GET", "/console/api/calls/{call_id}/recording"): 401,
    ("POST", "/console/api/calls/{call_id}/end"): 401,
    ("GET", "/console/api/fleet"): 401,
    ("GET", "/twilio/calls"): 401,
    ("GET", "/twilio/calls/{call_sid}"): 401,
    ("POST", "/twilio/voice"): 403,  # X-Twilio-Signature
    ("POST", "/twilio/status"): 403,
    ("POST", "/livekit/webhook"): 401,  # LiveKit's signed JWT
    ("WS", "/twilio/media"): 1008,  # the one-use media token
    ("WS", "/twilio/media/{call_id}"): 1008,  # the same, in the worker it is handed to
    ("POST", "/{carrier}/voice"): 403,  # SignalWire, Telnyx, Plivo: each carrier's signature
    ("WS", "/{carrier}/media/{call_id}"): 1008,  # the one-use media token
}


def _routes(app) -> set[tuple[str, str]]:
    def walk(routes, prefix: str = ""):
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                sub = getattr(route.include_context, "prefix", "") or ""
                yield from walk(route.original_router.routes, prefix + sub)
            else:
                for method in getattr(route, "methods", None) or ["WS"]:
                    if method != "HEAD":
                        yield method, prefix + route.path

    return set(walk(app.router.routes))


@pytest.fixture(scope="module")
def production(doubles):
    from tests.launcher.process import LauncherProcess

    with LauncherProcess(production_env(doubles)) as running:
        yield running


def test_every_route_is_classified(monkeypatch):
    import server
    from config import Settings

    monkeypatch.setenv("PROCESS_MODEL", "inprocess")
    served = _routes(server.create_app(Settings(process_model="inprocess")))
    assert served == set(PUBLIC) | set(GUARDED), {
        "unclassified": served - set(PUBLIC) - set(GUARDED),
        "gone": (set(PUBLIC) | set(GUARDED)) - served,
    }


async def test_guarded_routes_refuse_strangers(production):
    async with httpx.AsyncClient(base_url=production.base_url, timeout=10) as client:
        for (method, path), expected in GUARDED.items():
            url = path.replace("{call_id}", "call_x").replace("{call_sid}", "CA1")
            url = url.replace("{tenant}", "acme").replace("{persona}", "receptionist")
            url = url.replace("{carrier}", "telnyx")
            if method == "WS":
                async with connect(f"{production.ws_url}{url}") as ws:
                    await ws.send('{"event": "connected"}')
                    await ws.send('{"event": "start", "start": {"customParameters": {}}}')
                    try:
                        await ws.recv()
                    except websockets.exceptions.ConnectionClosed:
                        pass
                    assert ws.close_code == expected, (path, ws.close_code)
                continue
            response = await client.request(method, url, json={})
            assert response.status_code == expected, (method, path, response.text)
            wrong = await client.request(
                method, url, json={}, headers={"Authorization": f"Bearer {API_KEY}x"}
            )
            assert wrong.status_code == expected, (method, path, "wrong key", wrong.text)


async def test_public_routes_answer_without_credentials(production):
    async with httpx.AsyncClient(base_url=production.base_url, timeout=10) as client:
        for method, path in PUBLIC:
            response = await client.request(method, path, json={} if method != "GET" else None)
            assert response.status_code < 500, (method, path, response.text)
            assert response.status_code not in (401, 403), (method, path)
