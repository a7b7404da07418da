"""``take_screenshot``: the caller shares a screen or tab from the page, and the LLM sees it.

The tool asks the caller's app over the client-tool bridge (``tools.client``). The launcher's
page calls ``getDisplayMedia`` (the browser asks the user what to share), grabs one frame and
answers ``{"image": "data:image/jpeg;base64,...", "width", "height"}``. The image goes into the
LLM context Pipecat's way: a ``UserImageRawFrame`` tied to the function call
(``UserImageRequestFrame.tool_call_id``), which the assistant aggregator appends as an image
message after the tool result before it runs the LLM again.

Only an LLM that takes images (``providers.vision``) is sent one. Otherwise, and without an app
(a phone call), the bot says so itself; the page is not asked to share anything.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from loguru import logger
from pipecat.frames.frames import (
    FunctionCallResultProperties,
    TTSSpeakFrame,
    UserImageRawFrame,
    UserImageRequestFrame,
)
from pipecat.services.llm_service import FunctionCallParams

from providers.vision import accepts_images
from tools.client import bridge_for
from tools.declared import ClientTool
from tools.spec import ToolSpec, error_result

NAME = "take_screenshot"
TOOL = ClientTool(
    name=NAME,
    description=(
        "Ask the caller to share their screen or a browser tab and look at one picture of it. "
        "Use it when they want you to see what is on their screen."
    ),
    timeout_secs=60,  # the caller has to pick what to share
)
NO_VISION = (
    "Sorry, I can't look at screenshots on this line, so I won't ask you to share your screen. "
    "Could you describe what you see instead?"
)
NO_APP = "Sorry, I can only see your screen when you call from the app or the web page."
MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_IMAGE_BYTES = 4 * 1024 * 1024
IMAGE_NOTE = "The caller's shared screen, captured just now."


class ImageError(ValueError):
    """The app's answer is not a usable image."""


def decode_data_url(url: Any) -> tuple[bytes, str, tuple[int, int]]:
    """The bytes, media type and size of a ``data:image/...;base64,`` URL, checked.

    Raises:
        ImageError: Not a data URL of an allowed type, too big, or not a decodable image.
    """
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise ImageError("the app sent no image data URL")
    media_type, payload = url[5:].split(";base64,", 1)
    if media_type not in MEDIA_TYPES:
        raise ImageError(f"unsupported image type {media_type or 'none'}")
    if len(payload) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise ImageError("the screenshot is too large")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("the screenshot is not valid base64") from None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            size = image.size
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ImageError("the screenshot is not a readable image") from None
    return data, media_type, size


async def _say(params: FunctionCallParams, result: dict[str, Any], sentence: str) -> None:
    await params.result_callback(result, properties=FunctionCallResultProperties(run_llm=False))
    await params.llm.push_frame(TTSSpeakFrame(sentence, append_to_context=True))


async def take_screenshot(params: FunctionCallParams, _args: dict[str, Any]) -> None:
    """Ask the app for a screenshot and put it into the LLM context as an image."""
    if not accepts_images(params.llm):
        reason = "this call's language model cannot take images"
        await _say(params, {"status": "refused", "reason": reason}, NO_VISION)
        return
    bridge = bridge_for(params)
    if bridge is None:
        await _say(params, {"status": "refused", "reason": "this call has no app"}, NO_APP)
        return
    try:
        answer = await bridge.call(NAME, {}, TOOL.timeout_secs or 60)
    except TimeoutError:
        await params.result_callback(error_result("the caller did not share a screen in time"))
        return
    if not isinstance(answer, dict) or "image" not in answer:
        error = answer.get("error") if isinstance(answer, dict) else None
        await params.result_callback(error_result(str(error or "no screenshot was shared")))
        return
    try:
        data, media_type, size = decode_data_url(answer["image"])
    except ImageError as exc:
        logger.warning(f"take_screenshot: {exc}")
        await params.result_callback(error_result(str(exc)))
        return
    request = UserImageRequestFrame(
        user_id="",
        append_to_context=True,
        function_name=params.function_name,
        tool_call_id=params.tool_call_id,
    )
    # Downstream, ahead of the result: the assistant aggregator holds it for this tool call.
    await params.llm.push_frame(
        UserImageRawFrame(
            image=data,
            size=size,
            format=media_type,
            text=IMAGE_NOTE,
            append_to_context=True,
            request=request,
        )
    )
    await params.result_callback(
        {"status": "shared", "width": size[0], "height": size[1], "image": "in the next message"}
    )


SPEC = ToolSpec(NAME, TOOL.description, {}, [], take_screenshot, speaks=True)
