"""Paths built from ids: always inside their folder."""

from __future__ import annotations

from pathlib import Path


class UnsafePath(ValueError):
    """A name that would leave its folder (``..``, an absolute path, a separator)."""


def file_inside(folder: Path | str, name: str) -> Path:
    """``folder/name``, resolved, refused unless it stays directly inside ``folder``.

    Args:
        folder: The folder the file must live in.
        name: A file name built from an id (``<call_id>.wav``).

    Raises:
        UnsafePath: ``name`` is empty, has a separator or ``..``, or resolves elsewhere.
    """
    base = Path(folder).resolve()
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise UnsafePath(f"unsafe file name {name[:80]!r}")
    path = (base / name).resolve()
    if path.parent != base:
        raise UnsafePath(f"{name[:80]!r} resolves outside {base}")
    return path
