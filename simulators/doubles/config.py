"""Latency profile, credentials and shared mutable state of the provider doubles."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFAULT_PHRASES = [
    "hello there",
    "what is the weather today",
    "i would like to book an appointment for tomorrow",
    "cancel my appointment",
    "yes please",
    "no thank you",
    "goodbye",
]

STT_MODES = ("asr", "exact")


@dataclass
class LatencyProfile:
    """Timing knobs of every double (milliseconds unless stated otherwise)."""

    stt_final_ms: int = 150
    stt_interim_ms: int = 500
    stt_endpointing_ms: int = 300
    stt_idle_timeout_s: float = 10.0
    llm_first_token_ms: int = 200
    llm_tokens_per_sec: float = 100.0
    tts_first_byte_ms: int = 100
    tts_speed: float = 3.0
    transcription_ms: int = 150
    elevenlabs_inactivity_s: float = 20.0
    stt_mode: str = "asr"  # "asr": pocketsphinx; "exact": registered utterances' exact text

    def update(self, values: dict[str, Any]) -> None:
        """Apply a partial update, rejecting unknown keys and bad values (all or nothing).

        Args:
            values: Field names mapped to new values.

        Raises:
            KeyError: If a key is not a profile field.
            ValueError: If a value does not fit its field (e.g. an unknown ``stt_mode``).
        """
        known = {f.name for f in fields(self)}
        new: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise KeyError(key)
            new[key] = type(getattr(self, key))(value)
        mode = new.get("stt_mode", self.stt_mode)
        if mode not in STT_MODES:
            raise ValueError(f"stt_mode must be one of {', '.join(STT_MODES)}: {mode!r}")
        for key, value in new.items():
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as a plain dict."""
        return asdict(self)


@dataclass
class Credentials:
    """Fake credentials the doubles accept (random per process)."""

    deepgram_key: str = field(default_factory=lambda: "dg-" + secrets.token_hex(16))
    cartesia_key: str = field(default_factory=lambda: "sk_car_" + secrets.token_hex(16))
    elevenlabs_key: str = field(default_factory=lambda: "sk_" + secrets.token_hex(20))
    openai_key: str = field(default_factory=lambda: "sk-proj-" + secrets.token_hex(20))
    groq_key: str = field(default_factory=lambda: "gsk_" + secrets.token_hex(20))
    twilio_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    twilio_token: str = field(default_factory=lambda: secrets.token_hex(16))
    livekit_key: str = field(default_factory=lambda: "API" + secrets.token_hex(6))
    livekit_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    daily_key: str = field(default_factory=lambda: secrets.token_hex(32))
    supermemory_key: str = field(default_factory=lambda: "sm_" + secrets.token_hex(20))
    mem0_key: str = field(default_factory=lambda: "m0-" + secrets.token_hex(20))
    signalwire_project: str = field(default_factory=lambda: str(uuid.uuid4()))
    signalwire_token: str = field(default_factory=lambda: "PT" + secrets.token_hex(24))
    signalwire_signing_key: str = field(default_factory=lambda: "PSK_" + secrets.token_hex(12))
    telnyx_key: str = field(default_factory=lambda: "KEY" + secrets.token_hex(24))
    telnyx_seed: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # Ed25519
    plivo_auth_id: str = field(default_factory=lambda: "MA" + secrets.token_hex(9).upper())
    plivo_token: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    resend_key: str = field(default_factory=lambda: "re_" + secrets.token_hex(16))

    def carrier_env(self, http: str) -> dict[str, str]:
        """The phone carriers' part of :meth:`env` (SignalWire, Telnyx, Plivo)."""
        return {
            "SIGNALWIRE_SPACE_URL": http,
            "SIGNALWIRE_PROJECT_ID": self.signalwire_project,
            "SIGNALWIRE_API_TOKEN": self.signalwire_token,
            "SIGNALWIRE_SIGNING_KEY": self.signalwire_signing_key,
            "TELNYX_API_KEY": self.telnyx_key,
            "TELNYX_PUBLIC_KEY": telnyx_public_key(self.telnyx_seed),
            "TELNYX_API_BASE_URL": http,
            "TELNYX_TEST_SIGNING_SEED": base64.b64encode(self.telnyx_seed).decode(),  # callers
            "PLIVO_AUTH_ID": self.plivo_auth_id,
            "PLIVO_AUTH_TOKEN": self.plivo_token,
            "PLIVO_API_BASE_URL": http,
        }

    def env(self, port: int, host: str = "127.0.0.1") -> dict[str, str]:
        """Return the environment that points Switchboard at the doubles.

        Args:
            port: The doubles' listening port.
            host: The doubles' host.

        Returns:
            Env var names mapped to values.
        """
        http = f"http://{host}:{port}"
        ws = f"ws://{host}:{port}"
        return {
            "DEEPGRAM_BASE_URL": ws,
            "CARTESIA_BASE_URL": ws,
            "ELEVENLABS_BASE_URL": ws,
            "OPENAI_BASE_URL": f"{http}/v1",
            "GROQ_BASE_URL": http,
            "TWILIO_API_BASE_URL": http,
            "LIVEKIT_URL": ws,
            "DAILY_API_URL": f"{http}/v1",
            "DEEPGRAM_API_KEY": self.deepgram_key,
            "CARTESIA_API_KEY": self.cartesia_key,
            "ELEVENLABS_API_KEY": self.elevenlabs_key,
            "OPENAI_API_KEY": self.openai_key,
            "GROQ_API_KEY": self.groq_key,
            "TWILIO_ACCOUNT_SID": self.twilio_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_token,
            "LIVEKIT_API_KEY": self.livekit_key,
            "LIVEKIT_API_SECRET": self.livekit_secret,
            "DAILY_API_KEY": self.daily_key,
            "SUPERMEMORY_BASE_URL": http,
            "SUPERMEMORY_API_KEY": self.supermemory_key,
            "MEM0_BASE_URL": http,
            "MEM0_API_KEY": self.mem0_key,
            **self.carrier_env(http),
            "RESEND_API_URL": http,
            "RESEND_API_KEY": self.resend_key,
            "GOOGLE_CALENDAR_API_URL": f"{http}/calendar/v3",
        }


def telnyx_public_key(seed: bytes) -> str:
    """The base64 Ed25519 public key of ``seed`` (what Telnyx's portal shows)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


class DoublesState:
    """Everything the doubles share: profile, scripts, recordings and counters."""

    def __init__(self, profile: LatencyProfile, creds: Credentials) -> None:
        self.profile = profile
        self.creds = creds
        self._initial_profile = profile.to_dict()
        self.started = time.time()
        self.open_sockets: dict[str, int] = defaultdict(int)
        self.live_sockets: dict[str, set[Any]] = defaultdict(set)  # for scripted drops
        self.busy_sockets: dict[Any, Callable[[], bool]] = {}  # socket -> is it busy now
        self.refuse_until: dict[str, float] = {}  # service -> refuse new sockets until (monotonic)
        self.counters: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.llm_rules: list[dict[str, Any]] = []
        self.llm_requests: list[dict[str, Any]] = []
        self.twilio_requests: list[dict[str, Any]] = []
        self.twilio_calls: dict[str, dict[str, Any]] = {}
        self.carrier_requests: list[dict[str, Any]] = []  # Telnyx and Plivo REST
        self.carrier_calls: dict[str, str] = {}  # "carrier:call id" -> its state
        self.livekit_rooms: dict[str, Any] = {}
        self.livekit_joins: list[dict[str, Any]] = []
        self.livekit_sip_transfers: list[dict[str, Any]] = []  # SIP.TransferSIPParticipant
        self.daily_rooms: dict[str, dict[str, Any]] = {}
        self.daily_tokens: list[dict[str, Any]] = []  # meeting tokens minted (room, owner...)
        self.transcripts: list[dict[str, Any]] = []
        self.tts_requests: list[dict[str, Any]] = []  # which voice each TTS stream asked for
        # Armed mid-reply drops: service -> {"code", "reason", "after_audio", "after_context"}.
        self.armed_drops: dict[str, dict[str, Any]] = {}

    def arm_drop(
        self,
        service: str,
        code: int,
        reason: str,
        after_audio: int,
        refuse_secs: float | None = None,
    ) -> None:
        """Close the service's socket after ``after_audio`` audio messages of its next context.

        Only a context that opens after this call counts, so a reply still playing when the
        drop is armed is left alone.

        Args:
            service: Service name, e.g. "elevenlabs".
            code: Websocket close code.
            reason: Close reason.
            after_audio: Audio messages of the next context sent before the close.
            refuse_secs: From the close on, refuse new sockets of the service this long (an
                outage rather than one lost connection).
        """
        self.armed_drops[service] = {
            "code": code,
            "reason": reason,
            "after_audio": after_audio,
            "after_context": self.counters[service]["contexts"],
            "refuse_secs": refuse_secs,
        }

    def refusing(self, service: str) -> bool:
        """Whether new sockets of ``service`` are refused now (a scripted outage)."""
        return time.monotonic() < self.refuse_until.get(service, 0.0)

    def drop_due(self, service: str, context_ordinal: int, audio_sent: int) -> dict | None:
        """Return (and disarm) the armed drop once a context has sent enough audio.

        Args:
            service: Service name.
            context_ordinal: The context's ordinal (the service's ``contexts`` count at its
                creation).
            audio_sent: Audio messages the context has sent so far.

        Returns:
            ``{"code", "reason", ...}`` when the socket must close now, else None.
        """
        armed = self.armed_drops.get(service)
        if armed is None or context_ordinal <= armed["after_context"]:
            return None
        if audio_sent < armed["after_audio"]:
            return None
        self.count(service, "scripted_drops")
        armed = self.armed_drops.pop(service)
        if armed.get("refuse_secs"):
            self.refuse_until[service] = time.monotonic() + float(armed["refuse_secs"])
        return armed

    def count(self, service: str, key: str, n: int = 1) -> None:
        """Increment a per-service counter.

        Args:
            service: Service name, e.g. "deepgram".
            key: Counter name, e.g. "finalize".
            n: Increment.
        """
        self.counters[service][key] += n

    @contextmanager
    def track_socket(
        self, service: str, ws: Any = None, busy: Callable[[], bool] | None = None
    ) -> Iterator[None]:
        """Count a websocket as open for the duration of the block.

        Args:
            service: Service name.
            ws: The socket, registered for ``POST /_doubles/drop/{service}`` meanwhile.
            busy: Whether the socket is busy now (hearing speech, synthesising a reply), for
                drops that pick one busy socket.

        Yields:
            Nothing.
        """
        self.open_sockets[service] += 1
        self.count(service, "opened")
        if ws is not None:
            self.live_sockets[service].add(ws)
            if busy is not None:
                self.busy_sockets[ws] = busy
        try:
            yield
        finally:
            self.live_sockets[service].discard(ws)
            self.busy_sockets.pop(ws, None)
            self.open_sockets[service] -= 1
            self.count(service, "closed")

    def stats(self) -> dict[str, Any]:
        """Return live socket counts and counters."""
        services = set(self.counters) | set(self.open_sockets)
        out: dict[str, Any] = {
            name: {"open": self.open_sockets.get(name, 0), **self.counters.get(name, {})}
            for name in sorted(services)
        }
        return {
            "services": out,
            "open_sockets_total": sum(self.open_sockets.values()),
            "uptime_s": round(time.time() - self.started, 3),
        }

    def reset(self) -> None:
        """Restore the initial profile; forget scripts, recordings and counters.

        Open sockets stay counted.
        """
        self.profile.update(self._initial_profile)
        self.refuse_until.clear()
        self.llm_rules.clear()
        self.llm_requests.clear()
        self.twilio_requests.clear()
        self.twilio_calls.clear()
        self.carrier_requests.clear()
        self.carrier_calls.clear()
        self.livekit_rooms.clear()
        self.livekit_sip_transfers.clear()
        self.livekit_joins.clear()
        self.daily_rooms.clear()
        self.daily_tokens.clear()
        self.transcripts.clear()
        self.tts_requests.clear()
        self.armed_drops.clear()
        self.counters.clear()
