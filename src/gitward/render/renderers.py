"""``render``: an app directory in a checkout plus its parameters in, manifests and digest out.

The one entry point the reconcile layer calls. It checks the directory is inside the checkout,
picks the engine (given or detected), runs it in a fresh temporary directory that is removed
afterwards, applies ``${VAR}`` substitution to the result and digests it (sha256 of the canonical
JSON, sorted keys), so an unchanged render is recognised without comparing objects.

SOPS-encrypted files the render reads are decrypted first (``sops``); a render that still holds
ciphertext afterwards is refused whatever the engine.

The engines: ``plain`` (YAML/JSON files, and ``*.jsonnet`` files evaluated by ``jsonnet``:
``directory``), ``kustomize``, ``helm`` (with the dependencies ``chartdeps`` places through a
``ChartSource``) and ``plugin`` (a config-management plugin: ``plugin``). Jsonnet values and plugins
read the build variables: the app's (``RenderParams.build_env``) and the cluster's versions.

Deliberately not here: caching (``cache``), policy checks on what was rendered.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

from gitward.core.errors import RenderError
from gitward.render.cache import RenderCache, RenderKey
from gitward.render.chartdeps import ChartSource, RememberedCharts, dependency_key, place_dependencies
from gitward.render.detect import detect_engine
from gitward.render.directory import render_directory
from gitward.render.helm import render_helm
from gitward.render.kustomize import render_kustomize
from gitward.render.manifests import manifests_digest
from gitward.render.params import DEFAULT_SETTINGS, RenderParams, RenderSettings, RenderTools
from gitward.render.plain import is_jsonnet, load_manifest_files, selected_files
from gitward.render.plugin import render_plugin
from gitward.render.result import RenderResult
from gitward.render.runner import tool_version
from gitward.render.sandbox import TreeFile, safe_join_resolved
from gitward.render.sops import Decryptor, ciphertext_left, refuse_ciphertext
from gitward.render.substitute import substitute_manifests


def checked_directory(directory: Path, *, root: Path) -> Path:
    """``directory`` resolved and refused unless it is an existing folder inside ``root``."""
    return located_directory(directory, root=root)[0]


def located_directory(directory: Path, *, root: Path) -> tuple[Path, Path]:
    """``checked_directory`` and the resolved root: the root is resolved once for both.

    Resolving is the costly part of locating a small app (one ``lstat`` per path component, in
    Python), so callers that also need the real root take it from here instead of again.
    """
    real_root = root.resolve()
    relative = _relative_part(directory, root=root, real_root=real_root)
    resolved = safe_join_resolved(real_root, relative.as_posix() or ".")
    if not resolved.is_dir():
        raise RenderError(
            f"path not found in repository: {relative.as_posix() or '.'}", reason="PathNotFound"
        )
    return resolved, real_root


def _relative_part(directory: Path, *, root: Path, real_root: Path) -> PurePath:
    """``directory`` relative to the checkout, read from its spelling when it is under either
    spelling of the root; only an absolute path elsewhere is resolved to find out."""
    if not directory.is_absolute():
        return directory
    for base in (root, real_root):
        if directory.is_relative_to(base):
            return directory.relative_to(base)
    try:
        return directory.resolve().relative_to(real_root)
    except ValueError:
        raise RenderError(f"path escapes repository: {directory}", reason="PathEscapesRepository") from None


async def engine_version(engine: str, tools: RenderTools) -> str:
    """What identifies the renderer's behaviour, for cache keys: the tool and its version (for a
    plain folder, jsonnet's when it is there: the folder may hold Jsonnet files)."""
    if engine == "kustomize":
        return await tool_version(
            tools.kustomize, name="kustomize", args=["version"], time_limit=tools.timeout
        )
    if engine == "helm":
        return await tool_version(
            tools.helm, name="helm", args=["version", "--short"], time_limit=tools.timeout
        )
    if engine == "plain" and tools.jsonnet.is_file():
        try:
            jsonnet = await tool_version(
                tools.jsonnet, name="jsonnet", args=["--version"], time_limit=tools.timeout
            )
        except RenderError:
            return "plain"  # a jsonnet that cannot answer fails the renders that need it
        return f"plain; {jsonnet}"
    return engine


def build_variables(
    params: RenderParams, *, kube_version: str, api_versions: Sequence[str]
) -> dict[str, str]:
    """The build variables of this render: the app's, and the destination cluster's versions."""
    return {
        **params.build_env,
        "KUBE_VERSION": kube_version,
        "KUBE_API_VERSIONS": ",".join(api_versions),
    }


def _refuse_misplaced_options(engine: str, params: RenderParams) -> None:
    """Options that only one engine acts on are refused for the others (accepted means acted on)."""
    if engine != "plain" and not params.directory.jsonnet.is_empty():
        raise RenderError(
            f"spec.source.directory.jsonnet applies to directory apps; this folder is rendered by {engine}",
            reason="JsonnetUnsupported",
        )
    if engine == "plugin" and params.plugin is None:
        raise RenderError("the plugin engine needs spec.source.plugin", reason="PluginNotFound")


async def _run_engine(
    engine: str,
    directory: Path,
    *,
    root: Path,
    params: RenderParams,
    tools: RenderTools,
    kube_version: str,
    api_versions: Sequence[str],
    settings: RenderSettings,
    charts: ChartSource | None,
) -> list[dict[str, Any]]:
    _refuse_misplaced_options(engine, params)
    files: list[TreeFile] = []
    if engine == "plain":
        files = await asyncio.to_thread(
            selected_files, directory, root=root, params=params.directory, settings=settings
        )
        if not any(is_jsonnet(file) for file in files):
            manifests = await asyncio.to_thread(load_manifest_files, files, settings=settings)
            if ciphertext_left(manifests) is None:
                return manifests
    elif engine == "helm" and params.decryption is not None:
        raise RenderError(
            "spec.source.decryption applies to plain and kustomize renders; this app renders a Helm chart",
            reason="DecryptionUnsupported",
        )
    workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="gitward-render-"))
    try:
        await asyncio.to_thread((workdir / "home").mkdir)
        decryptor = Decryptor(params.decryption, tools=tools, workdir=workdir, settings=settings)
        variables = build_variables(params, kube_version=kube_version, api_versions=api_versions)
        if engine == "plain":
            # Jsonnet files to evaluate, or an encrypted file was met (decrypted by sops)
            return await render_directory(
                files,
                directory=directory,
                root=root,
                params=params.directory,
                variables=variables,
                tools=tools,
                workdir=workdir,
                settings=settings,
                decryptor=decryptor,
            )
        if engine == "plugin":
            assert params.plugin is not None  # _refuse_misplaced_options
            return await render_plugin(
                directory,
                root=root,
                params=params.plugin,
                variables=variables,
                tools=tools,
                workdir=workdir,
                settings=settings,
            )
        if engine == "kustomize":
            return await render_kustomize(
                directory,
                root=root,
                params=params.kustomize,
                tools=tools,
                workdir=workdir,
                settings=settings,
                decryptor=decryptor,
            )
        return await render_helm(
            directory,
            root=root,
            params=params.helm,
            tools=tools,
            workdir=workdir,
            kube_version=kube_version,
            api_versions=list(api_versions),
            settings=settings,
            charts=charts,
        )
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)


def _located(directory: Path, root: Path, hint: str | None) -> tuple[Path, Path, str]:
    """The checked folder, the resolved root and the engine: file-system work, done in one thread hop."""
    checked, real_root = located_directory(directory, root=root)
    return checked, real_root, detect_engine(checked, hint=hint)


async def render(
    directory: Path,
    *,
    root: Path,
    params: RenderParams,
    tools: RenderTools,
    kube_version: str,
    api_versions: Sequence[str],
    settings: RenderSettings = DEFAULT_SETTINGS,
    charts: ChartSource | None = None,
) -> RenderResult:
    """Render the app in ``directory`` of the checkout at ``root``. Raises RenderError.

    ``charts`` fetches the chart dependencies a Helm chart's ``charts/`` lacks (``chartdeps``);
    without it such a dependency is refused."""
    directory, root, engine = await asyncio.to_thread(_located, directory, root, params.engine)
    manifests = await _run_engine(
        engine,
        directory,
        root=root,
        params=params,
        tools=tools,
        kube_version=kube_version,
        api_versions=api_versions,
        settings=settings,
        charts=charts,
    )
    refuse_ciphertext(manifests)  # docs/reliability.md, bad input 13: ciphertext is never applied
    manifests = substitute_manifests(manifests, params.substitute)
    return RenderResult(manifests=tuple(manifests), digest=manifests_digest(manifests), engine=engine)


async def render_cached(
    directory: Path,
    *,
    root: Path,
    tree: str,
    params: RenderParams,
    tools: RenderTools,
    kube_version: str,
    api_versions: Sequence[str],
    cache: RenderCache,
    settings: RenderSettings = DEFAULT_SETTINGS,
    engine: str | None = None,
    charts: ChartSource | None = None,
) -> RenderResult:
    """``render`` through ``cache``, keyed by tree hash, parameters, tool version and cluster version.

    Pass an artifact's ``tree``, ``root`` and ``directory``; with an empty ``tree`` (path unknown to
    Git) nothing is cached. ``engine``, when the caller already detected it for this tree, spares a
    look at the folder on a cache hit. A Helm chart's fetched dependencies are part of the key: they
    are fetched first (once: the render reuses them), so a range that resolves to a newer chart
    renders again.
    """
    remembered = RememberedCharts(charts) if charts is not None else None

    async def produce() -> RenderResult:
        return await render(
            directory,
            root=root,
            params=params,
            tools=tools,
            kube_version=kube_version,
            api_versions=api_versions,
            settings=settings,
            charts=remembered,
        )

    if not tree:
        return await produce()
    if engine is None:
        checked = await asyncio.to_thread(checked_directory, directory, root=root)
        engine = detect_engine(checked, hint=params.engine)
    tool = await engine_version(engine, tools)
    if engine == "helm" and remembered is not None:
        checked, real_root = await asyncio.to_thread(located_directory, directory, root=root)
        placed = await place_dependencies(checked, root=real_root, charts=remembered, settings=settings)
        if placed:
            tool += f"; dependencies {dependency_key(placed)}"
    key = RenderKey.build(
        tree=tree, params=params.digest(), tool=tool, kube_version=kube_version, api_versions=api_versions
    )
    return await cache.get_or_render(key, produce)
