"""Scripted replies of the chat-completions double."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

RULE_KEYS = {
    "match",
    "context_match",
    "after_tool",
    "reply",
    "tool_calls",
    "first_token_ms",
    "tokens_per_sec",
    "once",
    "status",
    "model",
}


@dataclass
class Reply:
    """What the double will stream back."""

    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    first_token_ms: int | None = None
    tokens_per_sec: float | None = None
    rule_index: int | None = None
    status: int | None = None  # answer with this HTTP error instead (a scripted outage)


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
        if not rule.get("reply") and not rule.get("tool_calls") and not rule.get("status"):
            raise ValueError("a rule needs a reply, tool_calls or an error status")
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


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def schema_instance(schema: dict[str, Any]) -> Any:
    """The smallest value a JSON schema accepts (what JSON mode answers without a rule)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: schema_instance(props.get(k, {})) for k in schema.get("required", props)}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(kind)


def choose_reply(
    rules: list[dict[str, Any]],
    messages: list[dict[str, Any]],
    json_schema: dict[str, Any] | None = None,
    model: str | None = None,
) -> Reply:
    """Pick the first matching rule, or the default echo reply.

    A rule with ``after_tool`` only matches when the last message is that tool's
    result; a rule without it only matches when the last message is not a tool result.
    ``match`` is a case-insensitive substring of the last user message. In JSON mode
    (``json_schema`` given, ``{}`` for ``json_object``) only rules answering a JSON object
    (or an error status) apply, and without one the answer is the schema's smallest instance,
    as the real APIs never answer JSON mode with prose. A rule with ``model`` only matches
    requests for that model (a primary failing while a backup on another model answers).

    Args:
        rules: Normalized rules (mutated: ``once`` rules get used up).
        messages: The request's messages.
        json_schema: The request's response schema in JSON mode, else None.
        model: The request's model.

    Returns:
        The reply to stream.
    """
    user = last_user_text(messages)
    tool = last_tool_name(messages)
    for i, rule in enumerate(rules):
        if rule["once"] and rule["_used"]:
            continue
        if json_schema is not None and not (
            rule.get("status") or _is_json_object(rule.get("reply") or "")
        ):
            continue
        if rule.get("after_tool") != tool:
            continue
        if rule.get("model") is not None and rule["model"] != model:
            continue
        match = rule.get("match")
        if match is not None and (user is None or match.lower() not in user.lower()):
            continue
        context_match = rule.get("context_match")
        if context_match is not None and not any(
            context_match.lower() in content_text(m.get("content")).lower() for m in messages
        ):
            continue
        rule["_used"] = True
        return Reply(
            rule.get("reply") or "",
            list(rule.get("tool_calls") or []),
            rule.get("first_token_ms"),
            rule.get("tokens_per_sec"),
            i,
            rule.get("status"),
        )
    if json_schema is not None:
        return Reply(json.dumps(schema_instance(json_schema or {"type": "object"})))
    if user:
        return Reply(f"I heard: {user.strip()}.")
    return Reply("Hello! How can I help you today?")


def tool_call_arguments(call: dict[str, Any]) -> str:
    """JSON-encode a scripted tool call's arguments."""
    args = call.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args)
