"""Render a Helm chart directory with the real ``helm template``, sandboxed and offline.

The chart folder (from the checkout, or one a Helm repository fetch unpacked inside the artifact
root) is copied after its symlinks are checked; value files are resolved relative to the app
directory with ``safe_join`` (``../`` inside the checkout is fine, outside or absolute is refused),
parsed once with the bounded loader and passed as copies; ``spec.values`` becomes one more values
file, last, so it wins. Chart archives in ``charts/`` are capped compressed and decompressed before
Helm opens them (archive bombs, docs/reliability.md row 5). Helm's HOME and config/cache/data folders
point into the temporary directory and no repository is configured: ``helm template`` is never asked
to build dependencies and never downloads. Dependencies ``charts/`` lacks are placed there in the
copy first (``chartdeps``: a ``file://`` folder of the checkout, or a chart gitward fetched itself
from a Helm repository or OCI registry). A dependency whose repository is a ``file://`` path must
name a folder inside the checkout, so a chart cannot even point at content outside it (row 3).

``helm template`` runs in the jail (``jail``): no network, so ``lookup`` finds nothing and no
repository can be reached, and no file but the copies, so ``.Files`` and templates see the chart
alone.

Deliberately not here: fetching charts from repositories (``sources``), post-renderers, Helm hooks
(rendered as objects; ``plan`` orders them).
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from pathlib import Path
from typing import Any

import orjson

from gitward.core.errors import RenderError
from gitward.render.chartdeps import ChartSource, copy_dependencies, place_dependencies
from gitward.render.jail import Confinement
from gitward.render.manifests import collect_manifests
from gitward.render.params import DEFAULT_SETTINGS, HelmParams, RenderSettings, RenderTools
from gitward.render.runner import run_tool
from gitward.render.sandbox import TreeFile, copy_tree, read_capped, safe_join_from, walk_files
from gitward.render.yamlload import load_yaml_documents

_DEPENDENCY_FILES = ("Chart.yaml", "requirements.yaml")


def check_chart_archive(file: TreeFile, *, settings: RenderSettings = DEFAULT_SETTINGS) -> None:
    """Refuse a ``.tgz`` that is too big, or decompresses to too much, without keeping its content."""
    if file.size > settings.max_chart_archive_bytes:
        raise RenderError(
            f"{file.relative}: chart archive is larger than {settings.max_chart_archive_bytes} bytes"
        )
    unpacked = 0
    try:
        with gzip.open(file.path, "rb") as stream:
            while chunk := stream.read(1024 * 1024):
                unpacked += len(chunk)
                if unpacked > settings.max_chart_unpacked_bytes:
                    raise RenderError(
                        f"{file.relative}: chart archive unpacks to more than "
                        f"{settings.max_chart_unpacked_bytes} bytes"
                    )
    except (OSError, EOFError, zlib.error):
        raise RenderError(f"{file.relative}: chart archive is not a valid gzip file") from None


def value_file(directory: Path, entry: str, *, root: Path, settings: RenderSettings) -> TreeFile:
    """A values file named relative to the chart folder; anywhere in the checkout, never outside it."""
    if "://" in entry:
        raise RenderError(f"remote value files are not allowed: {entry}", reason="PathEscapesRepository")
    real = safe_join_from(root, directory.relative_to(root).as_posix(), entry)
    if not real.is_file():
        raise RenderError(f"value file not found: {entry}")
    return TreeFile(path=real, relative=real.relative_to(root).as_posix(), size=real.stat().st_size)


def check_dependencies(file: TreeFile, *, root: Path, settings: RenderSettings) -> None:
    """Refuse a ``file://`` dependency in a ``Chart.yaml``/``requirements.yaml`` that leaves the checkout.

    Helm decodes these files case-insensitively, so keys are matched that way too.
    """
    documents = load_yaml_documents(
        read_capped(file, settings=settings), where=file.relative, settings=settings
    )
    chart_folder = file.relative.rpartition("/")[0] or "."
    for document in documents:
        for dependency in _folded(document, "dependencies"):
            for repository in _folded(dependency, "repository"):
                if isinstance(repository, str) and repository[:7].lower() == "file://":
                    try:
                        safe_join_from(root, chart_folder, repository[7:])
                    except RenderError as exc:
                        raise RenderError(
                            f"{file.relative}: dependency {repository}: {exc}", reason=exc.reason
                        ) from None


def _folded(value: Any, key: str) -> list[Any]:
    """Every value under ``key`` (matched ignoring case) of a mapping, flattening one list level."""
    if not isinstance(value, dict):
        return []
    found: list[Any] = []
    for name, item in value.items():
        if str(name).casefold() == key:
            found.extend(item if isinstance(item, list) else [item])
    return found


def _prepare(
    directory: Path, *, root: Path, params: HelmParams, workdir: Path, settings: RenderSettings
) -> tuple[Path, list[Path]]:
    """Checked copies of the chart and every values file; returns (chart copy, values files)."""
    root = root.resolve()
    directory = directory.resolve()
    for file in walk_files(directory, root=root, skip_hidden=False, settings=settings):
        if file.relative.endswith((".tgz", ".tar.gz")):
            check_chart_archive(file, settings=settings)
        elif file.relative.rpartition("/")[2] in _DEPENDENCY_FILES:
            check_dependencies(file, root=root, settings=settings)
    chart = workdir / "chart" / (directory.name or "chart")
    copy_tree(directory, chart, root=root, settings=settings)
    values_dir = workdir / "values"
    values_dir.mkdir()
    values: list[Path] = []
    roots = dict(params.value_roots)
    for index, entry in enumerate(params.value_files):
        name, _, rest = entry[1:].partition("/")
        if entry.startswith("$") and name in roots:
            # another source's checkout (several sources): the file must stay inside that one
            other = Path(roots[name]).resolve()
            file = value_file(other, rest, root=other, settings=settings)
            file = TreeFile(path=file.path, relative=f"${name}/{file.relative}", size=file.size)
        else:
            file = value_file(directory, entry, root=root, settings=settings)
        data = read_capped(file, settings=settings)
        load_yaml_documents(data, where=file.relative, settings=settings)  # bounded before helm sees it
        copy = values_dir / f"{index:03d}.yaml"
        copy.write_bytes(data)
        values.append(copy)
    if params.values:
        generated = values_dir / "spec-values.yaml"
        generated.write_bytes(orjson.dumps(params.values))  # JSON is YAML
        values.append(generated)
    return chart, values


def helm_arguments(
    chart: Path,
    *,
    release: str,
    namespace: str,
    kube_version: str,
    api_versions: list[str],
    values: list[Path],
) -> list[str]:
    argv = ["template", release, str(chart), "--namespace", namespace, "--include-crds"]
    if kube_version:
        argv += ["--kube-version", kube_version]
    for api_version in api_versions:
        argv += ["--api-versions", api_version]
    for path in values:
        argv += ["--values", str(path)]
    return argv


async def render_helm(
    directory: Path,
    *,
    root: Path,
    params: HelmParams,
    tools: RenderTools,
    workdir: Path,
    kube_version: str,
    api_versions: list[str],
    settings: RenderSettings = DEFAULT_SETTINGS,
    charts: ChartSource | None = None,
) -> list[dict[str, Any]]:
    """``helm template`` of the chart in ``directory`` (inside ``root``), run on checked copies;
    dependencies ``charts/`` lacks come through ``charts`` (none: they are refused)."""
    chart, values = await asyncio.to_thread(
        _prepare, directory, root=root, params=params, workdir=workdir, settings=settings
    )
    # ``render`` passes both paths resolved
    placed = await place_dependencies(directory, root=root, charts=charts, settings=settings)
    if placed:
        await asyncio.to_thread(copy_dependencies, placed, chart, settings=settings)
    release = params.release_name or chart.name
    arguments = helm_arguments(
        chart,
        release=release,
        namespace=params.namespace or "default",
        kube_version=kube_version,
        api_versions=api_versions,
        values=values,
    )
    output = await run_tool(
        [str(tools.helm), *arguments],
        name="helm",
        home=workdir / "home",
        cwd=workdir,
        time_limit=tools.timeout,
        settings=settings,
        scrub={f"{workdir}/chart/": "", f"{workdir}/values/": "values/", str(workdir): "."},
        confinement=Confinement(program=tools.jail, readable=(workdir,), home=workdir / "home"),
    )
    where = f"helm template {chart.name}"
    return collect_manifests(load_yaml_documents(output.stdout, where=where, settings=settings), where=where)
