"""Wait until something a test observes is true, instead of a hand-written polling loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float, what: str, every: float = 0.2) -> T:
    """``probe()``'s first truthy value within ``timeout`` seconds.

    Raises:
        AssertionError: Naming ``what`` was waited for, when it never came.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


async def aeventually(
    probe: Callable[[], T | Awaitable[T]], timeout: float, what: str, every: float = 0.1
) -> T:
    """:func:`eventually` for async tests: ``probe`` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(every)
