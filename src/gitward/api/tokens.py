"""The admin token file and the announcement of a local server (its record, ``core/localserver.py``).

On first start the server creates ``<state-file-stem>.token`` next to its state database, mode 0600,
holding ``secrets.token_urlsafe(32)``; later starts reuse it so clients keep working across restarts.
``O_EXCL`` makes creation race-free: two servers starting at once end up with the same token.
A token file that others can read is refused rather than silently trusted.

Deliberately not here: printing the token (only ``gitward run --print-token`` does that) and token
rotation (delete the file and restart).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from gitward.core.errors import ValidationError
from gitward.core.localserver import SERVER_INFO_FILE, ServerInfo, server_record_path


def load_or_create_token(path: Path) -> str:
    """Read the token at ``path``, creating it (and its folder, mode 0700) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_token(path)
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    return token


def _read_token(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValidationError(f"token file {path} is readable by others; run: chmod 600 {path}")
    token = path.read_text(encoding="ascii").strip()
    if not token:
        raise ValidationError(f"token file {path} is empty; delete it to create a new token")
    return token


def _record_path(state_dir: Path, info: ServerInfo) -> Path:
    """The server's own record, keyed by its state file; ``server.json`` for one without."""
    if info.state_file is None:
        return state_dir / SERVER_INFO_FILE
    return server_record_path(state_dir, info.state_file)


def write_server_info(state_dir: Path, info: ServerInfo) -> Path:
    """Write the server's record atomically (temp file + rename) so a reader never sees half of it."""
    target = _record_path(state_dir, info)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = target.with_name(f".{target.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(info.to_json())
    temp.replace(target)
    return target


def remove_server_info(state_dir: Path, info: ServerInfo) -> None:
    """Remove the record only if it still announces this server (a restart may have replaced it)."""
    target = _record_path(state_dir, info)
    with contextlib.suppress(OSError, ValueError):
        if ServerInfo.from_json(target.read_text(encoding="utf-8")) == info:
            target.unlink()
