"""A real ``redis-server`` for fleet tests (Debian's; ``scripts/bootstrap.sh test`` installs it)."""

import pytest

from tests.fleet.redis_process import RedisProcess


@pytest.fixture
def redis_url():
    """A fresh, empty Redis on 127.0.0.1 (no persistence); stopped by PID after the test."""
    with RedisProcess() as redis:
        yield redis.url
