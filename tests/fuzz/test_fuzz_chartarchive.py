"""Fuzzing chart archive extraction (``sources/chartarchive.py``; docs/reliability.md row 5).

Archives are generated in every tar format with hostile member names (absolute, ``..``, ``.``,
backslashes, NUL, overlong, unicode, several top-level folders), every member type (files,
folders, symbolic and hard links, character and block devices, FIFOs) and duplicates, sometimes with
bytes of the tar stream overwritten or cut short. Properties: ``unpack_chart`` fails only with
``FetchError`` (reason ``ChartRejected``); nothing outside its destination is ever created or
changed; the destination holds only regular files and folders, within the count and size caps; and
a well-formed archive is unpacked exactly when the documented rules accept it, each file holding
its member's bytes.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
from fuzzkit import outcome, share
from hypothesis import example, given
from hypothesis import strategies as st

from gitward.core.errors import FetchError
from gitward.sources.chartarchive import ChartLimits, unpack_chart

pytestmark = pytest.mark.fuzz

LIMITS = ChartLimits(max_files=12, max_bytes=600)
KINDS = {
    "file": tarfile.REGTYPE,
    "contiguous": tarfile.CONTTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "chardev": tarfile.CHRTYPE,
    "blockdev": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}
FORMATS = [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]
PARTS = [
    "demo",
    "demo",
    "demo",
    "other",
    "templates",
    "a",
    "b",
    "..",
    ".",
    "",
    "\\x",
    "\u00e9",
    "a\x00b",
    "n" * 120,
]
LINK_TARGETS = ["/etc/passwd", "../../outside/secret", "demo/a", "a", "../escape", "/tmp"]


@dataclass(frozen=True)
class Member:
    name: str
    kind: str
    data: bytes
    linkname: str


names = st.tuples(
    st.sampled_from(["", "", "", "/", "./", "../", "\\"]),
    st.lists(st.sampled_from(PARTS), min_size=1, max_size=4).map("/".join),
    st.sampled_from(["", "", "/"]),
).map("".join)
members = st.builds(
    Member,
    name=names,
    kind=st.sampled_from(["file", "file", "file", "dir", *KINDS]),
    data=st.binary(max_size=200),
    linkname=st.sampled_from(LINK_TARGETS),
)


def tar_bytes(entries: list[Member], fmt: int) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = KINDS[entry.kind]
            if entry.kind in ("symlink", "hardlink"):
                info.linkname = entry.linkname
            content = entry.data if entry.kind in ("file", "contiguous") else b""
            info.size = len(content)
            try:
                tar.addfile(info, io.BytesIO(content))
            except ValueError:  # a name this format cannot hold: write it as pax
                info_pax = tarfile.TarInfo(entry.name)
                info_pax.type, info_pax.linkname, info_pax.size = info.type, info.linkname, info.size
                raw.write(info_pax.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
                raw.write(content + b"\0" * (-len(content) % 512))
    return raw.getvalue()


@dataclass
class Outcome:
    accepted: bool
    files: dict[str, bytes]


def documented_outcome(data: bytes, limits: ChartLimits) -> Outcome:
    """The rules of ``chartarchive``'s docstring, applied to the members as tarfile reads them."""
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
        read = [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]  # type: ignore[union-attr]
    refused = Outcome(False, {})
    if not read or len(read) > limits.max_files:
        return refused
    kinds: dict[str, str] = {}
    files: dict[str, bytes] = {}
    tops: set[str] = set()
    total = 0
    for member, content in read:
        if not (member.isfile() or member.isdir()):
            return refused
        path = PurePosixPath(member.name)
        parts = [p for p in path.parts if p not in ("", ".")]
        if path.is_absolute() or ".." in parts or "\\" in member.name or "\0" in member.name:
            return refused
        tops.add(parts[0] if parts else "")
        if len(tops) > 1:
            return refused
        rel = parts[1:]
        if not rel:
            if member.isfile():
                return refused
            continue
        if any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in rel):
            return refused
        prefixes = ["/".join(rel[:i]) for i in range(1, len(rel))]
        if any(kinds.get(p) == "file" for p in prefixes):
            return refused
        key = "/".join(rel)
        if member.isdir():
            if kinds.get(key) == "file":
                return refused
            kinds.update(dict.fromkeys([*prefixes, key], "dir"))
            continue
        total += member.size
        if total > limits.max_bytes or key in kinds:
            return refused
        kinds.update(dict.fromkeys(prefixes, "dir"))
        kinds[key] = "file"
        files[key] = content
    return Outcome(True, files)


def tree(folder: Path) -> dict[str, str | bytes]:
    out: dict[str, str | bytes] = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        key = path.relative_to(folder).as_posix()
        out[key] = (
            path.read_bytes() if stat.S_ISREG(mode) else "dir" if stat.S_ISDIR(mode) else f"mode {mode:o}"
        )
    return out


def unpack(data: bytes, limits: ChartLimits = LIMITS) -> tuple[bool, dict[str, str | bytes]]:
    """(accepted, the destination's content); asserts nothing else changed and the error kind."""
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        (base / "outside").mkdir()
        (base / "outside" / "secret").write_bytes(b"secret")
        dest = base / "work" / "chart"
        (base / "work").mkdir()
        _, error = outcome(lambda: unpack_chart(data, dest, label="fuzz", limits=limits), FetchError)
        if error is not None:
            assert error.reason == "ChartRejected"
            assert "fuzz" in str(error)
        assert sorted(os.listdir(base)) == ["outside", "work"]
        assert tree(base / "outside") == {"secret": b"secret"}
        assert os.listdir(base / "work") == ["chart"]
        content = tree(dest)
        for key, value in content.items():
            assert value == "dir" or isinstance(value, bytes), (key, value)
        assert len(content) <= limits.max_files
        assert sum(len(v) for v in content.values() if isinstance(v, bytes)) <= limits.max_bytes
        return error is None, content


@given(st.lists(members, max_size=8), st.sampled_from(FORMATS))
@example([Member("demo/\u00e9\x00b", "file", b"x", "")], tarfile.PAX_FORMAT)  # NUL in pax: was a ValueError
@example([Member("demo/Chart.yaml", "file", b"", ""), Member("demo/x", "symlink", b"", "/etc/passwd")], 0)
@example([Member("demo/a", "file", b"1", ""), Member("demo/a/b", "file", b"2", "")], 0)
@example([Member("demo/a", "file", b"1", ""), Member("demo/a", "dir", b"", "")], 0)
@example([Member("demo/" + "n" * 300, "file", b"1", "")], tarfile.PAX_FORMAT)
@share(0.75)
def test_generated_archives_unpack_exactly_as_documented(entries: list[Member], fmt: int) -> None:
    data = gzip.compress(tar_bytes(entries, fmt))
    expected = documented_outcome(data, LIMITS)
    accepted, content = unpack(data)
    assert accepted == expected.accepted
    if accepted:
        assert {k: v for k, v in content.items() if v != "dir"} == expected.files


@given(
    st.lists(members, min_size=1, max_size=6),
    st.sampled_from(FORMATS),
    st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), min_size=1, max_size=6),
    st.none() | st.integers(0, 4096),
)
@share(0.75)
def test_damaged_archives_are_refused_or_unpacked_within_the_rules(
    entries: list[Member], fmt: int, changes: list[tuple[int, int]], cut: int | None
) -> None:
    raw = bytearray(tar_bytes(entries, fmt))
    for offset, value in changes:
        if offset < len(raw):
            raw[offset] = value
    unpack(gzip.compress(bytes(raw[:cut])))


@given(st.binary(max_size=300))
@example(b"\x1f\x8b")
@example(gzip.compress(b""))
def test_any_bytes_are_refused_or_unpacked_within_the_rules(data: bytes) -> None:
    unpack(data)
