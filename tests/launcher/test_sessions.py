"""Who a browser call is comes from the operator's session token, never from the page (F2).

A real launcher answers real SDP offers; what it decided about each call is read back from its
SQLite database, as an operator (or the companion's memory) would see it.
"""

import json
import sqlite3

import httpx
import pytest

from launcher.sessions import SessionError, SessionTokens
from simulators.callers.offers import sdp_offer
from tests.eventually import aeventually
from tests.launcher.process import LauncherProcess
from tests.launcher.production import API_KEY, production_env

KEY = {"X-API-Key": API_KEY}


def _launcher(doubles, data_dir, **extra: str) -> LauncherProcess:
    env = production_env(doubles, DATA_DIR=str(data_dir), CONNECT_TIMEOUT_SECS="2", **extra)
    env |= {"SWITCHBOARD_ICE_LOOPBACK_ONLY": "1", "MAX_BODY_BYTES": str(256 * 1024)}
    return LauncherProcess(env)


@pytest.fixture(scope="module")
def production(doubles, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    with _launcher(doubles, data) as running:
        running.data_dir = data
        yield running


async def _offer(launcher, **request_data: str) -> httpx.Response:
    body = {"sdp": await sdp_offer(), "type": "offer", "request_data": request_data}
    async with httpx.AsyncClient(base_url=launcher.base_url, timeout=30) as client:
        return await client.post("/api/offer", json=body)


async def _call_rows(launcher, count: int) -> list[dict]:
    def rows() -> list[dict] | None:
        with sqlite3.connect(f"file:{launcher.data_dir}/switchboard.db?mode=ro", uri=True) as db:
            db.row_factory = sqlite3.Row
            found = [dict(r) for r in db.execute("SELECT * FROM calls ORDER BY started_at")]
        return found if len(found) >= count else None

    return await aeventually(rows, 5, f"{count} call rows")


async def test_anonymous_offer_is_refused_in_production(production):
    response = await _offer(production, persona="companion", tenant="acme")
    assert response.status_code == 403 and "session" in response.json()["detail"]


async def test_session_token_decides_who_the_caller_is(production):
    session = httpx.post(
        f"{production.base_url}/sessions",
        headers=KEY,
        json={"persona": "companion", "tenant": "acme", "user": {"id": "u-1", "name": "Ann"}},
    )
    assert session.status_code == 200, session.text
    token = session.json()["token"]
    assert httpx.post(f"{production.base_url}/sessions", json={}).status_code == 401

    claimed = await _offer(
        production, session=token, persona="companion", tenant="evil", user_id="victim-user",
        caller_number="+15550001111",
    )
    assert claimed.status_code == 200, claimed.text
    [row] = await _call_rows(production, 1)
    assert (row["tenant"], row["caller_key"], row["caller_number"]) == ("acme", "u-1", None)

    other = await _offer(production, session=token, persona="coach")
    assert other.status_code == 403 and "companion" in other.json()["detail"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert (await _offer(production, session=forged)).status_code == 401


async def test_anonymous_offer_carries_no_tenant_or_user(doubles, tmp_path):
    with _launcher(doubles, tmp_path, ANONYMOUS_CALLS="true") as launcher:
        launcher.data_dir = tmp_path
        response = await _offer(
            launcher, persona="companion", tenant="acme", user_id="victim-user",
            caller_number="+15550001111", caller_key="victim-user", metadata="{}",
        )
        assert response.status_code == 200, response.text
        [row] = await _call_rows(launcher, 1)
    assert (row["tenant"], row["caller_key"], row["caller_number"]) == ("default", None, None)
    # Nothing the caller sent: only the host that ran the call (``metadata.host``).
    assert set(json.loads(row["metadata"] or "{}")) <= {"host"}, row["metadata"]


def test_session_tokens_expire_and_cannot_be_altered():
    now = [1000.0]
    tokens = SessionTokens(b"k" * 32, clock=lambda: now[0])
    token, expiry = tokens.issue({"tenant": "acme"}, ttl_secs=60)
    assert expiry == 1060 and tokens.check(token)["tenant"] == "acme"
    body, mac = token.split(".")
    with pytest.raises(SessionError, match="forged"):
        tokens.check(body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac)
    with pytest.raises(SessionError, match="forged"):
        SessionTokens(b"other" * 8, clock=lambda: now[0]).check(token)
    now[0] = 1061
    with pytest.raises(SessionError, match="expired"):
        tokens.check(token)
    for junk in (None, 5, "", "a.b.c", "x" * 20_000):
        with pytest.raises(SessionError):
            tokens.check(junk)
