"""take_screenshot's checks: which LLMs get an image, and what the app's answer must be."""

import base64
import io
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image
from pipecat.frames.frames import TTSSpeakFrame, UserImageRawFrame

from providers.vision import accepts_images, model_accepts_images
from tools.screenshot import NO_APP, NO_VISION, ImageError, decode_data_url, take_screenshot


def _jpeg_url(size: tuple[int, int] = (64, 36)) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, "JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.mark.parametrize(
    ("provider", "model", "ok"),
    [
        ("openai", "gpt-4o-mini", True),
        ("openai", "gpt-4.1-nano", True),
        ("openai", "gpt-3.5-turbo", False),
        ("openai", "o3-mini", False),
        ("groq", "llama-3.3-70b-versatile", False),
        ("groq", "meta-llama/llama-4-scout-17b-16e-instruct", True),
        ("ollama", "llama3.2", False),
        ("ollama", "llava:13b", True),
        ("openai", None, False),
        ("other", "gpt-4o", False),
    ],
)
def test_vision_table(provider: str, model: str | None, ok: bool):
    assert model_accepts_images(provider, model) is ok


def test_the_answering_service_decides_by_class_and_model():
    from pipecat.services.openai.llm import OpenAILLMService

    class Wrapped(OpenAILLMService):  # as providers.llm wraps it (timeouts, shared TLS)
        pass

    llm = Wrapped(api_key="sk-test", settings=OpenAILLMService.Settings(model="gpt-4o-mini"))
    assert accepts_images(llm)
    assert not accepts_images(SimpleNamespace(settings=SimpleNamespace(model="gpt-4o")))


def test_decode_data_url_checks_type_base64_and_pixels():
    data, media_type, size = decode_data_url(_jpeg_url((64, 36)))
    assert media_type == "image/jpeg" and size == (64, 36) and data[:2] == b"\xff\xd8"
    for bad in (None, "https://x/y.png", "data:text/plain;base64,aGk=",
                "data:image/png;base64,!!!", "data:image/png;base64,aGVsbG8="):  # fmt: skip
        with pytest.raises(ImageError):
            decode_data_url(bad)


class _Params:
    """Just what take_screenshot uses of FunctionCallParams."""

    def __init__(self, llm: Any, resources: Any = None):
        self.llm = llm
        self.app_resources = resources
        self.function_name = "take_screenshot"
        self.tool_call_id = "call_1"
        self.results: list[tuple[Any, Any]] = []

    async def result_callback(self, result: Any, properties: Any = None) -> None:
        self.results.append((result, properties))


class _LLM:
    def __init__(self, vision: bool):
        self.settings = SimpleNamespace(model="gpt-4o-mini" if vision else "gpt-3.5-turbo")
        self.pushed: list[Any] = []

    async def push_frame(self, frame: Any, *_: Any) -> None:
        self.pushed.append(frame)


_LLM.__name__ = "OpenAILLMService"  # the table knows the class by name


async def test_a_text_only_llm_is_refused_aloud_without_asking_the_app():
    params = _Params(_LLM(vision=False), {})
    await take_screenshot(params, {})  # type: ignore[arg-type]
    (result, props), = params.results  # fmt: skip
    assert result["status"] == "refused" and props.run_llm is False
    assert [f.text for f in params.llm.pushed if isinstance(f, TTSSpeakFrame)] == [NO_VISION]


async def test_a_call_without_an_app_is_refused_aloud():
    params = _Params(_LLM(vision=True), None)
    await take_screenshot(params, {})  # type: ignore[arg-type]
    assert [f.text for f in params.llm.pushed if isinstance(f, TTSSpeakFrame)] == [NO_APP]


async def test_the_apps_image_goes_in_as_a_frame_tied_to_the_tool_call():
    class Bridge:
        async def call(self, name: str, args: dict, timeout: float) -> Any:
            return {"image": _jpeg_url((80, 45)), "width": 80, "height": 45}

    params = _Params(_LLM(vision=True), {"client_tools": Bridge()})
    await take_screenshot(params, {})  # type: ignore[arg-type]
    (frame,) = params.llm.pushed
    assert isinstance(frame, UserImageRawFrame) and frame.append_to_context
    assert frame.format == "image/jpeg" and frame.size == (80, 45)
    assert frame.request is not None and frame.request.tool_call_id == "call_1"
    assert params.results[0][0]["status"] == "shared"


async def test_a_refusal_from_the_page_reaches_the_llm_as_an_error():
    class Bridge:
        async def call(self, name: str, args: dict, timeout: float) -> Any:
            return {"error": "the caller did not share a screen"}

    params = _Params(_LLM(vision=True), {"client_tools": Bridge()})
    await take_screenshot(params, {})  # type: ignore[arg-type]
    assert params.results == [({"error": "the caller did not share a screen"}, None)]
    assert params.llm.pushed == []
