"""Fuzzing path resolution inside a checkout (``render/sandbox.py``; docs/reliability.md rows 1, 2, 5).

Each example builds a small generated tree on disk (folders, files, hidden entries, ``.git``, and
symlinks to folders inside, to the root, to ``..``, to an absolute path outside, to themselves, in a
loop, dangling) next to a folder ``outside`` holding a secret. Properties: ``safe_join`` and
``safe_join_from`` never return a path outside the root for any string (``..``, absolute,
backslashes, ``~``, NUL, unicode, overlong names), fail only with ``RenderError``, and agree with
``os.path.realpath`` plus the documented lexical rules on exactly which paths are inside;
``walk_files`` yields only regular files inside the root, all of them when the tree has no
symlinks, within its caps; ``copy_tree`` writes only regular files below its destination, each
the bytes of a file inside the root, and never touches anything else.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
from fuzzkit import outcome, share
from hypothesis import example, given
from hypothesis import strategies as st

from gitward.core.errors import RenderError
from gitward.render.params import RenderSettings
from gitward.render.sandbox import copy_tree, safe_join, safe_join_from, walk_files

pytestmark = pytest.mark.fuzz

SECRET = b"outside-secret-0451"
NAMES = ["a", "b", "sub", ".h", ".git", "d d", "\u00e9", "\\"]
# Symlink targets: {outside} and {root} are replaced by absolute paths when the tree is built.
TARGETS = [
    "a", "sub", "sub/a", ".", "..", "../..", "../outside", "../outside/secret", "{outside}",
    "{outside}/secret", "{root}", "{root}/a", "/nonexistent", "missing", "self", "loop1", "loop2",
]  # fmt: skip


@dataclass(frozen=True)
class Entry:
    parts: tuple[str, ...]
    kind: str  # dir | file | link
    target: str = ""


entries = st.builds(
    Entry,
    parts=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(tuple),
    kind=st.sampled_from(["dir", "file", "link"]),
    target=st.sampled_from(TARGETS),
)
trees = st.lists(entries, max_size=10)


@contextmanager
def built(tree: list[Entry]) -> Iterator[tuple[Path, Path]]:
    """(root, outside), both real paths, with the tree written under root."""
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp).resolve()
        root, outside = base / "repo", base / "outside"
        root.mkdir()
        outside.mkdir()
        (outside / "secret").write_bytes(SECRET)
        os.symlink("loop2", root / "loop1")
        os.symlink("loop1", root / "loop2")
        for entry in tree:
            path = root.joinpath(*entry.parts)
            if any(root.joinpath(*entry.parts[:i]).is_symlink() for i in range(1, len(entry.parts))):
                continue  # never write through a link: it may lead out of the tree being built
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                if entry.kind == "dir":
                    path.mkdir()
                elif entry.kind == "file":
                    path.write_bytes("/".join(entry.parts).encode())
                else:
                    target = entry.target.replace("{outside}", str(outside)).replace("{root}", str(root))
                    os.symlink(entry.parts[-1] if target == "self" else target, path)
            except OSError:
                continue  # a name already taken, or a parent that is a file or a link
        yield root, outside


def inside(path: str | Path, root: Path) -> bool:
    return Path(path) == root or Path(path).is_relative_to(root)


def expected_join(root: Path, text: str) -> Path | None:
    """What the documented rule accepts: relative, never lexically above the root, resolved (links
    followed) inside it, not a dangling link, no loop or unusable name on the way."""
    if "\0" in text:
        return None
    pure = PurePosixPath(text.replace("\\", "/"))
    if pure.is_absolute() or text.startswith("~"):
        return None
    depth = 0
    for part in pure.parts:
        depth += -1 if part == ".." else part != "."
        if depth < 0:
            return None
    joined = root.joinpath(*pure.parts)
    try:
        os.stat(joined)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            return None  # a loop, a name too long
        if os.path.islink(joined):
            return None  # dangling
    real = Path(os.path.realpath(joined))
    return real if inside(real, root) else None


PIECES = [*NAMES, "..", ".", "", "loop1", "missing", "~", "~x", "/", "\x00", "x" * 300, "\u202e", "C:"]
relative_paths = st.lists(st.sampled_from(PIECES), max_size=6).map("/".join) | st.text(max_size=40)


def join_or_none(root: Path, text: str) -> Path | None:
    return outcome(lambda: safe_join(root, text), RenderError)[0]


@given(trees, st.lists(relative_paths, min_size=1, max_size=8))
@example([], ["a\x00b"])  # NUL: was a ValueError from the system call
@example([], ["x" * 300])  # a name too long: was an OSError
@example([], ["loop1", "loop1/x"])  # a symlink loop: was a RuntimeError
@example([Entry(("a",), "link", "self")], ["a", "a/b"])
@example([Entry(("a",), "link", "{outside}"), Entry(("b",), "link", "..")], ["a/secret", "b/outside"])
@example([Entry(("sub",), "link", "."), Entry(("a",), "dir")], ["sub/..", "sub/../repo/a", "\\..\\x"])
@share(0.5)
def test_safe_join_stays_inside_and_agrees_with_realpath(tree: list[Entry], texts: list[str]) -> None:
    with built(tree) as (root, _):
        for text in texts:
            got = join_or_none(root, text)
            if got is not None:
                assert inside(got, root), (text, got)
                assert inside(os.path.realpath(got), root), (text, got)
            assert got == expected_join(root, text), text


@given(trees, st.sampled_from(["", ".", "a", "sub", "sub/a", "a/..", ".."]), relative_paths)
@example([], "a", "/etc/passwd")
@example([], "sub", "../../outside")
@example([], ".", "~root")
@share(0.5)
def test_safe_join_from_never_leaves_the_root(tree: list[Entry], base: str, entry: str) -> None:
    with built(tree) as (root, _):
        got, _ = outcome(lambda: safe_join_from(root, base, entry), RenderError)
        if got is not None:
            assert inside(got, root)
            assert inside(os.path.realpath(got), root)
        if PurePosixPath(entry).is_absolute() or entry.startswith("~"):
            assert got is None  # refused even where ``base/entry`` would be relative
        else:
            assert got == expected_join(root, entry if base in ("", ".") else f"{base}/{entry}")


def plain_files(start: Path) -> set[str]:
    """Regular files below ``start`` as ``walk_files`` must see them when no symlink is involved."""
    found = set()
    for folder, dirs, files in os.walk(start):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder, name)
            if not name.startswith(".") and path.is_file() and not path.is_symlink():
                found.add(path.relative_to(start).as_posix())
    return found


@given(trees, st.sampled_from([".", "a", "sub"]), st.integers(1, 12), st.integers(1, 200))
@example([Entry(("a",), "link", "self")], ".", 10, 100)  # a loop: was a RuntimeError
@example([Entry(("sub", "a"), "link", "..")], ".", 10, 100)  # a folder linking to its parent
@share(0.5)
def test_walk_files_yields_only_regular_files_inside_within_the_caps(
    tree: list[Entry], start: str, max_files: int, max_total_bytes: int
) -> None:
    settings = RenderSettings(max_files=max_files, max_total_bytes=max_total_bytes)
    with built(tree) as (root, _):
        directory = root / start
        if not directory.is_dir() or not inside(os.path.realpath(directory), root):
            return
        try:
            files = list(walk_files(directory, root=root, settings=settings))
        except RenderError:
            files = None
        has_links = any(path.is_symlink() for path in directory.resolve().rglob("*"))
        if files is None:
            plain = plain_files(directory)
            size = sum(len((directory / name).read_bytes()) for name in plain)
            assert has_links or len(plain) > max_files or size > max_total_bytes
            return
        assert len(files) <= max_files
        assert sum(f.size for f in files) <= max_total_bytes
        for file in files:
            assert file.path.is_file()
            assert not file.path.is_symlink()
            assert inside(os.path.realpath(file.path), root)
            assert os.path.realpath(root / file.relative) == str(file.path)
            assert file.path.read_bytes() != SECRET
        if not has_links:
            start_rel = directory.resolve().relative_to(root).as_posix()
            prefix = "" if start_rel == "." else f"{start_rel}/"
            assert {f.relative for f in files} == {prefix + name for name in plain_files(directory)}


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry below ``folder`` (links not followed): file bytes, a link's target, or "dir"."""
    out: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[key] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            out[key] = "dir"
        else:
            out[key] = path.read_bytes()
    return out


@given(trees, st.sampled_from([".", "a", "sub"]))
@example([Entry(("a",), "link", "{outside}")], ".")
@example([Entry(("sub",), "link", "."), Entry(("a",), "file")], ".")
@share(0.5)
def test_copy_tree_writes_only_regular_files_below_its_destination(tree: list[Entry], start: str) -> None:
    with built(tree) as (root, outside):
        source = root / start
        if not source.is_dir() or not inside(os.path.realpath(source), root):
            return
        before_root, before_outside = snapshot(root), snapshot(outside)
        destination = outside.parent / "copy"
        try:
            copied = copy_tree(source, destination, root=root)
        except RenderError:
            copied = None
        assert snapshot(root) == before_root
        assert snapshot(outside) == before_outside
        assert sorted(p.name for p in outside.parent.iterdir()) == ["copy", "outside", "repo"]
        written = [p for p in destination.rglob("*") if not p.is_dir() or p.is_symlink()]
        for path in written:
            assert path.is_file()
            assert not path.is_symlink()
            assert path.read_bytes() != SECRET
        if copied is not None:
            assert copied == len(written)
