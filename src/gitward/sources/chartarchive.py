"""Unpack a Helm chart archive (``.tgz``) safely: untrusted bytes from a chart repository.

Refused with a clear FetchError (reason ``ChartRejected``): absolute paths, ``..``, links of any kind
(symbolic or hard: a packaged chart never needs one and they are the usual way out of a directory),
devices and FIFOs, more than ``max_files`` entries, more than ``max_bytes`` of content, and decompressed
streams far larger than the content they declare (gzip bombs are stopped while decompressing, before
tarfile can buffer an oversized header). Like Helm, the archive's single top-level directory is
stripped, so the result is the chart directory itself.

Deliberately not here: verifying provenance files (``.prov``) and unpacking sub-chart archives under
``charts/`` (they stay archives; the renderer handles them with the chart).
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gitward.core.errors import FetchError


@dataclass(frozen=True)
class ChartLimits:
    max_index_bytes: int = 10 << 20
    max_archive_bytes: int = 20 << 20
    max_files: int = 5000
    max_bytes: int = 50 << 20  # total unpacked content


def _reject(message: str) -> FetchError:
    return FetchError(message, reason="ChartRejected")


class _CappedReader(io.RawIOBase):
    """Reads a decompressing stream, failing once more than ``limit`` bytes came out of it."""

    def __init__(self, inner: gzip.GzipFile, limit: int, label: str) -> None:
        self.inner, self.limit, self.label, self.count = inner, limit, label, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise _reject(f"chart archive {self.label} expands beyond {self.limit} bytes")
        buffer[: len(data)] = data
        return len(data)


def _relative(name: str, label: str) -> PurePosixPath | None:
    """The member's path without its top directory (None for the top directory itself).

    A NUL character is unsafe too: a pax header can carry one, and the system call would refuse it.
    """
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or "\0" in name:
        raise _reject(f"chart archive {label} has an unsafe path: {name!r}")
    parts = [p for p in path.parts if p not in ("", ".")]
    return PurePosixPath(*parts[1:]) if len(parts) > 1 else None


def unpack_chart(data: bytes, dest: Path, *, label: str, limits: ChartLimits) -> None:
    """Unpack ``data`` into ``dest`` (created; must not exist), stripping the top-level directory."""
    dest.mkdir(parents=True)
    # Headers cost 512-byte blocks (more with long names); allow them on top of the content limit.
    stream_limit = limits.max_bytes + 4096 * (limits.max_files + 1)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            reader = io.BufferedReader(_CappedReader(gz, stream_limit, label))
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                _extract(tar, dest, label=label, limits=limits)
    except FetchError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise _reject(f"chart archive {label} is not a valid .tgz: {err}") from None


def _extract(tar: tarfile.TarFile, dest: Path, *, label: str, limits: ChartLimits) -> None:
    files = total = 0
    tops: set[str] = set()
    for member in tar:
        files += 1
        if files > limits.max_files:
            raise _reject(f"chart archive {label} has more than {limits.max_files} entries")
        if not (member.isfile() or member.isdir()):
            raise _reject(f"chart archive {label} contains a link or special file: {member.name!r}")
        tops.add(PurePosixPath(member.name).parts[0] if member.name.strip("/.") else "")
        if len(tops) > 1:
            raise _reject(f"chart archive {label} has more than one top-level directory")
        rel = _relative(member.name, label)
        if rel is None:
            if member.isfile():
                raise _reject(f"chart archive {label} has a file outside its chart directory")
            continue
        target = dest / rel
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        total += member.size
        if total > limits.max_bytes:
            raise _reject(f"chart archive {label} unpacks to more than {limits.max_bytes} bytes")
        _write_member(tar, member, target, label=label)
    if files == 0:
        raise _reject(f"chart archive {label} is empty")


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, *, label: str) -> None:
    source = tar.extractfile(member)
    if source is None:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL|O_NOFOLLOW: a duplicate entry cannot overwrite, and nothing is written through a link.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        raise _reject(f"chart archive {label} has a duplicate entry: {member.name!r}") from None
    with os.fdopen(fd, "wb") as handle:
        while chunk := source.read(1 << 16):
            handle.write(chunk)
