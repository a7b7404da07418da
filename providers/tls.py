"""One verified TLS context per process, shared by every call's HTTP clients.

Each new ``httpx`` client loads the CA bundle into a fresh ``SSLContext`` (~18 ms of CPU on
this 2-core machine). Pipecat's OpenAI-compatible services and the Deepgram SDK each made one
per call, which was most of the time it took to build a call (bench: 40 ms -> 4 ms). The
context is immutable once built, so sharing it across calls and event loops is safe.
"""

from __future__ import annotations

import ssl
from functools import cache, lru_cache
from typing import Any

import certifi


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """The process's verified client TLS context (certifi's CA bundle, as httpx uses)."""
    return ssl.create_default_context(cafile=certifi.where())


@cache
def shared_tls(service_class: type) -> type:
    """A subclass of an OpenAI-compatible Pipecat LLM service whose client reuses the context.

    ``create_client`` is the extension point Pipecat's ``BaseOpenAILLMService`` offers for
    customising the client; everything else about the service is unchanged.
    """
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient
    from pipecat.utils.http import connection_limits

    def create_client(
        self: Any,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        default_headers: Any = None,
        **kwargs: Any,
    ) -> AsyncOpenAI:
        return AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            organization=organization,
            project=project,
            http_client=DefaultAsyncHttpxClient(
                verify=tls_context(),
                limits=connection_limits(
                    max_keepalive_connections=100, max_connections=1000, keepalive_expiry=None
                ),
            ),
            default_headers=default_headers,
        )

    namespace = {"create_client": create_client, "__module__": __name__}
    return type(service_class.__name__, (service_class,), namespace)


@lru_cache(maxsize=1)
def deepgram_sdk_shares_tls() -> None:
    """Make the Deepgram SDK's default HTTP client use the shared context.

    Pipecat's Deepgram STT builds an ``AsyncDeepgramClient`` per call; the SDK then builds an
    ``httpx.AsyncClient`` (unused for streaming) with a new TLS context.
    """
    import httpx
    from deepgram import base_client

    def _client(timeout: float | None, follow_redirects: bool | None) -> httpx.AsyncClient:
        redirects = {} if follow_redirects is None else {"follow_redirects": follow_redirects}
        return httpx.AsyncClient(timeout=timeout, verify=tls_context(), **redirects)

    base_client._make_default_async_client = _client
