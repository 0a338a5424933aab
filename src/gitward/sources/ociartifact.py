"""Fetch manifests packaged as an OCI artifact (the layout ``flux push artifact`` writes) as an Artifact.

Such an artifact is an OCI image manifest whose config has the media type ``FLUX_CONFIG`` and whose
one layer of type ``FLUX_CONTENT`` is a gzipped tar of the manifests folder (paths relative to it,
no top directory). The revision is a digest (``sha256:<hex>``: that manifest, checked), a tag (``v1``,
``latest``; ``HEAD``, an Application's default revision, is ``latest`` as in Flux), or, when no tag
has that name and it reads as one, a semver range over the tags (the highest version allowed wins,
pre-releases only when the range names one). The layer is downloaded
(capped, size and digest checked against the manifest) and unpacked by ``chartarchive.unpack_tree``
(no absolute paths, no ``..``, no links or devices, file count and size caps), once per manifest
digest: a second fetch of the same digest reads only the manifest, and one by digest reads nothing.

The Artifact's ``commit`` is the manifest digest and its ``tree`` is derived from it and the path, so
everything after the fetch (render cache, status) works as for a Git commit. Deliberately not here:
layer selectors other than Flux's content layer, cosign/notation signatures, and rendering.
"""

from __future__ import annotations

import asyncio
from pathlib import Path, PurePosixPath
from typing import Any

from gitward.core.errors import FetchError, ValidationError
from gitward.sources.artifact import Artifact
from gitward.sources.chartarchive import ChartLimits, store_tree
from gitward.sources.credentials import GitCredentials
from gitward.sources.ocichart import HELM_CONFIG
from gitward.sources.ociregistry import (
    RegistryClient,
    config_media_type,
    is_digest,
    is_tag,
    layer_of,
    parse_oci_url,
)
from gitward.sources.semver import is_constraint, parse_constraint

FLUX_CONFIG = "application/vnd.cncf.flux.config.v1+json"
FLUX_CONTENT = "application/vnd.cncf.flux.content.v1.tar+gzip"


def artifact_cache_dir(dest: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return dest / "oci-artifacts" / f"{algorithm}-{hexdigest}"


async def fetch_oci_artifact(
    url: str,
    revision: str,
    path: str,
    *,
    dest: Path,
    credentials: GitCredentials | None = None,
    limits: ChartLimits | None = None,
    timeout: float = 60.0,  # noqa: ASYNC109 - passed to every HTTP request made in the thread
) -> Artifact:
    """The artifact at ``revision`` of the repository ``url`` (``oci://host/path``), unpacked once."""
    return await asyncio.to_thread(
        fetch_oci_artifact_sync,
        url,
        revision,
        path,
        dest=dest,
        credentials=credentials,
        limits=limits or ChartLimits(),
        timeout=timeout,
    )


def fetch_oci_artifact_sync(
    url: str,
    revision: str,
    path: str,
    *,
    dest: Path,
    credentials: GitCredentials | None,
    limits: ChartLimits,
    timeout: float,
) -> Artifact:
    ref = parse_oci_url(url)
    reference = revision.strip()
    if reference in ("", "HEAD"):
        reference = "latest"
    rel = _relative_path(path)
    if is_digest(reference):
        cached = artifact_cache_dir(dest, reference)
        if cached.is_dir():
            return _artifact(url, reference, reference, rel, cached)
    client = RegistryClient(ref, credentials=credentials, timeout=timeout)
    digest, manifest = _resolve(client, reference, url)
    root = artifact_cache_dir(dest, digest)
    if not root.is_dir():
        what = f"artifact {url}@{digest}"
        media_type = config_media_type(manifest)
        if media_type != FLUX_CONFIG:
            hint = ": it is a Helm chart, name it with chart" if media_type == HELM_CONFIG else ""
            raise FetchError(
                f"{what} has config media type {media_type or 'missing'!r}, not {FLUX_CONFIG}{hint}",
                reason="UnsupportedArtifact",
            )
        layer = layer_of(manifest, FLUX_CONTENT, what)
        data = client.blob(layer, max_bytes=limits.max_archive_bytes, what=f"{what}: content layer")
        store_tree(data, root, label=f"{url}@{digest}", limits=limits)
    return _artifact(url, reference, digest, rel, root)


def _resolve(client: RegistryClient, reference: str, url: str) -> tuple[str, dict[str, Any]]:
    """(digest, manifest) for a digest, a tag, or a semver range over the tags."""
    if is_digest(reference):
        return client.manifest(reference)
    ranged = is_constraint(reference)
    if is_tag(reference):
        try:
            return client.manifest(reference)
        except FetchError as err:
            if err.reason != "NotFound" or not ranged:
                raise FetchError(f"tag {reference!r} of {url}: {err}", reason=err.reason) from None
    if not ranged:
        raise ValidationError(
            f"revision {reference!r} of {url} is not a tag, a digest (sha256:<hex>) or a version range"
        )
    tags = client.tags(max_bytes=ChartLimits().max_index_bytes)
    best = parse_constraint(reference).best(tags)
    if best is None:
        raise FetchError(f"no tag of {url} matches {reference!r}", reason="RevisionNotFound")
    return client.manifest(best)


def _relative_path(path: str) -> str:
    parts = [p for p in PurePosixPath(path or ".").parts if p not in ("", ".")]
    if PurePosixPath(path or ".").is_absolute() or ".." in parts or "\\" in path or "\0" in path:
        raise ValidationError(f"path {path!r} must be relative and stay inside the artifact")
    return "/".join(parts)


def _artifact(url: str, revision: str, digest: str, path: str, root: Path) -> Artifact:
    directory = root / path if path else root
    exists = directory.is_dir() and not any(p.is_symlink() for p in (directory, *directory.parents))
    tree = f"oci:{digest}:{path}" if exists else ""
    return Artifact(url=url, revision=revision, commit=digest, path=path, tree=tree, root=root)
