"""Keep a call host's start-up heap out of the garbage collector's full passes.

Before its first call a call host imports Pipecat and the provider SDKs, loads Silero and
smart-turn and builds one call per persona: about 200,000 objects that live as long as the
process. CPython's full (generation 2) collection walks every tracked object, so with 20 calls
on one worker each full pass held the event loop for 150-360 ms (measured with
``gc.callbacks`` during ``python -m bench calls --calls 20``): every call on that worker froze
at once, heard as an audio gap, a late greeting or a late reply.

``gc.freeze()`` moves everything alive at that point to the permanent generation, which the
collector no longer walks. The calls' own objects are still collected as before.
"""

from __future__ import annotations

import gc

from loguru import logger


def freeze_startup_heap() -> int:
    """Collect once, then exempt every object alive now from later collections.

    Call it once start-up is done (imports, models, warm-up builds), before the first call.

    Returns:
        How many objects are now frozen.
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.debug(f"start-up heap frozen: {frozen} objects the collector will skip")
    return frozen
