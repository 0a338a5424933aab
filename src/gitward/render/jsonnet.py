"""Evaluate the ``*.jsonnet`` files of a directory app with go-jsonnet's ``jsonnet``, jailed.

As in Argo CD: each selected ``*.jsonnet`` file is evaluated on its own; library folders
(``libs``, relative to the repository root) are searched after the importing file's folder, with
the app's folder first in the list (``-J`` order); ext vars and top-level arguments are strings, or
Jsonnet code when ``code`` is set, and their values have the build variables substituted
(``core/buildenv.py``). A file's value may be an object, an array of objects, or a ``List`` (its
items are taken), as Argo CD flattens them.

What jsonnet may read is decided before it runs (``jsonnet_imports``): the app's folder, the
library folders, and every file the imports reach from the evaluated files and code values, all
inside the checkout. Only those are copied into the render's temporary directory, at their paths
relative to the root, and jsonnet runs on that copy in the jail (``jail``): no network, no other
file, the runner's time, output and memory limits. Messages name files relative to the repository.

Deliberately not here: choosing the files (``plain``), reading YAML and JSON files next to them
(``directory``), native functions (there are none: ``std.native`` finds nothing).
"""

from __future__ import annotations

import asyncio
import posixpath
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitward.core.buildenv import expand
from gitward.core.errors import RenderError
from gitward.render.jail import Confinement
from gitward.render.jsonnet_imports import Snippet, import_closure
from gitward.render.manifests import collect_manifests
from gitward.render.params import DEFAULT_SETTINGS, JsonnetParams, RenderSettings, RenderTools
from gitward.render.runner import run_tool
from gitward.render.sandbox import TreeFile, copy_tree, safe_join_resolved
from gitward.render.yamlload import load_json_document

# failures that are about the tool, not the file: shown as they are
_TOOL_REASONS = frozenset({"RenderToolMissing", "SandboxUnavailable"})


@dataclass(frozen=True)
class JsonnetLayout:
    """The copy jsonnet runs on and the arguments every evaluation shares."""

    repo: Path  # the copy of the checkout's needed parts, same relative paths
    folder: Path  # the app's folder in the copy (jsonnet's working directory)
    arguments: tuple[str, ...]  # -J, --ext-*, --tla-* (the file comes last)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else ""


def _inside(path: str, folder: str) -> bool:
    return folder == "" or path == folder or path.startswith(folder + "/")


def library_folders(root: Path, libs: Sequence[str]) -> list[str]:
    """``libs`` checked (inside the checkout, existing folders), relative to the root."""
    found = []
    for lib in libs:
        real = safe_join_resolved(root, lib)
        if not real.is_dir():
            raise RenderError(f"jsonnet library folder {lib!r} does not exist in the repository")
        found.append(posixpath.normpath(lib) if lib not in ("", ".") else "")
    return found


def variable_arguments(params: JsonnetParams, variables: Mapping[str, str]) -> list[str]:
    """``--ext-str``/``--ext-code``/``--tla-str``/``--tla-code`` NAME=VALUE, values substituted."""
    arguments: list[str] = []
    for flag, entries in (("ext", params.ext_vars), ("tla", params.tlas)):
        for entry in entries:
            kind = "code" if entry.code else "str"
            arguments += [f"--{flag}-{kind}", f"{entry.name}={expand(entry.value, variables)}"]
    return arguments


def snippets(params: JsonnetParams, variables: Mapping[str, str], *, folder: str) -> list[Snippet]:
    """The code values, whose imports the closure must follow too."""
    return [
        Snippet(name=f"{entry.name}", code=expand(entry.value, variables), folder=folder)
        for entry in (*params.ext_vars, *params.tlas)
        if entry.code
    ]


def prepare_jsonnet(
    files: Sequence[TreeFile],
    *,
    directory: Path,
    root: Path,
    params: JsonnetParams,
    variables: Mapping[str, str],
    workdir: Path,
    settings: RenderSettings = DEFAULT_SETTINGS,
) -> JsonnetLayout:
    """Check every import, copy what jsonnet may read, and build the shared arguments.

    ``directory`` and ``root`` are resolved (as ``render`` passes them)."""
    own = _rel(directory, root)
    libs = library_folders(root, params.libs)
    reached = import_closure(
        files,
        snippets(params, variables, folder=own),
        real_root=root,
        jpaths=[own, *libs],
        settings=settings,
    )
    repo = workdir / "repo"
    folders = list(dict.fromkeys([own, *libs]))
    for folder in folders:
        copy_tree(root / folder if folder else root, repo / folder, root=root, settings=settings)
    for path in sorted(reached):
        if not any(_inside(path, folder) for folder in folders):
            target = repo / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(safe_join_resolved(root, path), target)
    arguments = []
    for folder in (own, *libs):
        arguments += ["-J", str(repo / folder)]
    arguments += variable_arguments(params, variables)
    return JsonnetLayout(repo=repo, folder=repo / own, arguments=tuple(arguments))


def manifests_of(
    output: bytes, *, where: str, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[dict[str, Any]]:
    """A file's value as manifests: an object, an array of objects, or a ``List`` (flattened)."""
    value = load_json_document(output, where=where, settings=settings)
    if isinstance(value, list):
        return collect_manifests(value, where=where)
    if isinstance(value, dict):
        return collect_manifests([value], where=where)
    raise RenderError(
        f"{where}: evaluates to {type(value).__name__}; expected an object or an array of objects"
    )


async def evaluate_jsonnet(
    files: Sequence[TreeFile],
    *,
    directory: Path,
    root: Path,
    params: JsonnetParams,
    variables: Mapping[str, str],
    tools: RenderTools,
    workdir: Path,
    settings: RenderSettings = DEFAULT_SETTINGS,
) -> dict[str, list[dict[str, Any]]]:
    """The manifests of each of ``files`` (Jsonnet), by its path relative to the repository."""
    layout = await asyncio.to_thread(
        prepare_jsonnet,
        files,
        directory=directory,
        root=root,
        params=params,
        variables=variables,
        workdir=workdir,
        settings=settings,
    )
    confinement = Confinement(
        program=tools.jail,
        readable=(layout.repo,),
        home=workdir / "home",
        scratch_bytes=settings.max_scratch_bytes,
    )
    evaluated: dict[str, list[dict[str, Any]]] = {}
    for file in files:
        try:
            output = await run_tool(
                [str(tools.jsonnet), *layout.arguments, str(layout.repo / file.relative)],
                name="jsonnet",
                home=workdir / "home",
                cwd=layout.folder,
                time_limit=tools.timeout,
                settings=settings,
                scrub={f"{layout.repo}/": "", str(layout.repo): ".", str(workdir): "."},
                confinement=confinement,
            )
        except RenderError as exc:
            if exc.reason in _TOOL_REASONS:
                raise
            raise RenderError(f"{file.relative}: {exc}", reason=exc.reason) from None
        evaluated[file.relative] = manifests_of(output.stdout, where=file.relative, settings=settings)
    return evaluated
