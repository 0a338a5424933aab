"""Fetch a chart from a Helm chart repository (HTTP, or an OCI registry) into a local cache.

``fetch_chart`` reads the repository's ``index.yaml`` (size-capped before parsing), picks the highest
version matching the user's range (``""`` means the newest stable release, as with ``helm pull``),
downloads that version's archive (capped, digest checked when the index has one), unpacks it safely
(``chartarchive``) and caches it by (repository, chart, version): a second call for an exact version
costs no network at all. Credentials go only to the repository's own origin.

An ``oci://`` repository URL is an OCI registry: ``ocichart`` fetches from it, into the same cache.

Deliberately not here: provenance verification, and rendering.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import yaml

from gitward.core.errors import FetchError, ValidationError
from gitward.sources.chartarchive import ChartLimits, chart_cache_dir, store_chart
from gitward.sources.credentials import GitCredentials, display_url
from gitward.sources.httpget import check_http_url, http_get
from gitward.sources.ocichart import fetch_oci_chart_sync
from gitward.sources.semver import parse_constraint, parse_version

_CHART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


__all__ = ["chart_cache_dir", "fetch_chart", "fetch_chart_sync"]


async def fetch_chart(
    repo_url: str,
    chart: str,
    version_spec: str,
    *,
    dest: Path,
    credentials: GitCredentials | None = None,
    limits: ChartLimits | None = None,
    timeout: float = 60.0,  # noqa: ASYNC109 - passed to every HTTP request made in the thread
) -> Path:
    """Directory of ``chart`` at the best version matching ``version_spec`` (downloaded once)."""
    return await asyncio.to_thread(
        fetch_chart_sync,
        repo_url,
        chart,
        version_spec,
        dest=dest,
        credentials=credentials,
        limits=limits or ChartLimits(),
        timeout=timeout,
    )


def fetch_chart_sync(
    repo_url: str,
    chart: str,
    version_spec: str,
    *,
    dest: Path,
    credentials: GitCredentials | None,
    limits: ChartLimits,
    timeout: float,
) -> Path:
    if repo_url.lower().startswith("oci://"):
        return fetch_oci_chart_sync(
            repo_url, chart, version_spec, dest=dest, credentials=credentials, limits=limits, timeout=timeout
        )
    check_http_url(repo_url)
    if not _CHART_NAME.match(chart):
        raise ValidationError(f"invalid chart name {chart!r}")
    exact = parse_version(version_spec) if version_spec.strip() else None
    if exact is not None and not re.match(r"^\s*[=v\d]", version_spec):
        exact = None
    if exact is not None:
        cached = chart_cache_dir(dest, repo_url, chart, version_spec.strip())
        if cached.is_dir():
            return cached
    base = repo_url.rstrip("/") + "/"
    index = _load_index(base, credentials=credentials, limits=limits, timeout=timeout)
    version, entry = _choose(index, chart, version_spec, repo_url)
    final = chart_cache_dir(dest, repo_url, chart, version)
    if final.is_dir():
        return final
    urls = entry.get("urls")
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
        raise FetchError(f"index of {display_url(repo_url)} has no download URL for {chart} {version}")
    archive_url = urljoin(base, urls[0])
    data = http_get(
        archive_url, max_bytes=limits.max_archive_bytes, credentials=credentials,
        auth_origin=base, timeout=timeout, what=f"chart {chart} {version}",
    )  # fmt: skip
    digest = entry.get("digest")
    if isinstance(digest, str) and digest and hashlib.sha256(data).hexdigest() != digest.lower():
        raise FetchError(
            f"chart {chart} {version} does not match the digest in the index", reason="DigestMismatch"
        )
    return store_chart(data, final, label=f"{chart}-{version}", limits=limits)


def _load_index(
    base: str, *, credentials: GitCredentials | None, limits: ChartLimits, timeout: float
) -> dict[str, Any]:
    raw = http_get(
        urljoin(base, "index.yaml"), max_bytes=limits.max_index_bytes, credentials=credentials,
        auth_origin=base, timeout=timeout, what="index.yaml",
    )  # fmt: skip
    try:
        index = yaml.load(raw, Loader=_Loader)  # noqa: S506 - a safe loader (C or pure Python)
    except yaml.YAMLError as err:
        raise FetchError(f"index.yaml of {display_url(base)} is not valid YAML: {err}") from None
    if not isinstance(index, dict) or not isinstance(index.get("entries"), dict):
        raise FetchError(f"index.yaml of {display_url(base)} has no entries")
    return index


def _choose(index: dict[str, Any], chart: str, spec: str, repo_url: str) -> tuple[str, dict[str, Any]]:
    entries = index["entries"].get(chart)
    if not isinstance(entries, list) or not entries:
        raise FetchError(f"chart {chart!r} not found in {display_url(repo_url)}", reason="ChartNotFound")
    by_version = {
        str(e["version"]): e for e in entries if isinstance(e, dict) and isinstance(e.get("version"), str)
    }
    try:
        constraint = parse_constraint(spec if spec.strip() else "*")
    except ValueError as err:
        raise ValidationError(f"invalid chart version {spec!r}: {err}") from None
    best = constraint.best(by_version)
    if best is None:
        raise FetchError(
            f"no version of chart {chart!r} in {display_url(repo_url)} matches {spec or '*'!r}",
            reason="ChartNotFound",
        )
    return best, by_version[best]
