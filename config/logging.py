"""Log set-up at the edge: one loguru sink at ``LOG_LEVEL`` (Pipecat logs through loguru too).

Every line carries the call id (``call=...``) when it was logged while handling a call: the
runner binds it with ``logger.contextualize``, and Pipecat's tasks inherit it.
"""

from __future__ import annotations

import sys

from loguru import logger

FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
    "call={extra[call_id]} | <cyan>{name}</cyan>:<cyan>{function}</cyan> - <level>{message}</level>"
)


def configure_logging(level: str) -> None:
    """Send logs to stderr at ``level`` (DEBUG shows every Pipecat frame event)."""
    logger.remove()
    logger.configure(extra={"call_id": "-"})
    logger.add(sys.stderr, level=level.upper(), format=FORMAT, backtrace=False, diagnose=False)
