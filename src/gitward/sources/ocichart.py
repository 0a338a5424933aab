"""Fetch a Helm chart from an OCI registry (``oci://host/path`` with a chart name), as ``helm pull`` does.

The chart ``c`` of ``oci://host/path`` is the repository ``path/c``; its versions are its tags, where
Helm writes a version's ``+`` as ``_`` (a tag cannot hold ``+``). An exact version is asked for by its
tag; a range (or a version whose tag is missing) lists the tags and takes the highest version matching
it, as for an HTTP repository (``semver``: ``""`` is the newest stable release). The manifest's config
must be a Helm chart config, its one chart layer is downloaded (capped, size and sha256 digest
checked against the manifest) and unpacked by ``chartarchive``. The result is cached by (repository,
chart, version) like a chart from an HTTP repository, so a pinned version costs no network afterwards.

Deliberately not here: provenance layers (ignored), chart signatures, and the registry protocol itself
(``ociregistry``).
"""

from __future__ import annotations

import re
from pathlib import Path

from gitward.core.errors import FetchError, ValidationError
from gitward.sources.chartarchive import ChartLimits, chart_cache_dir, store_chart
from gitward.sources.credentials import GitCredentials
from gitward.sources.ociregistry import (
    RegistryClient,
    config_media_type,
    is_tag,
    layer_of,
    parse_oci_url,
)
from gitward.sources.semver import parse_constraint

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_EXACT = re.compile(r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_CHART_NAME = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")


def version_tag(version: str) -> str:
    """The tag Helm pushes a chart version under: ``1.0.0+build.1`` -> ``1.0.0_build.1``."""
    return version.replace("+", "_")


def tag_version(tag: str) -> str:
    return tag.replace("_", "+")


def choose_tag(tags: list[str], spec: str) -> str | None:
    """The tag of the highest chart version among ``tags`` allowed by ``spec`` (``""``: newest stable).

    Tags that are no version (``latest``, ``main``) are ignored."""
    try:
        constraint = parse_constraint(spec if spec.strip() else "*")
    except ValueError as err:
        raise ValidationError(f"invalid chart version {spec!r}: {err}") from None
    by_version = {tag_version(tag): tag for tag in tags}
    best = constraint.best(by_version)
    return by_version[best] if best is not None else None


def fetch_oci_chart_sync(
    repo_url: str,
    chart: str,
    version_spec: str,
    *,
    dest: Path,
    credentials: GitCredentials | None,
    limits: ChartLimits,
    timeout: float,
) -> Path:
    """Directory of ``chart`` from the registry at the best version matching ``version_spec``."""
    if not _CHART_NAME.match(chart):
        raise ValidationError(f"invalid chart name {chart!r} for an OCI registry (lowercase, digits, ._-)")
    ref = parse_oci_url(repo_url).child(chart)
    spec = version_spec.strip()
    exact = spec if _EXACT.match(spec) else None
    if exact is not None:
        cached = chart_cache_dir(dest, repo_url, chart, exact)
        if cached.is_dir():
            return cached
    client = RegistryClient(ref, credentials=credentials, timeout=timeout)
    manifest = None
    tag = version_tag(exact) if exact is not None else None
    if tag is not None and is_tag(tag):
        try:
            manifest = client.manifest(tag)
        except FetchError as err:
            if err.reason != "NotFound":
                raise
    if manifest is None:
        tag = choose_tag(client.tags(max_bytes=limits.max_index_bytes), spec)
        if tag is None:
            raise FetchError(
                f"no version of chart {chart!r} in {repo_url} matches {spec or '*'!r}", reason="ChartNotFound"
            )
        manifest = client.manifest(tag)
    assert tag is not None
    version = tag_version(tag)
    final = chart_cache_dir(dest, repo_url, chart, version)
    if final.is_dir():
        return final
    _digest, body = manifest
    what = f"chart {chart} {version} in {repo_url}"
    if config_media_type(body) != HELM_CONFIG:
        raise FetchError(
            f"{what} is not a Helm chart (config media type {config_media_type(body) or 'missing'!r}, "
            f"expected {HELM_CONFIG})",
            reason="UnsupportedArtifact",
        )
    layer = layer_of(body, HELM_CHART_LAYER, what)
    data = client.blob(layer, max_bytes=limits.max_archive_bytes, what=f"{what}: chart layer")
    return store_chart(data, final, label=f"{chart}-{version}", limits=limits)
