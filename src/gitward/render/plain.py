"""Render a directory of plain manifests: every ``*.yaml``, ``*.yml`` and ``*.json`` file in it.

Files are read in path order (so output order and digest are stable), recursively unless
``recurse`` is off, hidden files and folders skipped. ``include``/``exclude`` globs match the path
relative to the app directory or the bare file name (``*.yaml``, ``prod/*``); with no include every
file is taken, and exclude wins over include. Sizes are checked before anything is read.

Deliberately not here: tool-based engines, substitution (applied by ``engine`` to every engine).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from gitward.render.manifests import collect_manifests
from gitward.render.params import DEFAULT_SETTINGS, DirectoryParams, RenderSettings
from gitward.render.sandbox import TreeFile, read_capped, walk_files
from gitward.render.yamlload import load_json_document, load_yaml_documents

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _matches(patterns: tuple[str, ...], relative: str, name: str) -> bool:
    return any(fnmatchcase(relative, pattern) or fnmatchcase(name, pattern) for pattern in patterns)


def _selected(file: TreeFile, *, directory: Path, root: Path, params: DirectoryParams) -> bool:
    name = file.relative.rsplit("/", 1)[-1]
    if not name.endswith(MANIFEST_SUFFIXES):
        return False
    if not (params.include or params.exclude):
        return True
    inner = (root / file.relative).relative_to(directory).as_posix()
    if params.include and not _matches(params.include, inner, name):
        return False
    return not _matches(params.exclude, inner, name)


def load_manifest_file(
    file: TreeFile, *, settings: RenderSettings = DEFAULT_SETTINGS, data: bytes | None = None
) -> list[dict[str, Any]]:
    """The manifests of one file, named in errors by its path relative to the repository; ``data``,
    when given, is used instead of the file's bytes (its decrypted text, ``sops``)."""
    if data is None:
        data = read_capped(file, settings=settings)
    if file.relative.endswith(".json"):
        documents = [load_json_document(data, where=file.relative, settings=settings)] if data.strip() else []
    else:
        documents = load_yaml_documents(data, where=file.relative, settings=settings)
    return collect_manifests(documents, where=file.relative)


def selected_files(
    directory: Path, *, root: Path, params: DirectoryParams, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[TreeFile]:
    """The files ``render_plain`` reads, in its order; both paths already resolved."""
    files = [
        file
        for file in walk_files(directory, root=root, recurse=params.recurse, settings=settings, resolved=True)
        if _selected(file, directory=directory, root=root, params=params)
    ]
    return sorted(files, key=lambda file: file.relative)


def render_plain(
    directory: Path,
    *,
    root: Path,
    params: DirectoryParams,
    settings: RenderSettings = DEFAULT_SETTINGS,
    resolved: bool = False,
) -> list[dict[str, Any]]:
    """Manifests of every selected file under ``directory`` (already checked to be inside ``root``).

    ``resolved``: both paths are already resolved (``render`` passes what ``located_directory``
    returned), so they are not resolved again.
    """
    if not resolved:
        root, directory = root.resolve(), directory.resolve()
    manifests: list[dict[str, Any]] = []
    for file in selected_files(directory, root=root, params=params, settings=settings):
        manifests.extend(load_manifest_file(file, settings=settings))
    return manifests
