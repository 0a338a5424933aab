"""A chart's dependencies, placed in its ``charts/`` folder before ``helm template``, as Argo CD's
``helm dependency build`` does -- without giving Helm the network.

Read from ``Chart.yaml`` (``requirements.yaml`` for an ``apiVersion: v1`` chart), keys matched
ignoring case as Helm decodes them. A dependency ``charts/`` already holds (a folder whose chart has
that name, or an archive ``<name>-<version>.tgz``) needs nothing. The others come from:

- ``file://<folder>``: that folder of the checkout (checked: inside it, symlinks too), copied in;
- an ``https://``/``http://`` Helm repository or an ``oci://`` registry: fetched by gitward itself
  through a ``ChartSource`` (reconcile's, over ``sources``: the Repository objects' credentials, the
  archive caps), at the version the lock file pins (``Chart.lock``/``requirements.lock``) or else
  the best match of the dependency's version range; the unpacked chart is copied in.

Helm then finds everything in ``charts/`` and runs in the jail as always, offline. A dependency with
no repository, one named by a repository alias (``@name``, ``alias:name``: write its URL), a lock
file that does not list a dependency, and a dependency that cannot be fetched are refused, naming
the dependency (docs/reliability.md, row 3). Fetched versions are part of the render cache key
(``dependency_key``), so a range that now resolves to a newer chart renders again.

Deliberately not here: the HTTP and OCI clients and credentials (``sources``, ``reconcile``),
dependencies of dependencies (a packaged chart carries its own, as ``helm package`` leaves them).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gitward.core.errors import GitwardError, RenderError
from gitward.core.redact import redact_url
from gitward.render.params import DEFAULT_SETTINGS, RenderSettings
from gitward.render.sandbox import TreeFile, copy_tree, read_capped, safe_join_from
from gitward.render.yamlload import load_yaml_documents

_REMOTE = ("https://", "http://", "oci://")
_VERSIONED_ARCHIVE = re.compile(r"^v?[0-9]")


class ChartSource(Protocol):
    """Fetches one chart version from a Helm repository or OCI registry, unpacked; raises
    GitwardError (FetchError when it cannot be reached or found, RenderError when not allowed)."""

    async def fetch(self, *, repository: str, name: str, version: str) -> Path: ...


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str  # a range as written ("" = the newest)
    repository: str


@dataclass(frozen=True)
class PlacedDependency:
    """A dependency ``charts/`` lacked and where its chart comes from."""

    dependency: Dependency
    source: Path  # an unpacked chart folder (fetched, or a folder of the checkout)
    root: Path  # the folder ``source`` is checked against when copied
    version: str  # the version fetched ("" for a folder of the checkout)


class RememberedCharts:
    """A ``ChartSource`` that fetches each (repository, name, version) once, so the render that
    follows the cache-key lookup reuses what the lookup fetched."""

    def __init__(self, inner: ChartSource) -> None:
        self.inner = inner
        self.fetched: dict[tuple[str, str, str], Path] = {}

    async def fetch(self, *, repository: str, name: str, version: str) -> Path:
        key = (repository, name, version)
        if key not in self.fetched:
            self.fetched[key] = await self.inner.fetch(repository=repository, name=name, version=version)
        return self.fetched[key]


def _folded(value: Any, key: str) -> Any:
    """The value under ``key`` of a mapping, the key matched ignoring case; None when absent."""
    if isinstance(value, dict):
        for name, item in value.items():
            if str(name).casefold() == key:
                return item
    return None


def _documents(file: Path, root: Path, settings: RenderSettings) -> list[Any]:
    relative = file.relative_to(root).as_posix()
    tree = TreeFile(path=file, relative=relative, size=file.stat().st_size)
    return load_yaml_documents(read_capped(tree, settings=settings), where=relative, settings=settings)


def _listed(file: Path, root: Path, settings: RenderSettings) -> list[Dependency]:
    found: list[Dependency] = []
    for document in _documents(file, root, settings):
        entries = _folded(document, "dependencies") or []
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            name = _folded(entry, "name")
            if not isinstance(name, str) or not name:
                raise RenderError(f"{file.name}: dependency {index + 1} has no name")
            version = _folded(entry, "version")
            repository = _folded(entry, "repository")
            found.append(Dependency(name, str(version or ""), str(repository or "")))
    return found


def chart_dependencies(
    chart: Path, *, root: Path, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[Dependency]:
    """The dependencies ``chart`` (a resolved folder inside ``root``) declares."""
    for name in ("Chart.yaml", "requirements.yaml"):
        file = chart / name
        if file.is_file():
            listed = _listed(file, root, settings)
            if listed or name == "requirements.yaml":
                return listed
    return []


@dataclass(frozen=True)
class Lock:
    """A lock file's pins: (name, repository) -> version, and the file's name for messages."""

    file: str
    versions: dict[tuple[str, str], str]


def locked_versions(chart: Path, *, root: Path, settings: RenderSettings) -> Lock | None:
    """The lock file's pins; None without one."""
    for name in ("Chart.lock", "requirements.lock"):
        file = chart / name
        if file.is_file():
            return Lock(name, {(d.name, d.repository): d.version for d in _listed(file, root, settings)})
    return None


def _chart_name(folder: Path) -> str | None:
    for name in ("Chart.yaml", "chart.yaml"):
        file = folder / name
        if file.is_file():
            try:
                text = file.read_text(errors="replace")[:65536]
            except OSError:
                return None
            match = re.search(r"(?mi)^name:\s*['\"]?([^'\"\s#]+)", text)
            return match.group(1) if match else None
    return None


def vendored_names(chart: Path) -> set[str]:
    """Names of the charts ``charts/`` holds: folders by their Chart.yaml, archives by file name."""
    folder = chart / "charts"
    if not folder.is_dir():
        return set()
    names: set[str] = set()
    for entry in folder.iterdir():
        if entry.is_dir():
            found = _chart_name(entry)
            if found:
                names.add(found)
        elif entry.name.endswith(".tgz"):
            names.add(entry.name)
    return names


def is_vendored(dependency: Dependency, names: set[str]) -> bool:
    if dependency.name in names:
        return True
    prefix = f"{dependency.name}-"
    return any(
        n.startswith(prefix) and _VERSIONED_ARCHIVE.match(n[len(prefix) :])
        for n in names
        if n.endswith(".tgz")
    )


def missing_dependencies(
    chart: Path, *, root: Path, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[Dependency]:
    """The dependencies ``charts/`` does not hold, each once, in the order declared."""
    names = vendored_names(chart)
    missing: dict[str, Dependency] = {}
    for dependency in chart_dependencies(chart, root=root, settings=settings):
        if is_vendored(dependency, names):
            continue
        other = missing.get(dependency.name)
        if other is not None and (other.repository, other.version) != (
            dependency.repository,
            dependency.version,
        ):
            raise RenderError(
                f"dependency {dependency.name!r} is listed twice with different versions or repositories; "
                "vendor it in charts/"
            )
        missing[dependency.name] = dependency
    return list(missing.values())


def local_folder(chart: Path, dependency: Dependency, *, root: Path) -> Path:
    """The checkout folder a ``file://`` dependency names (checked), holding a chart."""
    base = chart.relative_to(root).as_posix() if chart != root else ""
    folder = safe_join_from(root, base, dependency.repository[7:])
    if not (folder / "Chart.yaml").is_file():
        raise RenderError(f"dependency {dependency.name!r}: {dependency.repository} holds no Chart.yaml")
    return folder


def local_dependency_folders(
    chart: Path, *, root: Path, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[Path]:
    """The checkout folders the render copies in for ``file://`` dependencies (render inputs)."""
    return [
        local_folder(chart, d, root=root)
        for d in missing_dependencies(chart, root=root, settings=settings)
        if d.repository[:7].lower() == "file://"
    ]


def _version(dependency: Dependency, lock: Lock | None) -> str:
    if lock is None:
        return dependency.version
    version = lock.versions.get((dependency.name, dependency.repository))
    if version is None:
        raise RenderError(
            f"{lock.file} does not list dependency {dependency.name!r} from "
            f"{redact_url(dependency.repository)}; it is out of date with the chart "
            "(run helm dependency update and commit it)",
            reason="ChartLockOutOfDate",
        )
    return version


async def place_dependencies(
    chart: Path, *, root: Path, charts: ChartSource | None, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[PlacedDependency]:
    """Where each dependency ``charts/`` lacks comes from; remote ones are fetched through ``charts``."""
    missing = await asyncio.to_thread(missing_dependencies, chart, root=root, settings=settings)
    if not missing:
        return []
    lock = await asyncio.to_thread(locked_versions, chart, root=root, settings=settings)
    placed: list[PlacedDependency] = []
    for dependency in missing:
        repository = dependency.repository
        if repository[:7].lower() == "file://":
            folder = await asyncio.to_thread(local_folder, chart, dependency, root=root)
            placed.append(PlacedDependency(dependency, folder, root, ""))
            continue
        _check_remote(dependency, charts)
        assert charts is not None
        version = _version(dependency, lock)
        try:
            source = await charts.fetch(repository=repository, name=dependency.name, version=version)
        except GitwardError as exc:
            raise RenderError(
                f"chart dependency {dependency.name!r} {version or '(newest)'} from "
                f"{redact_url(repository)} could not be fetched: {exc}",
                reason="ChartDependencyUnavailable",
            ) from None
        placed.append(PlacedDependency(dependency, source, source, source.name))
    return placed


def _check_remote(dependency: Dependency, charts: ChartSource | None) -> None:
    repository = dependency.repository
    if not repository:
        raise RenderError(
            f"dependency {dependency.name!r} names no repository and charts/ does not hold it",
            reason="ChartDependencyMissing",
        )
    if repository.startswith(("@", "alias:")):
        raise RenderError(
            f"dependency {dependency.name!r} names a repository by alias ({repository}); write its URL",
            reason="ChartDependencyMissing",
        )
    if not repository.lower().startswith(_REMOTE):
        raise RenderError(
            f"dependency {dependency.name!r}: repository {redact_url(repository)} is not an https, http, oci "
            "or file URL",
            reason="ChartDependencyMissing",
        )
    if charts is None:
        raise RenderError(
            f"dependency {dependency.name!r} from {redact_url(repository)} is not in charts/ and this render "
            "fetches nothing (run helm dependency build first)",
            reason="ChartDependencyMissing",
        )


def dependency_key(placed: Sequence[PlacedDependency]) -> str:
    """What the fetched dependencies add to the render cache key ("" when nothing was fetched)."""
    fetched = sorted(f"{p.dependency.repository}|{p.dependency.name}|{p.source}" for p in placed if p.version)
    return hashlib.sha256("\n".join(fetched).encode()).hexdigest()[:16] if fetched else ""


def copy_dependencies(
    placed: Sequence[PlacedDependency], chart_copy: Path, *, settings: RenderSettings
) -> None:
    """Copy each placed dependency into ``chart_copy/charts``, under a free folder name."""
    folder = chart_copy / "charts"
    folder.mkdir(exist_ok=True)
    for item in placed:
        target = folder / item.dependency.name
        suffix = 1
        while target.exists():
            suffix += 1
            target = folder / f"{item.dependency.name}-{suffix}"
        copy_tree(item.source, target, root=item.root, settings=settings)
