"""Log set-up at the edge: one loguru sink at ``LOG_LEVEL`` (Pipecat logs through loguru too).

Every line carries the call id (``call=...``) when it was logged while handling a call: the
runner binds it with ``logger.contextualize``, and Pipecat's tasks inherit it.

Control characters in a message are escaped, so a value from outside (a ``CallSid`` carrying
a newline and a fake ``| ERROR |`` line) cannot forge a log line.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from loguru import logger

FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
    "call={extra[call_id]} | <cyan>{name}</cyan>:<cyan>{function}</cyan> - <level>{message}</level>"
)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def escape(text: str) -> str:
    """``text`` with every control character written as its Python escape, as ``repr`` does."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _escape_message(record: Any) -> None:
    record["message"] = escape(record["message"])


def configure_logging(level: str) -> None:
    """Send logs to stderr at ``level`` (DEBUG shows every Pipecat frame event)."""
    logger.remove()
    logger.configure(extra={"call_id": "-"}, patcher=_escape_message)
    logger.add(sys.stderr, level=level.upper(), format=FORMAT, backtrace=False, diagnose=False)
