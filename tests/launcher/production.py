"""A launcher in production mode: real-looking secrets, one CORS origin, a small body limit."""

from __future__ import annotations

API_KEY = "sk-switchboard-test-0123456789abcdef"
PRODUCTION = {
    "ENV": "production",
    "SWITCHBOARD_API_KEY": API_KEY,
    "MEDIA_TOKEN_SECRET": "media-token-secret-0123456789",
    "CORS_ORIGINS": '["https://app.example.com"]',
    "MAX_BODY_BYTES": "4096",
}


def production_env(doubles, **extra: str) -> dict[str, str]:
    """The doubles' environment in production mode, plus ``extra``."""
    env = {**doubles.env(), **PRODUCTION, **extra}
    env["LIVEKIT_API_SECRET"] = env["LIVEKIT_API_SECRET"].ljust(32, "x")  # production minimum
    return env
