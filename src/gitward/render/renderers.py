"""``render``: an app directory in a checkout plus its parameters in, manifests and digest out.

The one entry point the reconcile layer calls. It checks the directory is inside the checkout,
picks the engine (given or detected), runs it in a fresh temporary directory that is removed
afterwards, applies ``${VAR}`` substitution to the result and digests it (sha256 of the canonical
JSON, sorted keys), so an unchanged render is recognised without comparing objects.

SOPS-encrypted files the render reads are decrypted first (``sops``); a render that still holds
ciphertext afterwards is refused whatever the engine.

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
from gitward.render.detect import detect_engine
from gitward.render.helm import render_helm
from gitward.render.kustomize import render_kustomize
from gitward.render.manifests import manifests_digest
from gitward.render.params import DEFAULT_SETTINGS, RenderParams, RenderSettings, RenderTools
from gitward.render.plain import render_plain
from gitward.render.result import RenderResult
from gitward.render.runner import tool_version
from gitward.render.sandbox import safe_join_resolved
from gitward.render.sops import Decryptor, ciphertext_left, refuse_ciphertext, render_plain_decrypted
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
    """What identifies the renderer's behaviour, for cache keys: the tool and its version."""
    if engine == "kustomize":
        return await tool_version(
            tools.kustomize, name="kustomize", args=["version"], time_limit=tools.timeout
        )
    if engine == "helm":
        return await tool_version(
            tools.helm, name="helm", args=["version", "--short"], time_limit=tools.timeout
        )
    return "plain"


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
) -> list[dict[str, Any]]:
    if engine == "plain":
        manifests = await asyncio.to_thread(
            render_plain, directory, root=root, params=params.directory, settings=settings, resolved=True
        )
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
        if engine == "plain":
            # an encrypted file was met: read the folder again with its files decrypted (sops)
            return await render_plain_decrypted(
                directory, root=root, params=params.directory, settings=settings, decryptor=decryptor
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
) -> RenderResult:
    """Render the app in ``directory`` of the checkout at ``root``. Raises RenderError."""
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
) -> RenderResult:
    """``render`` through ``cache``, keyed by tree hash, parameters, tool version and cluster version.

    Pass an artifact's ``tree``, ``root`` and ``directory``; with an empty ``tree`` (path unknown to
    Git) nothing is cached. ``engine``, when the caller already detected it for this tree, spares a
    look at the folder on a cache hit.
    """

    async def produce() -> RenderResult:
        return await render(
            directory,
            root=root,
            params=params,
            tools=tools,
            kube_version=kube_version,
            api_versions=api_versions,
            settings=settings,
        )

    if not tree:
        return await produce()
    if engine is None:
        checked = await asyncio.to_thread(checked_directory, directory, root=root)
        engine = detect_engine(checked, hint=params.engine)
    tool = await engine_version(engine, tools)
    key = RenderKey.build(
        tree=tree, params=params.digest(), tool=tool, kube_version=kube_version, api_versions=api_versions
    )
    return await cache.get_or_render(key, produce)
