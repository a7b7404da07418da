"""Safe templating for greetings and prompts: ``{name}`` placeholders, nothing else.

``str.format`` would let a template reach attributes (``{x.__class__}``); this only replaces
plain ``{word}`` placeholders with known values, then tidies the whitespace they leave.
"""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}", re.IGNORECASE)
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:])")
_SPACES = re.compile(r"[ \t]{2,}")


def render(template: str, values: dict[str, str], defaults: dict[str, str] | None = None) -> str:
    """Fill ``{placeholders}`` from ``values``, then ``defaults``, else drop them.

    Args:
        template: Text with ``{name}`` placeholders.
        values: Values known for this call (caller name, scenario, ...).
        defaults: Fallbacks for placeholders the call does not know.

    Returns:
        The rendered text, with whitespace left by empty placeholders tidied.
    """
    fallbacks = defaults or {}

    def _sub(match: re.Match[str]) -> str:
        key = match.group(1)
        return values.get(key) or fallbacks.get(key, "")

    text = _PLACEHOLDER.sub(_sub, template)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()
