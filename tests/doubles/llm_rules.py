"""Scripted replies of the chat-completions double."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

RULE_KEYS = {
    "match",
    "after_tool",
    "reply",
    "tool_calls",
    "first_token_ms",
    "tokens_per_sec",
    "once",
}


@dataclass
class Reply:
    """What the double will stream back."""

    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    first_token_ms: int | None = None
    tokens_per_sec: float | None = None
    rule_index: int | None = None


def validate_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check rule shapes and fill defaults.

    Args:
        rules: Rules as sent by a test.

    Returns:
        Normalized copies.

    Raises:
        ValueError: On unknown keys or a rule with neither reply nor tool_calls.
    """
    out = []
    for rule in rules:
        unknown = set(rule) - RULE_KEYS
        if unknown:
            raise ValueError(f"unknown rule keys: {sorted(unknown)}")
        if not rule.get("reply") and not rule.get("tool_calls"):
            raise ValueError("a rule needs a reply or tool_calls")
        for call in rule.get("tool_calls") or []:
            if not isinstance(call.get("name"), str):
                raise ValueError("each tool call needs a name")
        out.append({"once": False, **rule, "_used": False})
    return out


def content_text(content: Any) -> str:
    """Flatten OpenAI message content (string or list of parts) to text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str | None:
    """Text of the last ``user`` message, if any."""
    for msg in reversed(messages):
        if msg.get("role") == "user":
            return content_text(msg.get("content"))
    return None


def last_tool_name(messages: list[dict[str, Any]]) -> str | None:
    """Name of the tool whose result is the last message, if it is one."""
    if not messages or messages[-1].get("role") != "tool":
        return None
    call_id = messages[-1].get("tool_call_id")
    for msg in reversed(messages):
        for call in msg.get("tool_calls") or []:
            if call.get("id") == call_id:
                return (call.get("function") or {}).get("name")
    return None


def choose_reply(rules: list[dict[str, Any]], messages: list[dict[str, Any]]) -> Reply:
    """Pick the first matching rule, or the default echo reply.

    A rule with ``after_tool`` only matches when the last message is that tool's
    result; a rule without it only matches when the last message is not a tool result.
    ``match`` is a case-insensitive substring of the last user message.

    Args:
        rules: Normalized rules (mutated: ``once`` rules get used up).
        messages: The request's messages.

    Returns:
        The reply to stream.
    """
    user = last_user_text(messages)
    tool = last_tool_name(messages)
    for i, rule in enumerate(rules):
        if rule["once"] and rule["_used"]:
            continue
        if rule.get("after_tool") != tool:
            continue
        match = rule.get("match")
        if match is not None and (user is None or match.lower() not in user.lower()):
            continue
        rule["_used"] = True
        return Reply(
            rule.get("reply") or "",
            list(rule.get("tool_calls") or []),
            rule.get("first_token_ms"),
            rule.get("tokens_per_sec"),
            i,
        )
    if user:
        return Reply(f"I heard: {user.strip()}.")
    return Reply("Hello! How can I help you today?")


def tool_call_arguments(call: dict[str, Any]) -> str:
    """JSON-encode a scripted tool call's arguments."""
    args = call.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args)
