"""Log set-up at the edge: one loguru sink at ``LOG_LEVEL`` (Pipecat logs through loguru too)."""

from __future__ import annotations

import sys

from loguru import logger


def configure_logging(level: str) -> None:
    """Send logs to stderr at ``level`` (DEBUG shows every Pipecat frame event)."""
    logger.remove()
    logger.add(sys.stderr, level=level.upper(), backtrace=False, diagnose=False)
