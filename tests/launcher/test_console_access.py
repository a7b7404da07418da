"""The calls console is never public in production: every route refuses strangers over HTTP.

A real launcher in production mode: the page, its scripts and its JSON answer 401 without the
API key or the login cookie; the login gives an HttpOnly, SameSite=Strict cookie derived from
the key; a cookie-authenticated POST needs the console's header too (no cross-site form can
end a call). In development the console is open, like the API.
"""

import time

import httpx
import pytest

from config import Settings
from launcher.console_auth import COOKIE, SESSION_SECS, cookie_valid, session_cookie
from tests.launcher.process import LauncherProcess
from tests.launcher.production import API_KEY, production_env

GUARDED = [
    ("GET", "/console"),
    ("GET", "/console/static/console.js"),
    ("GET", "/console/api/calls"),
    ("GET", "/console/api/calls?status=active"),
    ("GET", "/console/api/calls/call_x"),
    ("GET", "/console/api/calls/call_x/recording"),
    ("POST", "/console/api/calls/call_x/end"),
    ("GET", "/console/api/fleet"),
]
CONSOLE_HEADER = {"X-Switchboard-Console": "1"}


@pytest.fixture(scope="module")
def production(doubles):
    with LauncherProcess(production_env(doubles)) as running:
        yield running


def _signed(cookie: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={cookie}"}


async def test_strangers_are_refused_everywhere_in_production(production):
    async with httpx.AsyncClient(base_url=production.base_url, timeout=10) as client:
        forged = f"{int(time.time()) + 3600}.{'0' * 64}"
        settings = Settings(_env_file=None, switchboard_api_key=API_KEY)
        expired = session_cookie(settings, now=time.time() - SESSION_SECS - 5)
        for method, path in GUARDED:
            for headers in (
                {},
                {"Authorization": f"Bearer {API_KEY}x"},
                {"X-API-Key": "nope"},
                _signed(forged),
                _signed(expired),
            ):
                response = await client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert "console.js" not in response.text  # no console, no data
        # The page's 401 is the sign-in form, so a browser can sign in.
        page = await client.get("/console")
        assert page.status_code == 401 and 'id="login"' in page.text
        assert page.headers["content-type"].startswith("text/html")
        wrong = await client.post("/console/login", json={"key": API_KEY + "x"})
        assert wrong.status_code == 401 and COOKIE not in wrong.headers.get("set-cookie", "")


async def test_the_key_or_the_login_cookie_lets_the_operator_in(production):
    async with httpx.AsyncClient(base_url=production.base_url, timeout=10) as client:
        keyed = await client.get("/console/api/calls", headers={"X-API-Key": API_KEY})
        assert keyed.status_code == 200 and keyed.json() == []
        bearer = await client.get(
            "/console/api/fleet", headers={"Authorization": f"Bearer {API_KEY}"}
        )
        [host] = bearer.json()["hosts"]
        assert bearer.status_code == 200 and host["capacity"] > 0 and host["active"] == 0

        login = await client.post("/console/login", json={"key": API_KEY})
        assert login.status_code == 204
        set_cookie = login.headers["set-cookie"]
        assert set_cookie.startswith(f"{COOKIE}=") and API_KEY not in set_cookie
        lowered = set_cookie.lower()
        assert "httponly" in lowered and "samesite=strict" in lowered and "path=/console" in lowered
        cookie = client.cookies[COOKIE]
        page = await client.get("/console")
        assert page.status_code == 200 and "/console/static/console.js" in page.text
        assert (await client.get("/console/static/console.js")).status_code == 200
        assert (await client.get("/console/api/calls")).status_code == 200
        assert (await client.get("/console/api/calls/call_x")).status_code == 404
        # A cookie alone cannot end a call (a cross-site form could send it): the header is needed.
        assert (await client.post("/console/api/calls/call_x/end")).status_code == 401
        ended = await client.post("/console/api/calls/call_x/end", headers=CONSOLE_HEADER)
        assert ended.status_code == 404  # signed in; there is no such call

        out = await client.post("/console/logout")
        assert out.status_code == 204 and COOKIE not in client.cookies
        assert (await client.get("/console/api/calls")).status_code == 401
    # The cookie names no user and holds no key: signing out only forgets it in this browser.
    # Rotating SWITCHBOARD_API_KEY invalidates every cookie (below).
    assert cookie_valid(Settings(_env_file=None, switchboard_api_key=API_KEY), cookie)


def test_cookies_are_derived_from_the_key_and_expire():
    settings = Settings(_env_file=None, switchboard_api_key=API_KEY)
    rotated = Settings(_env_file=None, switchboard_api_key=API_KEY + "-rotated")
    cookie = session_cookie(settings)
    assert cookie_valid(settings, cookie)
    assert not cookie_valid(rotated, cookie)
    assert not cookie_valid(settings, cookie, now=time.time() + SESSION_SECS + 1)
    expires, _, signature = cookie.partition(".")
    assert not cookie_valid(settings, f"{int(expires) + 60}.{signature}")  # a longer session
    assert not cookie_valid(Settings(_env_file=None), cookie)  # no key configured: no cookie


async def test_the_console_is_open_in_development(launcher_factory):
    launcher = launcher_factory()
    async with httpx.AsyncClient(base_url=launcher.base_url, timeout=10) as client:
        page = await client.get("/console")
        assert page.status_code == 200 and "/console/static/console.js" in page.text
        assert (await client.get("/console/api/calls")).json() == []
