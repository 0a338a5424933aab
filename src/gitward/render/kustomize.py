"""Render a kustomization with the real ``kustomize`` binary, checked first and run jailed.

Before kustomize runs, the closure walk (``kustomize_refs``) reads every kustomization the app's
folder reaches and checks every field that can name a file, a folder or a URL: local names must
resolve inside the checkout, URLs are refused unless settings allow remote content
(docs/reliability.md, rows 2 and 3). The common ancestor of everything the walk reached is copied
into the temporary directory, so an overlay's ``../base`` is there and nothing else is, and
kustomize runs on that copy inside the jail (``jail``): no network, no other file.

User parameters (images, name prefix/suffix, namespace, common labels) go into a generated overlay
kustomization that wraps the target, so the user's files are never edited. A target folder with no
kustomization of its own gets one written into the copy, as Flux generates it: every manifest file
below it (YAML or JSON holding objects with apiVersion and kind), and every subfolder that has its
own kustomization as one resource (``autodetected_resources``). Plugins stay off:
``--enable-alpha-plugins``, exec and ``--enable-helm`` are never passed.

Files the closure names that sops encrypted (resources, patches, generator files and envs) are
decrypted in the copy before the build, with their MAC checked (``sops``).

Deliberately not here: kustomize's own features (left to the binary), substitution.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
from pathlib import Path
from typing import Any

import orjson

from gitward.core.errors import RenderError
from gitward.render.detect import kustomization_file
from gitward.render.jail import Confinement
from gitward.render.kustomize_refs import kustomization_closure
from gitward.render.manifests import collect_manifests
from gitward.render.params import DEFAULT_SETTINGS, KustomizeParams, RenderSettings, RenderTools
from gitward.render.runner import run_tool
from gitward.render.sandbox import copy_tree, safe_join
from gitward.render.sops import Decryptor, decrypt_files
from gitward.render.yamlload import load_yaml_documents


def kustomize_closure(
    directory: Path, *, root: Path, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[Path]:
    """What a build of ``directory`` reads, all checked: its kustomization folders (itself first),
    then the files and folders they name outside those folders; real paths, for hashing inputs.
    """
    root = root.resolve()
    start = safe_join(root, _rel(directory.resolve(), root))
    closure = kustomization_closure(start, root=root, settings=settings)
    folders = [closure.real[folder] for folder in closure.folders]
    files = [
        closure.real[file]
        for file in closure.files
        if not any(_below(file, folder) for folder in closure.folders)
    ]
    return list(dict.fromkeys([*folders, *files]))


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else "."


def _below(path: str, folder: str) -> bool:
    return folder == "." or path == folder or path.startswith(folder + "/")


def parse_image(spec: str) -> dict[str, str]:
    """An ``images:`` entry from ``name:tag``, ``name@digest`` or ``name=newName[:tag|@digest]``."""

    def split(reference: str) -> tuple[str, str, str]:
        if "@" in reference:
            name, digest = reference.split("@", 1)
            return name, "", digest
        slash = reference.rfind("/")
        colon = reference.rfind(":")
        if colon > slash:
            return reference[:colon], reference[colon + 1 :], ""
        return reference, "", ""

    if "=" in spec:
        name, replacement = spec.split("=", 1)
        new_name, tag, digest = split(replacement)
        entry = {"name": name, "newName": new_name}
    else:
        name, tag, digest = split(spec)
        entry = {"name": name}
    if not entry["name"] or not (tag or digest or entry.get("newName")):
        raise RenderError(f"invalid kustomize image {spec!r}: expected name:tag, name@digest or name=new")
    if tag:
        entry["newTag"] = tag
    if digest:
        entry["digest"] = digest
    return entry


def overlay_kustomization(target: str, params: KustomizeParams) -> dict[str, Any]:
    """The generated kustomization that applies the user's parameters around ``target``."""
    overlay: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [target],
    }
    if params.images:
        overlay["images"] = [parse_image(image) for image in params.images]
    if params.name_prefix:
        overlay["namePrefix"] = params.name_prefix
    if params.name_suffix:
        overlay["nameSuffix"] = params.name_suffix
    if params.namespace:
        overlay["namespace"] = params.namespace
    if params.common_labels:
        overlay["labels"] = [
            {"pairs": dict(params.common_labels), "includeSelectors": True, "includeTemplates": True}
        ]
    return overlay


def _prepare(
    directory: Path, *, root: Path, params: KustomizeParams, workdir: Path, settings: RenderSettings
) -> tuple[Path, Path, str]:
    """Check and copy what the build needs; returns (build target, copied tree, name shown)."""
    target, tree, shown, _copies = _prepare_copies(
        directory, root=root, params=params, workdir=workdir, settings=settings
    )
    return target, tree, shown


def _prepare_copies(
    directory: Path, *, root: Path, params: KustomizeParams, workdir: Path, settings: RenderSettings
) -> tuple[Path, Path, str, list[tuple[Path, str]]]:
    """Check and copy what the build needs; returns (build target, copied tree, name shown, and each
    file the closure names as (its copy, its path in the repository)).

    The copy is of the common ancestor of every folder the closure walked and of every file it
    named, by their lexical paths (the layout kustomize is shown), so all of them are in it.
    """
    root = root.resolve()
    start = safe_join(root, _rel(directory.resolve(), root))
    closure = kustomization_closure(start, root=root, settings=settings)
    spots = [*closure.folders, *(posixpath.dirname(file) or "." for file in closure.files)]
    base = posixpath.normpath(posixpath.commonpath([posixpath.join(".", spot) for spot in spots]))
    tree = workdir / "tree"
    copy_tree(safe_join(root, base), tree, root=root, settings=settings)
    shown = closure.folders[0]
    copies = [(tree / posixpath.relpath(file, base), file) for file in closure.files]
    target = tree / posixpath.relpath(shown, base)
    if kustomization_file(target) is None:
        resources = autodetected_resources(target, settings=settings)
        (target / "kustomization.yaml").write_bytes(orjson.dumps({"resources": resources}))
    if not params.is_empty():
        overlay = workdir / "overlay"
        overlay.mkdir()
        text = orjson.dumps(overlay_kustomization(os.path.relpath(target, overlay), params))
        (overlay / "kustomization.yaml").write_bytes(text)  # JSON is YAML
        target = overlay
    return target, tree, shown, copies


_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def autodetected_resources(folder: Path, *, settings: RenderSettings) -> list[str]:
    """What a kustomization Flux generates for ``folder`` lists: relative paths, sorted, of every
    manifest file below it and of every subfolder with a kustomization (not entered further).
    Files that hold no Kubernetes object (values files, configs of other tools) are left out;
    hidden files and folders are skipped."""
    found: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir():
            if kustomization_file(entry) is not None:
                found.append(entry.name)
            else:
                below = autodetected_resources(entry, settings=settings)
                found.extend(f"{entry.name}/{sub}" for sub in below)
        elif entry.suffix.lower() in _MANIFEST_SUFFIXES and _holds_objects(entry, settings=settings):
            found.append(entry.name)
    return found


def _holds_objects(file: Path, *, settings: RenderSettings) -> bool:
    try:
        documents = load_yaml_documents(file.read_bytes(), where=file.name, settings=settings)
    except RenderError:
        return False
    return bool(documents) and all(
        isinstance(d, dict) and d.get("apiVersion") and d.get("kind") for d in documents
    )


def confinement_for(workdir: Path, *, tools: RenderTools, settings: RenderSettings) -> Confinement:
    """The jail of a tool run in ``workdir``: it reads the copies there and nothing else."""
    return Confinement(
        program=tools.jail, readable=(workdir,), home=workdir / "home", network=settings.allow_remote_bases
    )


async def build_kustomization(
    target: Path, *, tree: Path, workdir: Path, tools: RenderTools, settings: RenderSettings, shown: str
) -> list[dict[str, Any]]:
    """``kustomize build`` of ``target`` (inside ``workdir``), jailed, as manifests.

    No check of its own: ``render_kustomize`` checks and copies first. Tests call this directly
    to show what the jail holds when the checks are bypassed.
    """
    argv = [str(tools.kustomize), "build", "--load-restrictor", "LoadRestrictionsRootOnly", str(target)]
    output = await run_tool(
        argv,
        name="kustomize",
        home=workdir / "home",
        cwd=workdir,
        time_limit=tools.timeout,
        settings=settings,
        scrub={f"{tree}/": "", str(tree): ".", str(workdir): "."},
        confinement=confinement_for(workdir, tools=tools, settings=settings),
    )
    where = f"kustomize build {shown}"
    return collect_manifests(load_yaml_documents(output.stdout, where=where, settings=settings), where=where)


async def render_kustomize(
    directory: Path,
    *,
    root: Path,
    params: KustomizeParams,
    tools: RenderTools,
    workdir: Path,
    settings: RenderSettings = DEFAULT_SETTINGS,
    decryptor: Decryptor | None = None,
) -> list[dict[str, Any]]:
    """``kustomize build`` of ``directory`` run on a checked copy inside ``workdir``; the
    sops-encrypted files the closure names are decrypted in the copy first (``sops``)."""
    target, tree, shown, copies = await asyncio.to_thread(
        _prepare_copies, directory, root=root, params=params, workdir=workdir, settings=settings
    )
    decryptor = decryptor or Decryptor(None, tools=tools, workdir=workdir, settings=settings)
    await decrypt_files(copies, decryptor)
    try:
        return await build_kustomization(
            target, tree=tree, workdir=workdir, tools=tools, settings=settings, shown=shown
        )
    except RenderError as err:
        raise decryptor.scrubbed(err) from None
