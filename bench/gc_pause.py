"""Keep the bench's own garbage collector from pausing its callers mid-level.

The simulated callers, their audio and the bench's records live in one Python process. A full
collection there froze every caller at once for ~110 ms ("caller stalled 0.116s" on all 15
callers of a pinned level at the same instant): their audio arrived late at the product and
the bot's audio was read late, which the callers counted as the bot's audio gaps, and a level
the product held was marked broken. As ``timeit`` does, the cyclic collector is off while a
level runs and collects between levels; reference counting still frees nearly everything
(audio arrays hold no cycles).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_collector_pauses() -> Iterator[None]:
    """Collect now, keep the cyclic collector off inside the block, collect after it."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()
