"""Offline rendering of a local folder, for ``gitward render PATH`` and users' own tests.

The sandbox root is the enclosing Git work tree (the folder holding ``.git``), as in a real render
where the root is the checkout: a Kustomize overlay may use ``../base`` inside the repository, and
links out of the repository are refused. Outside any work tree the folder itself is the root.
Helm value files given on the command line are the user's own local files
(they may live outside the folder): they are read here, size-capped and bounded, and merged into
the inline values, so Helm itself is never handed a path outside the sandbox.

Deliberately not here: argument parsing and printing (``cli``), fetching from Git.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gitward.core.errors import RenderError
from gitward.render.params import DEFAULT_SETTINGS, RenderParams, RenderSettings, RenderTools
from gitward.render.renderers import render
from gitward.render.yamlload import load_yaml_documents

DEFAULT_KUBE_VERSION = "v1.36.3"


def _local_values(files: Sequence[Path], *, settings: RenderSettings) -> dict[str, Any]:
    """Merge local values files in order (later wins, deep merge of mappings), as ``helm -f`` does."""
    merged: dict[str, Any] = {}
    for file in files:
        size = file.stat().st_size
        if size > settings.max_file_bytes:
            raise RenderError(f"{file.name}: file is larger than {settings.max_file_bytes} bytes")
        documents = load_yaml_documents(file.read_bytes(), where=str(file), settings=settings)
        for document in documents:
            if not isinstance(document, dict):
                raise RenderError(f"{file}: values must be a mapping")
            _deep_merge(merged, document)
    return merged


def _deep_merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def sandbox_root(path: Path) -> Path:
    """The nearest enclosing folder holding ``.git``, else ``path`` itself."""
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate
    return path


def render_local(
    path: Path,
    *,
    helm_values: Sequence[Path] = (),
    tools: RenderTools | None = None,
    params: RenderParams | None = None,
    kube_version: str = DEFAULT_KUBE_VERSION,
    api_versions: Sequence[str] = (),
    settings: RenderSettings = DEFAULT_SETTINGS,
) -> list[dict[str, Any]]:
    """The manifests of the local folder ``path`` (plain, kustomize or helm, detected).

    ``helm_values`` are merged in order under ``params.helm.values`` (which still wins). Blocking: it
    runs its own event loop, so call it from synchronous code such as the CLI.
    """
    params = params or RenderParams()
    if helm_values:
        values = _local_values(helm_values, settings=settings)
        _deep_merge(values, params.helm.values)
        params = replace(params, helm=replace(params.helm, values=values))
    directory = path.resolve()
    result = asyncio.run(
        render(
            directory,
            root=sandbox_root(directory),
            params=params,
            tools=tools or RenderTools.discover(),
            kube_version=kube_version,
            api_versions=api_versions,
            settings=settings,
        )
    )
    return list(result.manifests)
