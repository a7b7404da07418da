"""An LLM request that cannot hang: bounded time to first token and between tokens.

An LLM that stops answering (incident: 30.6 s of dead air while the provider hung) costs the
caller at most ``first_token_secs`` before its first token and ``idle_secs`` between tokens.
The request then fails like any other provider error (``ErrorCategory.CONNECTIVITY``), so
the call's backup LLM answers instead (``providers.failover``), or the reply watch apologises.

Errors get one quick retry, not the OpenAI client's two: a failing provider is handed to the
backup (or the apology) after about half a second, not after 1.4 s of back-off. A request
that timed out is not retried on the same provider: the caller has already waited the bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import cache
from typing import Any

from pipecat.utils.errors import ErrorCategory

QUICK_RETRIES = 1


class LLMStalled(TimeoutError):
    """The LLM sent no token within its bound (Pipecat reports it as a completion timeout)."""


class BoundedStream:
    """A chat-completion stream that raises :class:`LLMStalled` when it stops flowing.

    Args:
        stream: The OpenAI SDK's ``AsyncStream`` of chunks.
        first_deadline: Loop time by which the first token must have come.
        idle_secs: Longest wait for each token after the first.
    """

    def __init__(self, stream: Any, first_deadline: float, idle_secs: float) -> None:
        self._stream = stream
        self._first_deadline = first_deadline
        self._idle_secs = idle_secs

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        chunks = self._stream.__aiter__()
        flowing = False  # a token came: from now on only the gaps are bounded
        try:
            while True:
                wait = self._idle_secs if flowing else self._first_deadline - loop.time()
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), max(0.0, wait))
                except StopAsyncIteration:
                    return
                except TimeoutError as e:
                    which = "next" if flowing else "first"
                    raise LLMStalled(f"no {which} token within {wait:.1f} s") from e
                flowing = flowing or _has_token(chunk)
                yield chunk
        finally:
            if hasattr(chunks, "aclose"):
                await chunks.aclose()

    async def close(self) -> None:
        """Close the underlying stream (Pipecat closes every stream it read)."""
        await self._stream.close()


def _has_token(chunk: Any) -> bool:
    choices = getattr(chunk, "choices", None) or []
    delta = getattr(choices[0], "delta", None) if choices else None
    return bool(delta and (delta.content or delta.tool_calls))


@cache
def bounded(service_class: type) -> type:
    """A subclass of an OpenAI-compatible Pipecat LLM service whose requests are bounded.

    ``get_chat_completions`` and ``create_client`` are the extension points Pipecat's
    ``BaseOpenAILLMService`` offers; the service is otherwise unchanged. The subclass takes
    two more keyword arguments, ``first_token_secs`` and ``idle_secs``.
    """

    def __init__(
        self: Any, *args: Any, first_token_secs: float = 4.0, idle_secs: float = 5.0, **kw: Any
    ) -> None:
        service_class.__init__(self, *args, **kw)
        self._first_token_secs = first_token_secs
        self._idle_secs = idle_secs

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = service_class.create_client(self, *args, **kwargs)
        return client.with_options(max_retries=QUICK_RETRIES)

    async def get_chat_completions(self: Any, context: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._first_token_secs
        try:  # the response headers come first; they count against the first token
            stream = await asyncio.wait_for(
                service_class.get_chat_completions(self, context), self._first_token_secs
            )
        except TimeoutError as e:
            raise LLMStalled(f"no response within {self._first_token_secs:.1f} s") from e
        return BoundedStream(stream, deadline, self._idle_secs)

    def _classify_error(self: Any, exception: Exception) -> ErrorCategory | None:
        from openai import APIConnectionError

        if isinstance(exception, APIConnectionError):  # includes the SDK's own timeouts
            return ErrorCategory.CONNECTIVITY
        return service_class._classify_error(self, exception)

    namespace = {
        "__init__": __init__,
        "create_client": create_client,
        "get_chat_completions": get_chat_completions,
        "_classify_error": _classify_error,
        "__module__": __name__,
    }
    return type(service_class.__name__, (service_class,), namespace)
