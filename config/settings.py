"""The one ``Settings`` object: every environment variable Switchboard reads, in one place.

Real environment variables always win over the ``.env`` file (pydantic-settings' order).
Read it once at the edge (CLI, launcher, ``bot()``) with :func:`get_settings` and pass it down.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.endpoints import http_url, ws_url

ProviderName = Literal[
    "deepgram",
    "cartesia",
    "elevenlabs",
    "groq",
    "openai",
    "openai_compatible",
    "whisper",
    "ollama",
    "piper",
    "kokoro",
]


class Settings(BaseSettings):
    """Switchboard configuration, read from the environment and an optional ``.env`` file."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # --- launcher -------------------------------------------------------------------------
    env: Literal["development", "production"] = "development"
    host: str = "0.0.0.0"
    port: int = Field(default=7860, ge=1, le=65535)
    public_url: str = "http://localhost:7860"
    log_level: str = "INFO"
    data_dir: Path = Path("./data")
    ice_loopback_only: bool = Field(default=False, alias="SWITCHBOARD_ICE_LOOPBACK_ONLY")
    default_persona: str = "receptionist"
    phone_personas: dict[str, str] = Field(default_factory=dict)

    # --- who gets in ------------------------------------------------------------------------
    switchboard_api_key: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    media_token_secret: SecretStr | None = None
    media_token_ttl_secs: int = Field(default=60, ge=5, le=3600)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)

    # --- call limits (per machine) ----------------------------------------------------------
    max_concurrent_calls: int = Field(default=20, ge=1)
    max_call_duration_secs: float = Field(default=1800, gt=0)
    idle_hangup_secs: float = Field(default=60, gt=0)
    drain_timeout_secs: float = Field(default=300, ge=0)
    worker_max_calls: int = Field(default=500, ge=1)

    # --- provider overrides (win over every persona's choice) -------------------------------
    stt_provider: ProviderName | None = None
    llm_provider: ProviderName | None = None
    tts_provider: ProviderName | None = None

    # --- Deepgram ---------------------------------------------------------------------------
    deepgram_api_key: SecretStr | None = None
    deepgram_base_url: str = "wss://api.deepgram.com"

    # --- Cartesia ---------------------------------------------------------------------------
    cartesia_api_key: SecretStr | None = None
    cartesia_base_url: str = "wss://api.cartesia.ai"
    cartesia_voice_id: str = "a0e99841-438c-4a64-b679-ae501e7d6091"

    # --- ElevenLabs -------------------------------------------------------------------------
    elevenlabs_api_key: SecretStr | None = None
    elevenlabs_base_url: str = "wss://api.elevenlabs.io"
    elevenlabs_voice_id: str = "21m00Tcm4TlvDq8ikWAM"

    # --- OpenAI (base URL includes /v1, as the SDK expects) ---------------------------------
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    openai_tts_voice: str = "alloy"

    # --- Groq (base URL is the host, as the SDK expects) ------------------------------------
    groq_api_key: SecretStr | None = None
    groq_base_url: str = "https://api.groq.com"
    groq_model: str = "llama-3.3-70b-versatile"

    # --- any OpenAI-compatible streaming TTS server (Chatterbox, Kokoro-FastAPI, ...) -------
    openai_compatible_tts_base_url: str | None = None
    openai_compatible_tts_api_key: SecretStr | None = None
    openai_compatible_tts_voice: str = "default"
    openai_compatible_tts_model: str = "tts-1"

    # --- local stack (no keys) --------------------------------------------------------------
    ollama_base_url: str = "http://localhost:11434/v1"
    ollama_model: str = "llama3.2"
    piper_base_url: str = "http://localhost:5000"
    piper_voice: str = "en_US-ryan-high"
    whisper_model: str = "distil-medium.en"

    # --- Twilio -----------------------------------------------------------------------------
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    twilio_caller_id: str | None = None

    # --- LiveKit ----------------------------------------------------------------------------
    livekit_url: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: SecretStr | None = None

    # --- Daily ------------------------------------------------------------------------------
    daily_api_key: SecretStr | None = None
    daily_api_url: str = "https://api.daily.co/v1"

    @field_validator("stt_provider", "llm_provider", "tts_provider", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator(
        "deepgram_base_url",
        "cartesia_base_url",
        "elevenlabs_base_url",
        "openai_base_url",
        "groq_base_url",
        "twilio_api_base_url",
        "daily_api_url",
    )
    @classmethod
    def _check_url(cls, value: str) -> str:
        http_url(value)  # raises a clear EndpointError on a malformed URL
        return value.rstrip("/")

    # Derived endpoints: our code appends each service's own paths here, nowhere else.
    @property
    def deepgram_ws_url(self) -> str:
        """Deepgram websocket base (``/v1/listen`` is appended by the SDK)."""
        return ws_url(self.deepgram_base_url, "DEEPGRAM_BASE_URL")

    @property
    def cartesia_ws_url(self) -> str:
        """Cartesia websocket base (STT appends ``/stt/websocket``)."""
        return ws_url(self.cartesia_base_url, "CARTESIA_BASE_URL")

    @property
    def cartesia_tts_ws_url(self) -> str:
        """Cartesia TTS websocket endpoint."""
        return f"{self.cartesia_ws_url}/tts/websocket"

    @property
    def elevenlabs_ws_url(self) -> str:
        """ElevenLabs websocket base (the service appends the multi-stream path)."""
        return ws_url(self.elevenlabs_base_url, "ELEVENLABS_BASE_URL")

    @property
    def groq_openai_url(self) -> str:
        """Groq's OpenAI-compatible API root, derived from the host-style ``GROQ_BASE_URL``."""
        return f"{http_url(self.groq_base_url, 'GROQ_BASE_URL')}/openai/v1"

    @property
    def twilio_http_url(self) -> str:
        """Twilio REST root (``/2010-04-01/...`` is appended by the serializer)."""
        return http_url(self.twilio_api_base_url, "TWILIO_API_BASE_URL")

    @property
    def livekit_http_url(self) -> str | None:
        """LiveKit server API root (RoomService Twirp lives under it)."""
        return http_url(self.livekit_url, "LIVEKIT_URL") if self.livekit_url else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once per process (the edge); tests build ``Settings(...)`` directly."""
    return Settings()
