"""Render a directory of plain manifests: every ``*.yaml``, ``*.yml`` and ``*.json`` file in it.

Files are read in path order (so output order and digest are stable), recursively unless
``recurse`` is off, hidden files and folders skipped. ``include``/``exclude`` globs match the path
relative to the app directory or the bare file name (``*.yaml``, ``prod/*``); with no include every
file is taken, and exclude wins over include. Sizes are checked before anything is read.

``*.jsonnet`` files are selected by the same rules, as Argo CD selects them in a directory app, and
evaluated by ``jsonnet`` (``directory`` puts both together, in path order); ``render_plain`` is the
path for folders without them. ``*.libsonnet`` files are only ever imported, and jsonnet-bundler's
files (``jsonnetfile.json``, ``jsonnetfile.lock.json``) are never manifests.

A folder with no manifest at all but files of a language gitward does not render (CUE, TypeScript)
is refused with that said (``refuse_unrendered``), rather than rendering to nothing.

Deliberately not here: tool-based engines, substitution (applied by ``renderers`` to every engine).
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from gitward.core.errors import RenderError
from gitward.render.manifests import collect_manifests
from gitward.render.params import DEFAULT_SETTINGS, DirectoryParams, RenderSettings
from gitward.render.sandbox import TreeFile, read_capped, walk_files
from gitward.render.yamlload import load_json_document, load_yaml_documents

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
JSONNET_SUFFIX = ".jsonnet"

#: Files of languages gitward does not render, by suffix, and the language's name.
UNRENDERED_SUFFIXES = {".cue": "CUE", ".ts": "TypeScript"}
#: jsonnet-bundler's files: JSON, but never manifests.
JSONNET_BUNDLER_FILES = frozenset({"jsonnetfile.json", "jsonnetfile.lock.json"})
#: Files named in the error; the rest are counted.
NAMED_FILES = 3


def _base(file: TreeFile) -> str:
    return file.relative.rsplit("/", 1)[-1]


def is_jsonnet(file: TreeFile) -> bool:
    """A Jsonnet file the directory render evaluates (not a library: those are imported)."""
    return file.relative.endswith(JSONNET_SUFFIX)


def unrendered_language(name: str) -> str | None:
    """The language of a file gitward does not render (``main.cue`` -> CUE), else None."""
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    return UNRENDERED_SUFFIXES.get(suffix)


def refuse_unrendered(files: Sequence[TreeFile], *, directory: Path, root: Path) -> None:
    """Raise when ``files`` (every file of the folder) hold no manifest but files of a language
    gitward does not render; return otherwise (an empty folder renders to nothing, as before)."""
    if any(_renderable(_base(f)) for f in files):
        return
    foreign = [(f, language) for f in files if (language := unrendered_language(_base(f)))]
    if not foreign:
        return
    languages = list(dict.fromkeys(language for _, language in foreign))
    inner = [(root / f.relative).relative_to(directory).as_posix() for f, _ in foreign]
    named = ", ".join(inner[:NAMED_FILES]) + (
        f" and {len(inner) - NAMED_FILES} more" if len(inner) > NAMED_FILES else ""
    )
    where = directory.relative_to(root).as_posix()
    folder = "the repository's top folder" if where == "." else f"folder {where}"
    raise RenderError(
        f"{folder} holds only {' and '.join(languages)} files ({named}); gitward does not render "
        f"{' or '.join(languages)} (commit the manifests they produce, as YAML or JSON, instead)",
        reason="UnrenderedLanguage",
    )


def _matches(patterns: tuple[str, ...], relative: str, name: str) -> bool:
    return any(fnmatchcase(relative, pattern) or fnmatchcase(name, pattern) for pattern in patterns)


def _renderable(name: str) -> bool:
    return name.endswith((*MANIFEST_SUFFIXES, JSONNET_SUFFIX)) and name not in JSONNET_BUNDLER_FILES


def _selected(file: TreeFile, *, directory: Path, root: Path, params: DirectoryParams) -> bool:
    name = _base(file)
    if not _renderable(name):
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
    """The files a directory render reads (manifests and ``*.jsonnet``), in its order; both paths
    already resolved. A folder holding only files of a language gitward does not render is refused
    (``refuse_unrendered``)."""
    walked = list(walk_files(directory, root=root, recurse=params.recurse, settings=settings, resolved=True))
    files = [file for file in walked if _selected(file, directory=directory, root=root, params=params)]
    if not files:
        refuse_unrendered(walked, directory=directory, root=root)
    return sorted(files, key=lambda file: file.relative)


def load_manifest_files(files: Sequence[TreeFile], *, settings: RenderSettings) -> list[dict[str, Any]]:
    """The manifests of ``files`` in order; Jsonnet files are refused here (they need ``jsonnet``)."""
    manifests: list[dict[str, Any]] = []
    for file in files:
        if is_jsonnet(file):
            raise RenderError(f"{file.relative}: Jsonnet files are evaluated by the directory render")
        manifests.extend(load_manifest_file(file, settings=settings))
    return manifests


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
    return load_manifest_files(
        selected_files(directory, root=root, params=params, settings=settings), settings=settings
    )
