"""Client-executed tools: the LLM asks the caller's app to act, and awaits its answer.

Protocol (RTVI, over whatever data channel the transport has: the WebRTC data channel, LiveKit
or Daily data messages):

- server → app: an RTVI ``server-message`` whose data is
  ``{"type": "client-tool-call", "name", "arguments", "call_id"}``;
- app → server: an RTVI ``client-message`` ``{"t": "client-tool-result",
  "d": {"call_id", "result"}}``.

The answer is awaited for ``CLIENT_TOOL_TIMEOUT_SECS``; no answer, or a call without an app
(phone, local mic), gives the LLM ``{"error": ...}``. The launcher's page answers
``get_battery_level``, ``get_location``, ``set_flashlight`` and ``vibrate`` where the browser
can (``launcher/static/client_tools.js``), and otherwise says honestly that it cannot.
``take_screenshot`` (``tools.screenshot``) uses this bridge and puts the answer in as an image.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import MutableMapping
from typing import Any

from loguru import logger
from pipecat.processors.frameworks.rtvi import RTVIProcessor
from pipecat.services.llm_service import FunctionCallParams

from config import Settings
from tools.declared import ClientTool
from tools.spec import ToolSpec, error_result

CALL_TYPE = "client-tool-call"
RESULT_TYPE = "client-tool-result"
_BRIDGE_KEY = "client_tools"

# Device tools any app may implement; personas list them by name like catalogue tools.
DEVICE_TOOLS: tuple[ClientTool, ...] = (
    ClientTool(
        name="get_battery_level",
        description="Read the battery level (percent) and charging state of the caller's device.",
    ),
    ClientTool(
        name="get_location",
        description="Read the caller's current location (latitude, longitude) from their device.",
    ),
    ClientTool(
        name="set_flashlight",
        description="Turn the flashlight of the caller's phone on or off.",
        parameters={
            "type": "object",
            "properties": {"on": {"type": "boolean", "description": "True to switch it on."}},
            "required": ["on"],
        },
    ),
    ClientTool(
        name="vibrate",
        description="Make the caller's phone vibrate, e.g. as a reminder nudge.",
        parameters={
            "type": "object",
            "properties": {
                "milliseconds": {
                    "type": "integer",
                    "minimum": 50,
                    "maximum": 5000,
                    "description": "How long to vibrate.",
                },
            },  # fmt: skip
            "required": ["milliseconds"],
        },
    ),
)


class ClientToolBridge:
    """One call's pending client-tool requests, answered by the app's client messages."""

    def __init__(self, rtvi: RTVIProcessor):
        self._rtvi = rtvi
        self._pending: dict[str, asyncio.Future[Any]] = {}
        rtvi.add_event_handler("on_client_message", self._on_client_message)

    async def call(self, name: str, arguments: dict[str, Any], timeout: float) -> Any:
        """Ask the app to run ``name`` and wait for its result.

        Raises:
            TimeoutError: The app did not answer within ``timeout`` seconds.
        """
        call_id = f"ct_{uuid.uuid4().hex[:16]}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            await self._rtvi.send_server_message(
                {"type": CALL_TYPE, "name": name, "arguments": arguments, "call_id": call_id}
            )
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(call_id, None)

    async def _on_client_message(self, _rtvi: Any, message: Any) -> None:
        if getattr(message, "type", None) != RESULT_TYPE or not isinstance(message.data, dict):
            return
        future = self._pending.get(str(message.data.get("call_id")))
        if future is not None and not future.done():
            future.set_result(message.data.get("result"))


def bridge_for(params: FunctionCallParams) -> ClientToolBridge | None:
    """The call's bridge (made on first use), or None when the call has no app (no RTVI)."""
    resources = params.app_resources
    if not isinstance(resources, MutableMapping):
        return None
    bridge = resources.get(_BRIDGE_KEY)
    if bridge is None:
        try:
            rtvi = params.pipeline_worker.rtvi
        except Exception:  # RTVI is off: a phone or local call has no app to ask
            return None
        bridge = resources[_BRIDGE_KEY] = ClientToolBridge(rtvi)
    return bridge


def client_spec(tool: ClientTool, settings: Settings | None) -> ToolSpec:
    """The tool that forwards ``tool`` to the caller's app."""
    timeout = tool.timeout_secs or float(getattr(settings, "client_tool_timeout_secs", 10.0))

    async def run(params: FunctionCallParams, args: dict[str, Any]) -> None:
        bridge = bridge_for(params)
        if bridge is None:
            await params.result_callback(
                error_result(f"{tool.name} needs the caller's app; this call has none")
            )
            return
        try:
            result = await bridge.call(tool.name, args, timeout)
        except TimeoutError:
            logger.warning(f"client tool {tool.name}: no answer from the app in {timeout:g}s")
            result = error_result(f"the caller's device did not answer {tool.name} in time")
        await params.result_callback(result if result is not None else {"status": "ok"})

    return ToolSpec(
        tool.name, tool.description, tool.properties, tool.required, run, parameters=tool.parameters
    )
