"""Which paths of a checkout decide a render: the app's folder and whatever it reaches outside it.

A render is cached, and pushes are matched to apps, by the Git hashes of these paths. The app's
folder alone is not enough: a kustomize overlay builds on ``../base``, a chart may take values
files from a sibling folder or a ``file://`` dependency from another, Jsonnet files import from
library folders and elsewhere in the checkout, and a change there must re-render the app. A plugin
reads the whole checkout (its input is the root), as does a Jsonnet app whose values name the commit.
Deliberately not here: hashing (the caller owns the Git objects), rendering itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitward.core.buildenv import names_revision
from gitward.render.chartdeps import local_dependency_folders
from gitward.render.detect import detect_engine
from gitward.render.helm import value_file
from gitward.render.jsonnet import library_folders, snippets
from gitward.render.jsonnet_imports import import_closure
from gitward.render.kustomize import kustomize_closure
from gitward.render.params import DEFAULT_SETTINGS, RenderParams, RenderSettings
from gitward.render.plain import is_jsonnet, selected_files
from gitward.render.renderers import located_directory


@dataclass(frozen=True)
class RenderInputs:
    engine: str  # the engine that renders the folder (given or detected)
    paths: tuple[str, ...]  # relative to the checkout (folders or files), the app's folder first


def render_inputs(
    directory: Path, *, root: Path, params: RenderParams, settings: RenderSettings = DEFAULT_SETTINGS
) -> RenderInputs:
    """The engine and the paths it reads: the app's folder, then the others outside it, sorted.

    Raises RenderError for what the render itself would refuse (a path outside the checkout, a
    malformed kustomization), so the caller can fall back to the app's folder and let the render
    report it.
    """
    checked, root = located_directory(directory, root=root)
    own = _rel(checked, root)
    engine = detect_engine(checked, hint=params.engine)
    extra: set[str] = set()
    if engine == "kustomize":
        extra = {_rel(p, root) for p in kustomize_closure(checked, root=root, settings=settings)}
    elif engine == "helm":
        extra = {
            value_file(checked, entry, root=root, settings=settings).relative
            for entry in params.helm.value_files
        }
        extra |= {_rel(p, root) for p in local_dependency_folders(checked, root=root, settings=settings)}
    elif engine == "plain":
        extra = _jsonnet_inputs(checked, own=own, root=root, params=params, settings=settings)
    elif engine == "plugin":
        extra = {""}
    extra.discard(own)
    return RenderInputs(engine, (own, *sorted(p for p in extra if not _inside(p, own))))


def _jsonnet_inputs(
    directory: Path, *, own: str, root: Path, params: RenderParams, settings: RenderSettings
) -> set[str]:
    """The library folders and imported files of the folder's Jsonnet files; the whole checkout
    when a Jsonnet value names the commit (it changes with every commit)."""
    jsonnet = params.directory.jsonnet
    if any(names_revision(v.value) for v in (*jsonnet.ext_vars, *jsonnet.tlas)):
        return {""}
    files = [
        f
        for f in selected_files(directory, root=root, params=params.directory, settings=settings)
        if is_jsonnet(f)
    ]
    if not files:
        return set()
    libs = library_folders(root, jsonnet.libs)
    found = import_closure(
        files,
        snippets(jsonnet, params.build_env, folder=own),
        real_root=root,
        jpaths=[own, *libs],
        settings=settings,
    )
    return {*libs, *(path for path in found if not any(_inside(path, lib) for lib in libs))}


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else ""


def _inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it (its hash is already part of the folder's)."""
    return folder == "" or path == folder or path.startswith(folder + "/")
