"""The closure of a kustomization: every file, folder and URL it reaches, each checked, in one walk.

Before kustomize runs, every kustomization reachable from the app's folder is read with the
bounded loader and every field of ``kustomize_fields.KUSTOMIZATION`` that holds a name is checked:

- a URL (git or http, in any field) is refused unless settings allow remote content;
- a local name must resolve inside the checkout (``..``, absolute paths and symlinks that leave it
  are refused with the reasons of ``sandbox``) and must exist;
- a folder named where kustomize accepts one is another kustomization, walked the same way;
- generator, transformer and validator configs, inline or in files, must be kustomize builtins,
  and their own file fields are checked relative to the kustomization that lists them.

Paths are followed lexically (``a/link/../b`` is ``a/b``), as kustomize sees them in the copy it
runs on, where in-repo symlinks have become real folders; each is still resolved to check that its
target is inside the checkout. A path through a symlink to one of its own ancestors is refused
as a loop, and at most ``_MAX_KUSTOMIZATIONS`` folders are walked.

This is the check that gives a clear error. It is not the only line: kustomize runs in a jail with
no network and nothing but the copied tree (``jail``), so what this walk cannot see statically (a
generator config assembled by another kustomization's transformers) still cannot leave the tree.

Deliberately not here: the field table (``kustomize_fields``), copying, running kustomize.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from gitward.core.errors import RenderError
from gitward.render.detect import kustomization_file
from gitward.render.kustomize_fields import (
    BUILTIN_API_VERSION,
    BUILTIN_PLUGINS,
    KUSTOMIZATION,
    Objects,
    Ref,
    Spec,
    Strings,
)
from gitward.render.params import RenderSettings
from gitward.render.sandbox import TreeFile, read_capped, safe_join_resolved
from gitward.render.yamlload import load_yaml_documents

_MAX_KUSTOMIZATIONS = 1000

# What kustomize would fetch instead of reading a local path: any URL scheme (http, https, ssh,
# file, and go-getter's ``git::``), GitHub's short forms, anything that starts with a git user name
# (``user@host:path``, ``user@host/path``), and the git query parameters. Wider than kustomize's
# own parser on purpose: a false match is a refusal, a missed one would be a download.
_REMOTE = re.compile(
    r"^\s*[a-z][a-z0-9+.-]*:|^\s*github\.com[/:]|^\s*[a-z][a-z0-9-]*@|\?(ref|version|timeout|submodules)=",
    re.IGNORECASE,
)


def is_remote_reference(entry: str) -> bool:
    """Whether kustomize would fetch ``entry`` from the network rather than read a local path."""
    return _REMOTE.search(entry) is not None


@dataclass
class Closure:
    """What a build reads. Paths are lexical, relative to the checkout root (``.`` for the root)."""

    folders: list[str] = field(default_factory=list)  # kustomizations, the app's folder first
    files: list[str] = field(default_factory=list)  # files and helm folders named, in order met
    real: dict[str, Path] = field(default_factory=dict)  # each of the above, resolved

    def add_file(self, lexical: str, real: Path) -> None:
        if lexical not in self.real:
            self.files.append(lexical)
            self.real[lexical] = real


@dataclass(frozen=True)
class _Where:
    folder: str  # the kustomization's folder, lexical
    field: str  # the field, as ``patches[2].path``

    def error(self, message: str, *, reason: str | None = None) -> RenderError:
        return RenderError(f"{self.folder}: {self.field}: {message}", reason=reason)


class _Walk:
    def __init__(self, root: Path, settings: RenderSettings) -> None:
        self.root = root
        self.settings = settings
        self.closure = Closure()
        self.pending: list[str] = []

    def run(self, start: str) -> Closure:
        self.pending.append(start)
        while self.pending:
            folder = self.pending.pop()
            if folder in self.closure.folders:
                continue
            if len(self.closure.folders) >= _MAX_KUSTOMIZATIONS:
                raise RenderError(f"{folder}: more than {_MAX_KUSTOMIZATIONS} kustomizations reached")
            self.closure.folders.append(folder)
            try:
                real = safe_join_resolved(self.root, folder)
                if real != self.root / folder:  # a symlink on the way: it might lead back
                    self._refuse_loops(folder)
                self.closure.real[folder] = real
                kustomization = self._read_kustomization(folder)
                for where, ref, entry in _named(
                    kustomization, KUSTOMIZATION, folder=folder, prefix="", strict=True
                ):
                    self._check(where, ref, entry)
            except OSError as exc:
                raise RenderError(f"{folder}: {exc.strerror}") from None
        return self.closure

    def _refuse_loops(self, folder: str) -> None:
        """Refuse a path through a symlink to one of its own ancestors, as the copy would.

        Lexical paths through such a link never end (``loop/app/loop/app/...``).
        """
        path = self.root
        for part in PurePosixPath(folder).parts:
            parent, path = path, path / part
            if path.is_symlink():
                target, real_parent = path.resolve(), parent.resolve()
                if real_parent == target or real_parent.is_relative_to(target):
                    raise RenderError(f"symlink loop: {path.relative_to(self.root).as_posix()}")

    def _read_kustomization(self, folder: str) -> dict[str, Any]:
        found = kustomization_file(self.closure.real[folder])
        if found is None:
            return {}
        shown = posixpath.join(folder, found.name) if folder != "." else found.name
        documents = self._read_documents(shown, safe_join_resolved(self.root, shown))
        if not documents:
            return {}
        if len(documents) > 1 or not isinstance(documents[0], dict):
            raise RenderError(f"{shown}: a kustomization must be a single mapping")
        return documents[0]

    def _read_documents(self, shown: str, real: Path) -> list[Any]:
        file = TreeFile(path=real, relative=shown, size=real.stat().st_size)
        data = read_capped(file, settings=self.settings)
        return load_yaml_documents(data, where=shown, settings=self.settings)

    def _check(self, where: _Where, ref: Ref, entry: str) -> None:
        if not entry.strip():
            raise where.error("an empty entry names nothing")
        if ref is Ref.PROGRAM:
            raise where.error(
                f"names a program to run, which gitward never does: {entry}", reason="KustomizePluginRefused"
            )
        if ref is Ref.KEY_FILE:
            ref, entry = Ref.FILE, _file_of_key_file(entry)
        one_line = "\n" not in entry and "\r" not in entry
        # before the inline test: a URL can also parse as a YAML mapping (``https://h/p?q: v``)
        if ref is Ref.REPOSITORY or (one_line and is_remote_reference(entry)):
            self._remote(where, entry)
            return
        if ref in (Ref.PATCH, Ref.PLUGIN):
            documents = _inline_documents(entry, where=where, settings=self.settings)
            if documents is not None:
                if ref is Ref.PLUGIN:
                    self._check_plugin_configs(documents, where=where, shown=f"inline {where.field} entry")
                return
        lexical, real = self._local(where, entry)
        if ref is Ref.FOLDER:
            if real.is_dir():
                self.closure.add_file(lexical, real)
        elif real.is_dir():
            if ref not in (Ref.TARGET, Ref.PLUGIN):
                raise where.error(f"is a folder, not a file: {entry}")
            self.pending.append(lexical)
        elif real.is_file():
            self.closure.add_file(lexical, real)
            if ref is Ref.PLUGIN:
                self._check_plugin_configs(self._read_documents(lexical, real), where=where, shown=lexical)
        else:
            raise where.error(f"not found in the repository: {entry}")

    def _remote(self, where: _Where, entry: str) -> None:
        if not self.settings.allow_remote_bases:
            raise where.error(
                f"remote kustomize reference refused (not allowed by settings): {entry}",
                reason="RemoteBaseRefused",
            )

    def _local(self, where: _Where, entry: str) -> tuple[str, Path]:
        """``entry`` below the kustomization's folder: its lexical path and its checked real path."""
        text = entry.replace("\\", "/")
        if text.startswith(("/", "~")):
            raise where.error(
                f"path must be relative to the repository: {entry}", reason="PathEscapesRepository"
            )
        lexical = posixpath.normpath(posixpath.join(where.folder, text))
        if lexical == ".." or lexical.startswith("../"):
            raise where.error(f"path escapes repository: {entry}", reason="PathEscapesRepository")
        try:
            return lexical, safe_join_resolved(self.root, lexical)
        except RenderError as exc:
            raise where.error(str(exc), reason=exc.reason) from None

    def _check_plugin_configs(self, documents: list[Any], *, where: _Where, shown: str) -> None:
        """Each config must be a builtin; its file fields are read relative to ``where.folder``."""
        for document in documents:
            if document is None:
                continue
            kind = document.get("kind") if isinstance(document, dict) else None
            api_version = document.get("apiVersion") if isinstance(document, dict) else None
            if api_version != BUILTIN_API_VERSION or not isinstance(kind, str) or kind not in BUILTIN_PLUGINS:
                raise where.error(
                    f"{shown}: only kustomize's builtin generators and transformers run, "
                    f"not {api_version}/{kind} (plugins are off)",
                    reason="KustomizePluginRefused",
                )
            assert isinstance(document, dict)
            prefix = f"{where.field} {kind}."
            for inner, ref, entry in _named(
                document, BUILTIN_PLUGINS[kind], folder=where.folder, prefix=prefix, strict=False
            ):
                self._check(inner, ref, entry)


def _file_of_key_file(entry: str) -> str:
    """The file of ``key=file``, split as kustomize splits it (one ``=``, not at either end)."""
    if entry.count("=") == 1 and not entry.startswith("=") and not entry.endswith("="):
        return entry.split("=", 1)[1]
    return entry


def _inline_documents(entry: str, *, where: _Where, settings: RenderSettings) -> list[Any] | None:
    """The documents of an inline patch or config, or None when ``entry`` is a path.

    kustomize tries an entry as YAML objects first and as a path only when that fails, so an entry
    that parses into mappings is content; one with a line break that does not is refused, since it
    is neither.
    """
    try:
        documents = load_yaml_documents(
            entry.encode(), where=f"{where.folder}: {where.field}", settings=settings
        )
    except RenderError:
        documents = []
    if any(isinstance(document, dict | list) for document in documents):
        return documents
    if "\n" in entry or "\r" in entry:
        raise where.error("is neither a path nor inline YAML objects")
    return None


def _named(
    value: dict[str, Any], fields: Mapping[str, Spec], *, folder: str, prefix: str, strict: bool
) -> Iterator[tuple[_Where, Ref, str]]:
    """Every (where, what it names, string) in ``value`` by the table ``fields``.

    Keys match as kustomize's decoder matches them, ignoring case; with ``strict`` a key the table
    does not know is refused.
    """
    folded = {name.casefold(): (name, spec) for name, spec in fields.items()}
    for key, item in value.items():
        known = folded.get(str(key).casefold())
        if known is None:
            if strict:
                raise RenderError(
                    f"{folder}: unknown kustomization field {prefix}{key} "
                    "(gitward checks every field that can name a file, and does not know this one)",
                    reason="UnknownKustomizationField",
                )
            continue
        name, spec = known
        if spec is None or item is None:
            continue
        label = f"{prefix}{name}"
        if isinstance(spec, Strings):
            for entry in _strings(item, many=spec.many, folder=folder, label=label):
                yield _Where(folder, label), spec.ref, entry
            continue
        for index, inner in enumerate(_mappings(item, spec, folder=folder, label=label)):
            inner_prefix = f"{label}[{index}]." if spec.many else f"{label}."
            yield from _named(
                inner, spec.fields, folder=folder, prefix=inner_prefix, strict=strict and spec.closed
            )


def _strings(item: Any, *, many: bool, folder: str, label: str) -> list[str]:
    if many:
        if not isinstance(item, list) or not all(isinstance(entry, str) for entry in item):
            raise RenderError(f"{folder}: {label} must be a list of strings")
        return item
    if not isinstance(item, str):
        raise RenderError(f"{folder}: {label} must be a string")
    return [item] if item else []


def _mappings(item: Any, spec: Objects, *, folder: str, label: str) -> list[dict[str, Any]]:
    items = item if spec.many else [item]
    if not isinstance(items, list) or not all(isinstance(inner, dict) for inner in items):
        shape = "a list of mappings" if spec.many else "a mapping"
        raise RenderError(f"{folder}: {label} must be {shape}")
    return items


def kustomization_closure(directory: Path, *, root: Path, settings: RenderSettings) -> Closure:
    """The checked closure of the kustomization in ``directory``; both paths already resolved."""
    start = directory.relative_to(root).as_posix() if directory != root else "."
    return _Walk(root, settings).run(start)
