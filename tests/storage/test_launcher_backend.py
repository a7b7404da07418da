"""The real launcher on the Supabase backend, and refusing to start when it is half configured."""

from __future__ import annotations

import pytest

from tests.launcher.process import LauncherProcess


def test_the_launcher_runs_on_supabase(doubles, postgrest):
    with LauncherProcess({**doubles.env(), **postgrest.env()}) as launcher:
        assert launcher.get("/healthz").json() == {"status": "ok"}


def test_supabase_without_url_or_key_stops_the_launcher_with_a_clear_message(doubles):
    env = {**doubles.env(), "STORAGE_BACKEND": "supabase", "SUPABASE_URL": ""}
    with pytest.raises(RuntimeError) as failed:
        LauncherProcess(env, startup_timeout=90).start()
    assert "needs SUPABASE_URL and SUPABASE_SERVICE_KEY" in str(failed.value)
