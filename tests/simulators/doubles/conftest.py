"""Fixtures: one doubles subprocess per test session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.doubles import DoublesProcess


@pytest.fixture(scope="session")
def doubles_session() -> Iterator[DoublesProcess]:
    with DoublesProcess() as d:
        yield d


@pytest.fixture
def doubles(doubles_session: DoublesProcess) -> DoublesProcess:
    assert doubles_session.client is not None
    doubles_session.client.reset()
    return doubles_session
