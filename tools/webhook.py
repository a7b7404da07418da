"""Declarative webhook tools: the LLM's call is POSTed, signed and timed out, to a URL.

Request: ``POST url`` with the JSON body ``{"tool", "arguments", "call_id"}``, signed exactly
like our business webhooks (``webhooks.signing``): ``Switchboard-Timestamp: <unix seconds>``
and ``Switchboard-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`` under the tool's
secret, so one verification snippet (README) serves both. n8n "Webhook" nodes accept it as is.

The receiver's JSON answer goes back to the LLM as the tool result. A timeout, a refused
connection, a non-2xx status or a non-JSON body give the LLM ``{"error": "..."}`` instead, so it
can apologise and the call goes on.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from loguru import logger
from pipecat.services.llm_service import FunctionCallParams

from config import Settings
from tools.declared import WebhookTool
from tools.spec import ToolSpec, error_result
from webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


async def post_webhook(
    tool: WebhookTool, url: str, secret: str | None, timeout: float, arguments: dict, call_id: str
) -> Any:
    """POST one tool call and return what goes back to the LLM (the result, or an error)."""
    body = json.dumps(
        {"tool": tool.name, "arguments": arguments, "call_id": call_id}, separators=(",", ":")
    ).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)  # same scheme as events
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            resp = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        logger.warning(f"[{call_id}] webhook tool {tool.name}: timed out after {timeout:g}s")
        return error_result(f"{tool.name} did not answer in time")
    except httpx.HTTPError as exc:
        logger.warning(f"[{call_id}] webhook tool {tool.name}: {type(exc).__name__}")
        return error_result(f"{tool.name} could not be reached")
    ms = (time.monotonic() - started) * 1000
    if resp.status_code >= 300:
        logger.warning(
            f"[{call_id}] webhook tool {tool.name}: HTTP {resp.status_code} ({ms:.0f} ms)"
        )
        return error_result(f"{tool.name} failed (HTTP {resp.status_code})")
    logger.info(f"[{call_id}] webhook tool {tool.name}: HTTP {resp.status_code} in {ms:.0f} ms")
    if not resp.content:
        return {"status": "ok"}
    try:
        return resp.json()
    except ValueError:
        return {"result": resp.text[:4000]}


def resolve(value: str | None, settings: Settings) -> str | None:
    """A declared value, with ``$NAME`` read from the setting ``NAME`` (None when unset)."""
    if not value or not value.startswith("$"):
        return value or None
    found = getattr(settings, value[1:].lower(), None)
    if found is None:
        return None
    return found.get_secret_value() if hasattr(found, "get_secret_value") else str(found) or None


def setting_names(tool: WebhookTool) -> list[str]:
    """The settings a tool refers to with ``$NAME`` (checked when a persona is registered)."""
    secret = tool.secret.get_secret_value() if tool.secret else ""
    return [v[1:] for v in (tool.url, secret) if v.startswith("$")]


def webhook_spec(tool: WebhookTool, settings: Settings) -> ToolSpec | None:
    """The tool for a call, or None when its URL is not configured (it is then not offered)."""
    url = resolve(tool.url, settings)
    if not url:
        logger.info(f"webhook tool {tool.name} not offered: {tool.url} is not set")
        return None
    secret = resolve(tool.secret.get_secret_value() if tool.secret else None, settings)
    timeout = tool.timeout_secs or float(getattr(settings, "webhook_tool_timeout_secs", 10.0))

    async def run(params: FunctionCallParams, args: dict[str, Any]) -> None:
        call = (params.app_resources or {}).get("call")
        call_id = call.ctx.call_id if call is not None else ""
        await params.result_callback(await post_webhook(tool, url, secret, timeout, args, call_id))

    return ToolSpec(
        tool.name, tool.description, tool.properties, tool.required, run, parameters=tool.parameters
    )
