"""Watching the config file or folder: when its files change, the engine reloads it (``Engine.reload``).

Polling, with the standard library only: every ``interval`` seconds the config's files are listed
and stat'ed (name, size, modification time: no file is read while nothing changed). When that
signature changes, the files' contents are digested, so a ``touch`` or an editor's save of the same
bytes reloads nothing. A change is applied once it has settled: the content digest must be the same
on two looks ``settle`` seconds apart, so an editor writing a file in several steps, or a ``git pull``
touching many files, gives one reload of the end state, never one of a half-written file (the
reload refuses a file that does not parse in any case, and keeps the last good config).

Why polling and not inotify: inotify needs a C binding or ctypes over libc, follows neither network
file systems nor every editor's rename-over-write, and the config is a handful of small files, so
one listing a second costs nothing next to a reconcile.

Deliberately not here: what a reload does (``engine``, ``registry.update``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from gitward.reconcile.background import BackgroundLoop
from gitward.reconcile.config import config_files

log = logging.getLogger("gitward.engine")

Signature = tuple[tuple[str, int, int], ...]


def signature(path: Path) -> Signature:
    """Name, size and modification time of every config file; () when the path is gone."""
    out: list[tuple[str, int, int]] = []
    try:
        files = config_files(path)
    except Exception:
        return ()
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue  # removed between the listing and the stat: the next look sees it
        out.append((str(file), stat.st_size, stat.st_mtime_ns))
    return tuple(out)


def content_digest(path: Path) -> str:
    """A digest of every config file's name and bytes."""
    digest = hashlib.sha256()
    try:
        files = config_files(path)
    except Exception:
        return ""
    for file in files:
        try:
            data = file.read_bytes()
        except OSError:
            continue
        digest.update(str(file).encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


class ConfigWatch(BackgroundLoop):
    """Calls ``on_change`` once per settled change of the config's files."""

    task_name = "config-watch"

    def __init__(
        self, path: Path, on_change: Callable[[], object], *, interval: float = 1.0, settle: float = 1.0
    ) -> None:
        self._path = path
        self._on_change = on_change
        self._interval = interval
        self._settle = settle
        self._signature = signature(path)
        self._digest = content_digest(path)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.look()
            except Exception:
                log.exception("watching the config failed; trying again")

    async def look(self) -> bool:
        """One look: True when a settled change was found and ``on_change`` called."""
        now = signature(self._path)
        if now == self._signature:
            return False
        digest = content_digest(self._path)
        while True:  # settled: the same content on two looks ``settle`` apart
            await asyncio.sleep(self._settle)
            now, again = signature(self._path), content_digest(self._path)
            if again == digest:
                break
            digest = again
        self._signature = now
        if digest == self._digest:
            return False  # touched, same bytes
        self._digest = digest
        log.info("config changed: reloading %s", self._path)
        self._on_change()
        return True
