"""Unpack a Helm chart archive (``.tgz``) safely: untrusted bytes from a chart repository.
``unpack_tree`` unpacks an OCI artifact's manifests layer under the same rules, keeping every path as it
is (such a layer has no single top directory).

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
import hashlib
import io
import os
import shutil
import tarfile
import uuid
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


@dataclass(frozen=True)
class _Kind:
    """How an archive is named in messages, the error reason, and whether its top directory goes."""

    what: str = "chart archive"
    reason: str = "ChartRejected"
    strip_top: bool = True


_CHART = _Kind()
_TREE = _Kind(what="artifact layer", reason="ArtifactRejected", strip_top=False)


def _reject(message: str, kind: _Kind = _CHART) -> FetchError:
    return FetchError(message, reason=kind.reason)


class _CappedReader(io.RawIOBase):
    """Reads a decompressing stream, failing once more than ``limit`` bytes came out of it."""

    def __init__(self, inner: gzip.GzipFile, limit: int, label: str, kind: _Kind) -> None:
        self.inner, self.limit, self.label, self.count, self.kind = inner, limit, label, 0, kind

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.inner.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise _reject(f"{self.kind.what} {self.label} expands beyond {self.limit} bytes", self.kind)
        buffer[: len(data)] = data
        return len(data)


def _relative(name: str, label: str, kind: _Kind = _CHART) -> PurePosixPath | None:
    """The member's path, without its top directory when ``kind.strip_top`` (None for the directory
    that is stripped, or for ``.`` itself).

    A NUL character is unsafe too: a pax header can carry one, and the system call would refuse it.
    """
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or "\0" in name:
        raise _reject(f"{kind.what} {label} has an unsafe path: {name!r}", kind)
    parts = [p for p in path.parts if p not in ("", ".")]
    if not kind.strip_top:
        return PurePosixPath(*parts) if parts else None
    return PurePosixPath(*parts[1:]) if len(parts) > 1 else None


def unpack_chart(data: bytes, dest: Path, *, label: str, limits: ChartLimits) -> None:
    """Unpack ``data`` into ``dest`` (created; must not exist), stripping the top-level directory."""
    _unpack(data, dest, label=label, limits=limits, kind=_CHART)


def chart_cache_dir(dest: Path, repo_url: str, chart: str, version: str) -> Path:
    """Where one chart version of one repository (HTTP or OCI) is kept once unpacked."""
    repo_key = hashlib.sha256(repo_url.rstrip("/").encode()).hexdigest()[:16]
    return dest / repo_key / chart / version


def store_chart(data: bytes, final: Path, *, label: str, limits: ChartLimits) -> Path:
    """Unpack a chart archive into ``final`` atomically (beside it first, then renamed into place)."""
    return _store(data, final, label=label, limits=limits, kind=_CHART)


def store_tree(data: bytes, final: Path, *, label: str, limits: ChartLimits) -> Path:
    """Unpack an artifact layer into ``final`` atomically, paths kept as they are."""
    return _store(data, final, label=label, limits=limits, kind=_TREE)


def _store(data: bytes, final: Path, *, label: str, limits: ChartLimits, kind: _Kind) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".unpack-{uuid.uuid4().hex}"
    try:
        _unpack(data, staging, label=label, limits=limits, kind=kind)
        try:
            staging.rename(final)
        except OSError:
            if not final.is_dir():  # another fetch of the same version finished first: use it
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final


def unpack_tree(data: bytes, dest: Path, *, label: str, limits: ChartLimits) -> None:
    """Unpack a gzipped tar of files into ``dest`` (created; must not exist), paths kept as they are."""
    _unpack(data, dest, label=label, limits=limits, kind=_TREE)


def _unpack(data: bytes, dest: Path, *, label: str, limits: ChartLimits, kind: _Kind) -> None:
    dest.mkdir(parents=True)
    # Headers cost 512-byte blocks (more with long names); allow them on top of the content limit.
    stream_limit = limits.max_bytes + 4096 * (limits.max_files + 1)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            reader = io.BufferedReader(_CappedReader(gz, stream_limit, label, kind))
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                _extract(tar, dest, label=label, limits=limits, kind=kind)
    except FetchError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
        raise _reject(f"{kind.what} {label} is not a valid .tgz: {err}", kind) from None


def _extract(tar: tarfile.TarFile, dest: Path, *, label: str, limits: ChartLimits, kind: _Kind) -> None:
    files = total = 0
    tops: set[str] = set()
    what = kind.what
    for member in tar:
        files += 1
        if files > limits.max_files:
            raise _reject(f"{what} {label} has more than {limits.max_files} entries", kind)
        if not (member.isfile() or member.isdir()):
            raise _reject(f"{what} {label} contains a link or special file: {member.name!r}", kind)
        if kind.strip_top:
            tops.add(PurePosixPath(member.name).parts[0] if member.name.strip("/.") else "")
            if len(tops) > 1:
                raise _reject(f"{what} {label} has more than one top-level directory", kind)
        rel = _relative(member.name, label, kind)
        if rel is None:
            if member.isfile():
                raise _reject(f"{what} {label} has a file outside its chart directory", kind)
            continue
        target = dest / rel
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        total += member.size
        if total > limits.max_bytes:
            raise _reject(f"{what} {label} unpacks to more than {limits.max_bytes} bytes", kind)
        _write_member(tar, member, target, label=label, kind=kind)
    if files == 0:
        raise _reject(f"{what} {label} is empty", kind)


def _write_member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, *, label: str, kind: _Kind
) -> None:
    source = tar.extractfile(member)
    if source is None:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL|O_NOFOLLOW: a duplicate entry cannot overwrite, and nothing is written through a link.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        raise _reject(f"{kind.what} {label} has a duplicate entry: {member.name!r}", kind) from None
    with os.fdopen(fd, "wb") as handle:
        while chunk := source.read(1 << 16):
            handle.write(chunk)
