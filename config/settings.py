"""The one ``Settings`` object: every environment variable Switchboard reads, in one place.

Real environment variables always win over the ``.env`` file (pydantic-settings' order).
Read it once at the edge (CLI, launcher, ``bot()``) with :func:`get_settings` and pass it down.
"""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.calendars import GoogleCalendarTenants
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
    fleet_public_url: str | None = None  # the fleet's shared address Twilio's webhooks use
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
    media_handshake_timeout_secs: float = Field(default=5, gt=0)  # to a stream's valid start
    media_unauthenticated_max: int = Field(default=100, ge=1)  # streams waiting for their start
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    anonymous_calls: bool | None = None  # browser calls without a session; None: dev only
    client_offers_per_minute: int = Field(default=20, ge=0)  # per client address; 0: no limit
    client_max_calls: int = Field(default=3, ge=0)  # browser calls at once per client; 0: none
    client_webhooks_per_minute: int = Field(default=300, ge=0)  # phone webhooks per address

    # --- call limits (per machine) ----------------------------------------------------------
    max_concurrent_calls: int = Field(default=20, ge=1)
    max_call_duration_secs: float = Field(default=1800, gt=0)
    idle_hangup_secs: float = Field(default=60, gt=0)
    connect_timeout_secs: float = Field(default=10, gt=0)  # a browser offer's media to connect
    drain_timeout_secs: float = Field(default=300, ge=0)
    worker_max_calls: int = Field(default=500, ge=1)
    process_model: Literal["inprocess", "workers", "process_per_call"] = "workers"
    workers: int = Field(default=0, ge=0)  # PROCESS_MODEL=workers; 0: one per core, at most 4
    prewarmed_processes: int = Field(default=4, ge=1)  # PROCESS_MODEL=process_per_call

    # --- fleet (optional: without REDIS_URL this launcher is the whole fleet) ----------------
    redis_url: str | None = None  # redis://host:6379/0: hosts publish capacity, admission there
    host_id: str = ""  # this host's name in the fleet; default: hostname-port
    fleet_heartbeat_secs: float = Field(default=0.5, gt=0, le=10)
    fleet_host_ttl_secs: float = Field(default=2.0, gt=0, le=60)  # missed beats: host taken out
    fleet_peer_timeout_secs: float = Field(default=2.0, gt=0, le=30)  # calls API, /metrics

    # --- storage ----------------------------------------------------------------------------
    storage_backend: Literal["sqlite", "supabase"] = "sqlite"
    sqlite_path: Path | None = None  # default: DATA_DIR/switchboard.db
    supabase_url: str | None = None
    supabase_service_key: SecretStr | None = None
    supabase_recordings_bucket: str = "recordings"
    retention_days: int = Field(default=0, ge=0)  # 0 keeps data until deleted
    database_url: SecretStr | None = None  # PostgreSQL URL, only for `make migrate`

    # --- after the call: recordings, analysis, webhooks -------------------------------------
    recording_enabled: bool = False  # default when neither the persona nor the tenant says
    recordings_dir: Path | None = None  # default: DATA_DIR/recordings
    analysis_enabled: bool = True
    analysis_provider: Literal["openai", "groq"] = "openai"
    analysis_model: str | None = None  # default: that provider's OPENAI_MODEL / GROQ_MODEL
    analysis_timeout_secs: float = Field(default=120, gt=0)  # call.ended waits this long
    webhook_urls: list[str] = Field(default_factory=list)
    webhook_secret: SecretStr | None = None
    webhook_max_attempts: int = Field(default=10, ge=1)
    webhook_backoff_secs: float = Field(default=5, gt=0)  # first retry; doubles, plus jitter
    webhook_backoff_max_secs: float = Field(default=3600, gt=0)
    webhook_timeout_secs: float = Field(default=10, gt=0)
    webhook_poll_secs: float = Field(default=1.0, gt=0)

    # --- provider overrides (win over every persona's choice) -------------------------------
    stt_provider: ProviderName | None = None
    llm_provider: ProviderName | None = None
    tts_provider: ProviderName | None = None
    # Backups per stage, for every persona that declares none (a switch on repeated faults)
    stt_backup_provider: ProviderName | None = None
    llm_backup_provider: ProviderName | None = None
    tts_backup_provider: ProviderName | None = None
    # An LLM request is given up when its first token or its next one is this late
    llm_first_token_timeout_secs: float = Field(default=4.0, gt=0, le=60)
    llm_idle_timeout_secs: float = Field(default=5.0, gt=0, le=60)
    llm_probe_secs: float = Field(default=30.0, gt=0)  # re-try a failed-over primary LLM

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

    # --- other phone carriers (launcher.carriers) -------------------------------------------
    signalwire_space_url: str | None = None  # https://<space>.signalwire.com (its LaML REST)
    signalwire_project_id: str | None = None
    signalwire_api_token: SecretStr | None = None
    signalwire_signing_key: SecretStr | None = None  # signs X-SignalWire-Signature
    telnyx_api_key: SecretStr | None = None
    telnyx_public_key: str | None = None  # base64 Ed25519 key: telnyx-signature-ed25519
    telnyx_api_base_url: str = "https://api.telnyx.com"
    plivo_auth_id: str | None = None
    plivo_auth_token: SecretStr | None = None  # also signs X-Plivo-Signature-V3
    plivo_api_base_url: str = "https://api.plivo.com"

    # --- LiveKit ----------------------------------------------------------------------------
    livekit_url: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: SecretStr | None = None

    # --- Daily ------------------------------------------------------------------------------
    daily_api_key: SecretStr | None = None
    daily_api_url: str = "https://api.daily.co/v1"

    # --- memory (personas with memory=True) -------------------------------------------------
    memory_backend: Literal["local", "supermemory", "mem0"] = "local"
    memory_recall_budget_ms: float = Field(default=150, gt=0)  # slower: the turn goes without
    memory_recall_limit: int = Field(default=5, ge=1, le=50)
    memory_extract: bool = True  # after the call, an LLM pass stores new memories
    supermemory_api_key: SecretStr | None = None
    supermemory_base_url: str = "https://api.supermemory.ai"
    mem0_api_key: SecretStr | None = None
    mem0_base_url: str = "https://api.mem0.ai"  # Mem0 platform host (MemoryClient host=)

    # --- cost estimate (price table; USD) ---------------------------------------------------
    price_stt_per_min: float = Field(default=0.0077, ge=0)
    price_llm_input_per_mtok: float = Field(default=0.15, ge=0)
    price_llm_output_per_mtok: float = Field(default=0.60, ge=0)
    price_tts_per_kchar: float = Field(default=0.03, ge=0)
    price_call_per_min: float = Field(default=0.0085, ge=0)

    # --- tools (issue 5 §3) -----------------------------------------------------------------
    transfer_number: str | None = None  # transfer_call dials this (E.164 or sip:...)
    transfer_announcement: str = "Please hold while I transfer your call."
    tool_filler_after_ms: float = Field(default=700, ge=0)  # 0 turns the filler off
    client_tool_timeout_secs: float = Field(default=10, gt=0, le=120)
    webhook_tool_timeout_secs: float = Field(default=10, gt=0, le=120)
    tool_webhook_secret: SecretStr | None = None  # signs webhook tools that name no secret
    assistant_email_webhook_url: str | None = None  # the assistant's send_email tool
    assistant_kb_webhook_url: str | None = None  # the assistant's query_knowledge_base tool
    calendar_hours: str = "09:00-17:00"  # bookable hours, business timezone
    calendar_weekdays: str = "0,1,2,3,4"  # open days, Monday = 0
    calendar_slot_minutes: int = Field(default=30, ge=5, le=480)
    calendar_timezone: str = "UTC"
    # Email (send_email, send_booking_confirmation): Resend when RESEND_API_KEY is set, else SMTP.
    smtp_host: str | None = None  # empty: no SMTP
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"  # ssl: implicit TLS (port 465)
    smtp_user: str | None = None  # empty: no AUTH
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None  # the sender address, for SMTP and Resend alike
    smtp_ca_file: str | None = None  # trust this CA (a private relay); empty: the system's
    resend_api_key: SecretStr | None = None  # set: email goes through Resend, not SMTP
    resend_api_url: str = "https://api.resend.com"
    email_max_per_call: int = Field(default=3, ge=0, le=20)
    # Google Calendar per tenant (config.calendars): one service account, tenant -> calendar.
    google_calendar_credentials_file: str | None = None  # the service account's JSON key file
    google_calendar_tenants: GoogleCalendarTenants = Field(default_factory=dict)
    google_calendar_api_url: str = "https://www.googleapis.com/calendar/v3"

    # --- tracing (OpenTelemetry through Pipecat's tracing; off without an endpoint) ---------
    otel_exporter_otlp_endpoint: str | None = None  # OTLP/HTTP base; spans go to /v1/traces
    otel_exporter_otlp_headers: SecretStr | None = None  # "key=value,key2=value2" (auth)
    otel_service_name: str = "switchboard"
    otel_trace_content: bool = False  # export transcripts, prompts and replies (PII) in spans

    @field_validator(
        "stt_provider",
        "llm_provider",
        "tts_provider",
        "stt_backup_provider",
        "llm_backup_provider",
        "tts_backup_provider",
        "fleet_public_url",
        "sqlite_path",
        "database_url",
        "anonymous_calls",
        "otel_exporter_otlp_endpoint",
        "otel_exporter_otlp_headers",
        "smtp_host",
        "smtp_user",
        "smtp_password",
        "smtp_from",
        "smtp_ca_file",
        "resend_api_key",
        "google_calendar_credentials_file",
        "signalwire_space_url",
        "signalwire_project_id",
        "telnyx_public_key",
        "plivo_auth_id",
        mode="before",
    )
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
        "telnyx_api_base_url",
        "plivo_api_base_url",
        "daily_api_url",
    )
    @classmethod
    def _check_url(cls, value: str) -> str:
        http_url(value)  # raises a clear EndpointError on a malformed URL
        return value.rstrip("/")

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _check_otlp_url(cls, value: str | None) -> str | None:
        return http_url(value, "OTEL_EXPORTER_OTLP_ENDPOINT") if value is not None else None

    # Derived endpoints: our code appends each service's own paths here, nowhere else.
    @property
    def listen_url(self) -> str:
        """Where the launcher listens: ``HOST``:``PORT`` (all interfaces shown as localhost)."""
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def host_name(self) -> str:
        """This host's name: ``HOST_ID``, else ``<hostname>-<port>`` (stable across restarts)."""
        return self.host_id or f"{socket.gethostname()}-{self.port}"

    @property
    def recordings_path(self) -> Path:
        """Where call recordings are written while a call runs."""
        return self.recordings_dir or self.data_dir / "recordings"

    @property
    def sqlite_file(self) -> Path:
        """Where the SQLite database lives."""
        return self.sqlite_path or self.data_dir / "switchboard.db"

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
