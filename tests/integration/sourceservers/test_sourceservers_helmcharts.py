"""fetch_chart against a real chart repository served over HTTP with charts packaged by helm."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
import yaml
from devtools.helmrepo import HelmRepoServer

from conftest import CHART_PASSWORD, CHART_USER
from gitward.core.errors import FetchError
from gitward.sources.chartarchive import ChartLimits
from gitward.sources.credentials import GitCredentials
from gitward.sources.helmrepo import fetch_chart

pytestmark = pytest.mark.integration


def chart_version(directory: Path) -> str:
    return str(yaml.safe_load((directory / "Chart.yaml").read_text())["version"])


async def test_picks_highest_matching_version_and_caches(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    for version in ("1.0.0", "1.2.0", "1.3.0-rc.1", "2.0.0"):
        helm_repo.add_chart("podinfo", version)
    dest = tmp_path / "charts"
    chart = await fetch_chart(helm_repo.url, "podinfo", "^1.0", dest=dest)
    assert chart_version(chart) == "1.2.0"
    assert (chart / "templates/configmap.yaml").is_file()
    assert chart_version(await fetch_chart(helm_repo.url, "podinfo", "", dest=dest)) == "2.0.0"
    assert (
        chart_version(await fetch_chart(helm_repo.url, "podinfo", ">=1.3.0-rc.0 <2", dest=dest))
        == "1.3.0-rc.1"
    )
    downloads = [p for p in helm_repo.requests if p.endswith(".tgz")]
    assert len(downloads) == 3
    before = len(helm_repo.requests)
    again = await fetch_chart(helm_repo.url, "podinfo", "1.2.0", dest=dest)
    assert again == chart
    assert len(helm_repo.requests) == before  # an exact cached version needs no network


async def test_missing_chart_or_version(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    helm_repo.add_chart("podinfo", "1.0.0")
    with pytest.raises(FetchError, match="not found"):
        await fetch_chart(helm_repo.url, "nginx", "*", dest=tmp_path)
    with pytest.raises(FetchError, match="no version"):
        await fetch_chart(helm_repo.url, "podinfo", ">=5", dest=tmp_path)


async def test_basic_auth(helm_repo_auth: HelmRepoServer, tmp_path: Path) -> None:
    helm_repo_auth.add_chart("podinfo", "2.0.0")
    good = GitCredentials(username=CHART_USER, password=CHART_PASSWORD)
    chart = await fetch_chart(helm_repo_auth.url, "podinfo", "2.x", dest=tmp_path / "a", credentials=good)
    assert chart_version(chart) == "2.0.0"
    bad = GitCredentials(username=CHART_USER, password="not-the-chart-password")
    with pytest.raises(FetchError, match="401") as caught:
        await fetch_chart(helm_repo_auth.url, "podinfo", "2.x", dest=tmp_path / "b", credentials=bad)
    assert "not-the-chart-password" not in str(caught.value)


async def test_archive_bomb_is_refused(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("bomb/zeros")
        info.size = 8 << 20
        tar.addfile(info, io.BytesIO(b"\0" * info.size))
    helm_repo.add_archive("bomb", "1.0.0", gzip.compress(raw.getvalue()))
    limits = ChartLimits(max_bytes=1 << 20)
    with pytest.raises(FetchError, match="unpacks to more than") as caught:
        await fetch_chart(helm_repo.url, "bomb", "1.0.0", dest=tmp_path, limits=limits)
    assert caught.value.reason == "ChartRejected"
    assert not any(p.name == "zeros" for p in tmp_path.rglob("*"))  # noqa: ASYNC240 - a test check


async def test_escaping_archive_is_refused(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("evil/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc"
        tar.addfile(info)
    helm_repo.add_archive("evil", "1.0.0", gzip.compress(raw.getvalue()))
    with pytest.raises(FetchError, match="link"):
        await fetch_chart(helm_repo.url, "evil", "*", dest=tmp_path)


async def test_digest_mismatch(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    archive = helm_repo.add_chart("podinfo", "1.0.0")
    archive.write_bytes(archive.read_bytes() + b"tampered")
    with pytest.raises(FetchError, match="digest"):
        await fetch_chart(helm_repo.url, "podinfo", "1.0.0", dest=tmp_path)


async def test_huge_or_broken_index(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    helm_repo.write_index(b"apiVersion: v1\nentries: {}\n# " + b"x" * 5000)
    with pytest.raises(FetchError, match="larger than the limit"):
        await fetch_chart(
            helm_repo.url, "podinfo", "*", dest=tmp_path, limits=ChartLimits(max_index_bytes=4096)
        )
    helm_repo.write_index(b"entries: [unclosed")
    with pytest.raises(FetchError, match="not valid YAML"):
        await fetch_chart(helm_repo.url, "podinfo", "*", dest=tmp_path)


async def test_unsupported_urls(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="http or https"):
        await fetch_chart("file:///etc", "x", "*", dest=tmp_path)
