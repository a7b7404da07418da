"""Small builders and backend-neutral checks shared by the storage contract tests."""

from __future__ import annotations

import wave
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from storage.base import CallRecord, Storage, now
from storage.sqlite import SQLiteStorage
from storage.supabase import SupabaseStorage


def call(call_id: str, **fields: object) -> CallRecord:
    """A call with sensible defaults."""
    values: dict[str, object] = {"persona": "receptionist", "transport": "twilio"}
    values.update(fields)
    return CallRecord(id=call_id, **values)


def ago(days: float = 0, **kwargs: float) -> datetime:
    """A moment in the past."""
    return now() - timedelta(days=days, **kwargs)


def write_wav(path: Path, seconds: float = 0.1, rate: int = 8000) -> Path:
    """A small stereo 16-bit WAV of silence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00\x00\x00" * int(seconds * rate))
    return path


def recording_dir(storage: Storage, tmp_path: Path) -> Path:
    """Where a recorder would write WAVs for this backend (SQLite: under its data dir)."""
    if isinstance(storage, SQLiteStorage):
        return storage.path.parent / "recordings"
    return tmp_path / "recordings"


def fetch_recording(storage: Storage, url: str) -> bytes | None:
    """The bytes stored at a recording URL or path, or None when it is gone."""
    if isinstance(storage, SupabaseStorage):
        key = storage._key
        reply = httpx.get(url, headers={"apikey": key, "Authorization": f"Bearer {key}"})
        return reply.content if reply.status_code == 200 else None
    path = Path(url)
    return path.read_bytes() if path.is_file() else None
