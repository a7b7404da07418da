"""Configuration: the one ``Settings`` object and endpoint helpers."""

from config.endpoints import EndpointError, http_url, ws_url
from config.settings import Settings, get_settings

__all__ = ["EndpointError", "Settings", "get_settings", "http_url", "ws_url"]
