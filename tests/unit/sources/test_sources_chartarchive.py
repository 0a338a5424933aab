"""Chart archives are untrusted: every way out of the destination, and every bomb, is refused."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import pytest
from chartfixtures import good_chart, make_tgz

from gitward.core.errors import FetchError
from gitward.sources.chartarchive import ChartLimits, unpack_chart

LIMITS = ChartLimits(max_files=50, max_bytes=1 << 20)


def test_unpacks_and_strips_top_directory(tmp_path: Path) -> None:
    unpack_chart(good_chart(), tmp_path / "out", label="demo", limits=LIMITS)
    assert (tmp_path / "out/Chart.yaml").read_text().startswith("apiVersion: v2")
    assert (tmp_path / "out/templates/cm.yaml").is_file()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("demo/Chart.yaml", b"", "file"), ("demo/../../evil", b"x", "file")], "unsafe path"),
        ([("/etc/evil", b"x", "file")], "unsafe path"),
        ([("demo/Chart.yaml", b"", "file"), ("demo/link", b"/etc/passwd", "symlink")], "link"),
        ([("demo/Chart.yaml", b"", "file"), ("demo/hard", b"demo/Chart.yaml", "hardlink")], "link"),
        ([("demo/Chart.yaml", b"", "file"), ("other/Chart.yaml", b"", "file")], "more than one top-level"),
        ([("Chart.yaml", b"", "file")], "outside its chart directory"),
        ([("demo/a", b"1", "file"), ("demo/a", b"2", "file")], "duplicate"),
        ([], "empty"),
    ],
)
def test_hostile_archives_are_refused(members, message: str, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=message) as caught:
        unpack_chart(make_tgz(members), tmp_path / "out", label="demo", limits=LIMITS)
    assert caught.value.reason == "ChartRejected"
    assert not (tmp_path / "evil").exists()


def test_too_many_files(tmp_path: Path) -> None:
    members = [(f"demo/f{i}", b"x", "file") for i in range(60)]
    with pytest.raises(FetchError, match="more than 50 entries"):
        unpack_chart(make_tgz(members), tmp_path / "out", label="demo", limits=LIMITS)


def test_declared_content_too_large(tmp_path: Path) -> None:
    members = [("demo/big", b"\0" * (2 << 20), "file")]
    with pytest.raises(FetchError, match="unpacks to more than"):
        unpack_chart(make_tgz(members), tmp_path / "out", label="demo", limits=LIMITS)


def test_gzip_bomb_stops_while_decompressing(tmp_path: Path) -> None:
    # A pax header declaring 64 MiB would be read into memory whole by tarfile; it compresses to
    # ~64 KiB, and the cap on decompressed bytes stops it long before the end.
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 64 << 20
    bomb = gzip.compress(header.tobuf(format=tarfile.USTAR_FORMAT) + b"1" * header.size)
    assert len(bomb) < 1 << 20
    with pytest.raises(FetchError, match="expands beyond"):
        unpack_chart(bomb, tmp_path / "out", label="demo", limits=LIMITS)


@pytest.mark.parametrize("data", [b"", b"not gzip at all", gzip.compress(b"not a tar" * 100)])
def test_garbage_is_refused(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"not a valid \.tgz|empty"):
        unpack_chart(data, tmp_path / "out", label="demo", limits=LIMITS)
