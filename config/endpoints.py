"""Provider endpoint helpers: one place that turns a configured base URL into service URLs."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

_WS_FOR_HTTP = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
_HTTP_FOR_WS = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


class EndpointError(ValueError):
    """A configured endpoint URL cannot be used."""


def _split(url: str, variable: str) -> tuple[str, str]:
    parts = urlsplit(url.strip())
    if parts.scheme not in _WS_FOR_HTTP or not parts.netloc:
        raise EndpointError(
            f"{variable}={url!r} is not a usable base URL: expected scheme://host[:port] "
            "with scheme http, https, ws or wss"
        )
    return parts.scheme, urlunsplit(("", parts.netloc, parts.path.rstrip("/"), "", ""))[2:]


def ws_url(url: str, variable: str = "base URL") -> str:
    """Return the websocket form of a base URL (``http``→``ws``, ``https``→``wss``).

    Args:
        url: A base URL in either http(s) or ws(s) form.
        variable: The setting's name, used in the error message.

    Returns:
        The same host and path with a websocket scheme, without a trailing slash.
    """
    scheme, rest = _split(url, variable)
    return f"{_WS_FOR_HTTP[scheme]}://{rest}"


def http_url(url: str, variable: str = "base URL") -> str:
    """Return the HTTP form of a base URL (``ws``→``http``, ``wss``→``https``).

    Args:
        url: A base URL in either http(s) or ws(s) form.
        variable: The setting's name, used in the error message.

    Returns:
        The same host and path with an HTTP scheme, without a trailing slash.
    """
    scheme, rest = _split(url, variable)
    return f"{_HTTP_FOR_WS[scheme]}://{rest}"
