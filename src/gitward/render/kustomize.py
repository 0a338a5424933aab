"""Render a kustomization with the real ``kustomize`` binary, sandboxed.

Before kustomize runs, the kustomizations reachable through ``resources``, ``bases`` and
``components`` are read (with the bounded loader): every local entry must resolve inside the
checkout (RELIABILITY 2), and URLs are refused unless settings allow remote bases (RELIABILITY 3).
Only those directories matter because kustomize's ``LoadRestrictionsRootOnly`` keeps every other
file reference (patches, generators) inside its own kustomization's folder. Their common ancestor is
copied into the temporary directory, so an overlay's ``../base`` is there and nothing else is.

User parameters (images, name prefix/suffix, namespace, common labels) go into a generated overlay
kustomization that wraps the target, so the user's files are never edited. Plugins stay off:
``--enable-alpha-plugins``, exec and ``--enable-helm`` are never passed.

Deliberately not here: kustomize's own features (left to the binary), substitution.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import orjson

from gitward.core.errors import RenderError
from gitward.render.detect import kustomization_file
from gitward.render.manifests import collect_manifests
from gitward.render.params import DEFAULT_SETTINGS, KustomizeParams, RenderSettings, RenderTools
from gitward.render.runner import run_tool
from gitward.render.sandbox import TreeFile, copy_tree, read_capped, safe_join, safe_join_from
from gitward.render.yamlload import load_yaml_documents

_REFERENCE_FIELDS = ("resources", "bases", "components")
_REMOTE_HOSTS = ("github.com/", "gitlab.com/", "bitbucket.org/", "git@", "git::", "ssh:", "https:", "http:")


def is_remote_reference(entry: str) -> bool:
    """Whether kustomize would fetch ``entry`` from the network rather than read a local path."""
    return "://" in entry or entry.startswith(_REMOTE_HOSTS) or "?ref=" in entry or "?version=" in entry


def _read_kustomization(directory: Path, *, root: Path, settings: RenderSettings) -> dict[str, Any]:
    found = kustomization_file(directory)
    if found is None:
        return {}
    shown = _rel(found, root)
    real = safe_join(root, shown)
    file = TreeFile(path=real, relative=shown, size=real.stat().st_size)
    documents = load_yaml_documents(read_capped(file, settings=settings), where=shown, settings=settings)
    if not documents:
        return {}
    if len(documents) > 1 or not isinstance(documents[0], dict):
        raise RenderError(f"{shown}: a kustomization must be a single mapping")
    return documents[0]


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else "."


def _references(kustomization: dict[str, Any], *, where: str) -> list[str]:
    entries: list[str] = []
    for field in _REFERENCE_FIELDS:
        value = kustomization.get(field) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise RenderError(f"{where}: {field} must be a list of strings")
        entries.extend(value)
    return entries


def kustomize_closure(
    directory: Path, *, root: Path, settings: RenderSettings = DEFAULT_SETTINGS
) -> list[Path]:
    """Every local kustomization directory ``directory`` builds on (itself first), all checked."""
    root = root.resolve()
    start = safe_join(root, _rel(directory.resolve(), root))
    seen: list[Path] = []
    pending = [start]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.append(current)
        where = _rel(current, root)
        for entry in _references(_read_kustomization(current, root=root, settings=settings), where=where):
            if is_remote_reference(entry):
                if not settings.allow_remote_bases:
                    raise RenderError(
                        f"{where}: remote kustomize base refused (not allowed by settings): {entry}",
                        reason="RemoteBaseRefused",
                    )
                continue
            target = safe_join_from(root, where, entry)
            if not target.exists():
                raise RenderError(f"{where}: kustomize resource not found: {entry}")
            if target.is_dir():
                pending.append(target)
    return seen


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
    root = root.resolve()
    needed = kustomize_closure(directory, root=root, settings=settings)
    base = Path(os.path.commonpath(needed))
    tree = workdir / "tree"
    copy_tree(base, tree, root=root, settings=settings)
    target = tree / needed[0].relative_to(base)
    if not params.is_empty():
        overlay = workdir / "overlay"
        overlay.mkdir()
        text = orjson.dumps(overlay_kustomization(os.path.relpath(target, overlay), params))
        (overlay / "kustomization.yaml").write_bytes(text)  # JSON is YAML
        target = overlay
    return target, tree, _rel(needed[0], root)


async def render_kustomize(
    directory: Path,
    *,
    root: Path,
    params: KustomizeParams,
    tools: RenderTools,
    workdir: Path,
    settings: RenderSettings = DEFAULT_SETTINGS,
) -> list[dict[str, Any]]:
    """``kustomize build`` of ``directory`` run on a checked copy inside ``workdir``."""
    target, tree, shown = await asyncio.to_thread(
        _prepare, directory, root=root, params=params, workdir=workdir, settings=settings
    )
    argv = [str(tools.kustomize), "build", "--load-restrictor", "LoadRestrictionsRootOnly", str(target)]
    output = await run_tool(
        argv,
        name="kustomize",
        home=workdir / "home",
        cwd=workdir,
        time_limit=tools.timeout,
        settings=settings,
        scrub={f"{tree}/": "", str(tree): ".", str(workdir): "."},
    )
    where = f"kustomize build {shown}"
    return collect_manifests(load_yaml_documents(output.stdout, where=where, settings=settings), where=where)
