"""A bounded schemathesis run against the launcher's OpenAPI: no input gets a server error.

Every operation gets seeded generated requests (valid and invalid bodies, paths and queries) on a
production launcher, once without credentials and once with the API key. The big run is
``python -m bench security``; this one keeps ``make test`` within a few minutes.
"""

import pytest

from simulators.callers.api_fuzz import access_statuses, schemathesis_runs
from tests.launcher.production import API_KEY, production_env

EXAMPLES = 25  # per operation and run
pytestmark = pytest.mark.serial  # loads the machine: alone, so timing tests are not disturbed


@pytest.fixture(scope="module")
def launcher(doubles):
    from tests.launcher.process import LauncherProcess

    env = production_env(doubles, MAX_CONCURRENT_CALLS="4", MAX_BODY_BYTES=str(64 * 1024))
    with LauncherProcess(env) as running:
        yield running


def test_no_generated_request_gets_a_server_error(launcher):
    runs = schemathesis_runs(launcher.base_url, EXAMPLES, seed=16, api_key=API_KEY)
    statuses = access_statuses(launcher.log())
    assert statuses["4xx"] + statuses["2xx"] > 300, statuses  # the runs really sent requests
    assert statuses["5xx"] == 0, statuses
    # schemathesis' own exit code also counts its generation errors; the server's view decides
    assert not any("Server error" in out for _, out in runs), [out for _, out in runs]
    assert "Traceback" not in launcher.log()
