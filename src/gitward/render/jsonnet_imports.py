"""What a Jsonnet render reads: the files its ``import``, ``importstr`` and ``importbin`` name, checked.

Jsonnet imports are string literals (the language allows nothing else), so they can be read
without evaluating anything. ``imports_of`` is a small lexer: it skips comments (``#``, ``//``,
``/* */``), strings (``"..."``, ``'...'``, verbatim ``@"..."``) and text blocks (``|||``), and
reports each import keyword followed by a string. ``import_closure`` follows them from the files an
app evaluates, resolving each path as go-jsonnet does: against the importing file's folder first,
then the library folders, right-most first (``-J`` order, Argo CD's: the app's folder, then
``libs``). A path is joined lexically, as go-jsonnet joins it, then resolved inside the checkout
with ``safe_join`` (symlinks followed and checked).

The first candidate that exists wins; a candidate met before it that would leave the checkout (an
absolute path, ``..`` above the root, a symlink out) refuses the render, naming the file and the
import: on a host go-jsonnet would read it there (docs/reliability.md, rows 1-3). The jail is the
guard that does not depend on this lexer: jsonnet runs on a copy holding only what the closure
found, so an import the lexer missed fails to open instead of reading anything else.

Deliberately not here: copying and running (``jsonnet``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitward.core.errors import RenderError
from gitward.render.params import DEFAULT_SETTINGS, RenderSettings
from gitward.render.sandbox import TreeFile, read_capped, safe_join_resolved

IMPORT_KEYWORDS = frozenset({"import", "importstr", "importbin"})
_IDENTIFIER_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENTIFIER_PART = _IDENTIFIER_START | frozenset("0123456789")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class Import:
    keyword: str  # import | importstr | importbin
    path: str


class _Lexer:
    """Just enough of Jsonnet's lexer to find imports; malformed text ends the scan quietly (jsonnet
    reports the syntax error itself when it evaluates the file)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def tokens(self) -> Iterator[tuple[str, str]]:
        """("id", name), ("str", value) or ("other", ""), in order."""
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch in " \t\r\n":
                self.i += 1
            elif ch == "#" or text.startswith("//", self.i):
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.i):
                end = text.find("*/", self.i + 2)
                self.i = len(text) if end < 0 else end + 2
            elif ch in "\"'":
                yield "str", self._quoted(ch)
            elif ch == "@" and text[self.i + 1 : self.i + 2] in ("'", '"'):
                self.i += 1
                yield "str", self._verbatim(text[self.i])
            elif text.startswith("|||", self.i):
                self._text_block()
                yield "block", ""
            elif ch in _IDENTIFIER_START:
                start = self.i
                while self.i < len(text) and text[self.i] in _IDENTIFIER_PART:
                    self.i += 1
                yield "id", text[start : self.i]
            else:
                self.i += 1
                yield "other", ""

    def _quoted(self, quote: str) -> str:
        text, out = self.text, list[str]()
        self.i += 1
        while self.i < len(text):
            ch = text[self.i]
            if ch == quote:
                self.i += 1
                return "".join(out)
            if ch == "\\" and self.i + 1 < len(text):
                escape = text[self.i + 1]
                if escape == "u" and self.i + 6 <= len(text):
                    try:
                        out.append(chr(int(text[self.i + 2 : self.i + 6], 16)))
                    except ValueError:
                        out.append("\ufffd")
                    self.i += 6
                    continue
                out.append(_ESCAPES.get(escape, escape))
                self.i += 2
                continue
            out.append(ch)
            self.i += 1
        return "".join(out)  # unterminated: jsonnet refuses the file

    def _verbatim(self, quote: str) -> str:
        text, out = self.text, list[str]()
        self.i += 1
        while self.i < len(text):
            ch = text[self.i]
            if ch == quote:
                if text[self.i + 1 : self.i + 2] == quote:
                    out.append(quote)
                    self.i += 2
                    continue
                self.i += 1
                return "".join(out)
            out.append(ch)
            self.i += 1
        return "".join(out)

    def _text_block(self) -> None:
        """Skip ``|||`` (or ``|||-``), its lines, and the closing ``|||``."""
        text = self.text
        self.i += 3
        if text[self.i : self.i + 1] == "-":
            self.i += 1
        end = text.find("\n", self.i)
        if end < 0:
            self.i = len(text)
            return
        lines = text[end + 1 :].split("\n")
        consumed = end + 1
        indent: str | None = None
        for line in lines:
            if indent is None:
                if not line.strip(" \t"):
                    consumed += len(line) + 1
                    continue
                indent = line[: len(line) - len(line.lstrip(" \t"))]
                if not indent:
                    break
            if line.startswith(indent) or not line:
                consumed += len(line) + 1
                continue
            stripped = line.lstrip(" \t")
            if stripped.startswith("|||"):
                consumed += len(line) - len(stripped) + 3
            break
        self.i = min(consumed, len(text))


def imports_of(text: str) -> list[Import]:
    """Every import in ``text``, in order."""
    found: list[Import] = []
    pending: str | None = None
    for kind, value in _Lexer(text).tokens():
        if pending is not None and kind == "str":
            found.append(Import(pending, value))
        pending = value if kind == "id" and value in IMPORT_KEYWORDS else None
    return found


@dataclass(frozen=True, kw_only=True)
class Snippet:
    """Code that is not a file (an ext var or top-level argument with ``code: true``): its imports
    resolve against ``folder`` (the app's folder, jsonnet's working directory)."""

    name: str
    code: str
    folder: str


@dataclass
class ImportClosure:
    """Files (relative to the root, lexical paths) the render may read beyond its folders."""

    files: set[str] = field(default_factory=set)
    scanned: set[str] = field(default_factory=set)


def _inside(path: str, folder: str) -> bool:
    return folder in ("", ".") or path == folder or path.startswith(folder + "/")


def _escapes(path: str) -> bool:
    return path == ".." or path.startswith("../") or path.startswith("/")


def resolve_import(real_root: Path, *, importer: str, folder: str, target: str, jpaths: list[str]) -> str:
    """The repository-relative path go-jsonnet would open for ``target`` imported by ``importer``
    (whose folder is ``folder``); RenderError when it is missing or a candidate leaves the checkout."""
    if target.startswith("/") or not target:
        raise RenderError(
            f"{importer}: import {target!r} is an absolute path; imports must stay inside the repository",
            reason="PathEscapesRepository",
        )
    for base in (folder, *reversed(jpaths)):
        candidate = posixpath.normpath(posixpath.join(base or ".", target))
        if _escapes(candidate):
            raise RenderError(
                f"{importer}: import {target!r} leads outside the repository", reason="PathEscapesRepository"
            )
        try:
            real = safe_join_resolved(real_root, candidate)
        except RenderError as exc:
            raise RenderError(f"{importer}: import {target!r}: {exc}", reason=exc.reason) from None
        if real.is_file():
            return "" if candidate == "." else candidate
    raise RenderError(
        f"{importer}: import {target!r} not found in its folder or the library folders",
        reason="JsonnetImportNotFound",
    )


def import_closure(
    entries: Iterable[TreeFile],
    snippets: Iterable[Snippet],
    *,
    real_root: Path,
    jpaths: list[str],
    settings: RenderSettings = DEFAULT_SETTINGS,
) -> set[str]:
    """Every file (relative to ``real_root``) that evaluating ``entries`` and ``snippets`` may import,
    directly or through other imports; ``entries`` themselves are not in it."""
    closure = ImportClosure()
    queue: list[tuple[str, str, str]] = []  # (name shown, folder, text)
    for entry in entries:
        closure.scanned.add(entry.relative)
        text = read_capped(entry, settings=settings).decode("utf-8", "replace")
        queue.append((entry.relative, posixpath.dirname(entry.relative), text))
    for snippet in snippets:
        queue.append((f"<{snippet.name}>", snippet.folder, snippet.code))
    while queue:
        importer, folder, text = queue.pop()
        for item in imports_of(text):
            found = resolve_import(
                real_root, importer=importer, folder=folder, target=item.path, jpaths=jpaths
            )
            closure.files.add(found)
            if item.keyword == "import" and found not in closure.scanned:
                closure.scanned.add(found)
                if len(closure.scanned) > settings.max_files:
                    raise RenderError(f"Jsonnet imports more than {settings.max_files} files")
                real = safe_join_resolved(real_root, found)
                file = TreeFile(path=real, relative=found, size=real.stat().st_size)
                queue.append(
                    (
                        found,
                        posixpath.dirname(found),
                        read_capped(file, settings=settings).decode("utf-8", "replace"),
                    )
                )
    return closure.files
