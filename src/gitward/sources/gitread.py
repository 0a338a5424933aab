"""Read a local bare mirror with pygit2: resolve revisions, hash paths, export trees.

Why pygit2: these reads run for every app on every trigger; doing them in-process costs microseconds
where a git subprocess costs milliseconds. Everything here is local and synchronous (callers move the
export to a thread). Deliberately not here: the network (``gitcli``) and cache layout (``gitcache``).

Revision rules, in order: ``HEAD`` or empty -> the commit of the remote's HEAD as last fetched (an
error when that HEAD is dangling, never some other branch); a full SHA; a branch; a tag (annotated
tags peeled to their commit); a unique abbreviated SHA (4+ hex digits); a semver range over tags
(``v`` prefixes allowed). A name that is both a branch and a tag means the branch, because
GitOps users track branches far more often than they shadow them with tags.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import TypeVar

import pygit2

from gitward.core.errors import FetchError, ValidationError
from gitward.sources.semver import is_constraint, parse_constraint

REMOTE_HEAD = "refs/gitward/HEAD"  # where each fetch stores the commit of the remote's HEAD
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{4,63}$")


# libgit2 keeps a parsed tree in a repository's object cache only up to 4 KiB by default. A folder of
# a few hundred apps is larger, so every path lookup below it inflated and parsed the whole folder
# again: 2.5 ms per lookup with 10,000 apps, 25 s to compare them all after one push. Trees up to this
# size stay cached (the cache as a whole keeps libgit2's 256 MiB bound).
TREE_CACHE_LIMIT = 16 * 1024 * 1024


def cache_large_trees() -> None:
    """Let libgit2 cache trees up to ``TREE_CACHE_LIMIT`` (a process-wide setting; idempotent)."""
    pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, TREE_CACHE_LIMIT)


def normalize_path(path: str) -> str:
    """``path`` relative to the repository root, without ``./`` or trailing ``/``; refuses escapes."""
    text = path.strip().replace("\\", "/")
    if text.startswith("/") or "\0" in text:
        raise ValidationError(f"path must be relative to the repository: {path!r}")
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if ".." in parts:
        raise ValidationError(f"path escapes the repository: {path!r}")
    return "/".join(parts)


def _commit_of(repo: pygit2.Repository, obj: object) -> str | None:
    try:
        peeled = obj.peel(pygit2.Commit)  # type: ignore[attr-defined]
    except (pygit2.GitError, ValueError, KeyError, AttributeError):
        return None
    return str(peeled.id)


def _ref_commit(repo: pygit2.Repository, name: str) -> str | None:
    ref = repo.references.get(name)
    return None if ref is None else _commit_of(repo, ref)


def _object_commit(repo: pygit2.Repository, hexsha: str) -> str | None:
    try:
        obj = repo.get(hexsha)
    except (ValueError, KeyError, pygit2.GitError):
        return None  # unknown, or an ambiguous short SHA
    return None if obj is None else _commit_of(repo, obj)


def tag_names(repo: pygit2.Repository) -> list[str]:
    prefix = "refs/tags/"
    return [name[len(prefix) :] for name in repo.references if name.startswith(prefix)]


def resolve_revision(repo: pygit2.Repository, revision: str, *, url: str) -> str:
    """The full commit SHA that ``revision`` names in ``repo``; FetchError when it names nothing."""
    rev = revision.strip()
    found: str | None = None
    if rev in ("", "HEAD"):
        # Only the remote's HEAD: the mirror's own HEAD names whatever branch ``git init`` picked.
        found = _ref_commit(repo, REMOTE_HEAD)
        if found is None:
            raise FetchError(
                f"revision 'HEAD' not found in {url}: the repository's HEAD (its default branch) does "
                "not point at an existing branch; set spec.source.revision to a branch, tag or commit",
                reason="RevisionNotFound",
            )
    elif _FULL_SHA.match(rev):
        found = _object_commit(repo, rev)
    else:
        candidates = [f"refs/heads/{rev}", f"refs/tags/{rev}"]
        if rev.startswith("refs/"):
            candidates.insert(0, rev)
        for name in candidates:
            if (found := _ref_commit(repo, name)) is not None:
                break
        if found is None and _SHORT_SHA.match(rev):
            found = _object_commit(repo, rev)
        if found is None and is_constraint(rev):
            best = parse_constraint(rev).best(tag_names(repo))
            found = _ref_commit(repo, f"refs/tags/{best}") if best else None
    if found is None:
        raise FetchError(f"revision {rev or 'HEAD'!r} not found in {url}", reason="RevisionNotFound")
    return found


def _commit(repo: pygit2.Repository, commit: str, url: str) -> pygit2.Commit:
    try:
        obj = repo[commit]
        peeled: pygit2.Commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        raise FetchError(f"commit {commit} not found in {url}", reason="RevisionNotFound") from None
    return peeled


def path_hash(repo: pygit2.Repository, commit: str, path: str, *, url: str) -> str:
    """Git object id of ``path`` at ``commit`` (a tree, or a blob for a file); "" when absent."""
    tree = _commit(repo, commit, url).tree
    rel = normalize_path(path)
    if not rel:
        return str(tree.id)
    try:
        return str(tree[rel].id)
    except KeyError:
        return ""


_T = TypeVar("_T")
_SAFE_NAME = re.compile(r"^(?!\.{1,2}$)[^/\0]+$")


def _check_name(name: str, where: str) -> None:
    if not _SAFE_NAME.match(name) or name.lower() == ".git":
        raise FetchError(f"refusing unsafe tree entry {where}/{name!r}", reason="UnsafeTree")


def export_tree(repo: pygit2.Repository, commit: str, dest: Path, *, url: str, path: str = "") -> None:
    """Write the commit's tree under ``dest`` (which must not exist), read-only, symlinks kept as links;
    with ``path``, only that folder or file of it, at its place (its parent folders hold nothing else).

    Symlinks are recreated verbatim and never followed here: the render sandbox decides whether one
    escapes (one that points outside ``path`` dangles in a one-path export, and the render says so).
    Submodules become empty directories (their content is another repository). A ``path`` the
    commit lacks leaves ``dest`` holding only the folders above it.
    """
    dest.mkdir(mode=0o700)
    directories = [dest]
    tree = _commit(repo, commit, url).tree
    parts = [p for p in normalize_path(path).split("/") if p]
    where = dest
    for index, name in enumerate(parts):
        _check_name(name, where.relative_to(dest).as_posix())
        try:
            entry = tree[name]
        except KeyError:
            break  # absent: the caller reports the missing path
        if index == len(parts) - 1:
            _export_entry(repo, entry, where / name, dest, directories)
            break
        if entry.filemode != pygit2.enums.FileMode.TREE:
            break  # a file or link above the path: the path is absent, as ``path_hash`` sees it
        where = where / name
        where.mkdir(mode=0o700)
        directories.append(where)
        tree = _typed(repo, entry.id, pygit2.Tree)
    else:
        _export_children(repo, tree, dest, dest, directories)
    for directory in reversed(directories):
        directory.chmod(0o555)


def _export_children(
    repo: pygit2.Repository, tree: pygit2.Tree, target: Path, dest: Path, directories: list[Path]
) -> None:
    """Write every entry of ``tree`` into the existing folder ``target`` (names checked)."""
    stack: list[tuple[pygit2.Tree, Path]] = [(tree, target)]
    while stack:
        tree, where = stack.pop()
        for entry in tree:
            name = entry.name or ""
            _check_name(name, where.relative_to(dest).as_posix())
            if entry.filemode == pygit2.enums.FileMode.TREE:
                (where / name).mkdir(mode=0o700)
                directories.append(where / name)
                stack.append((_typed(repo, entry.id, pygit2.Tree), where / name))
            else:
                _export_entry(repo, entry, where / name, dest, directories)


def _export_entry(
    repo: pygit2.Repository, entry: pygit2.Object, target: Path, dest: Path, directories: list[Path]
) -> None:
    """Write one tree entry at ``target``: a folder with everything below it, a file, a link or an
    empty folder for a submodule."""
    mode = entry.filemode
    if mode == pygit2.enums.FileMode.TREE:
        target.mkdir(mode=0o700)
        directories.append(target)
        _export_children(repo, _typed(repo, entry.id, pygit2.Tree), target, dest, directories)
    elif mode == pygit2.enums.FileMode.LINK:
        link = os.fsdecode(_typed(repo, entry.id, pygit2.Blob).data)
        if "\0" in link:
            raise FetchError(f"refusing symlink with a NUL byte: {entry.name!r}", reason="UnsafeTree")
        os.symlink(link, target)
    elif mode == pygit2.enums.FileMode.COMMIT:
        target.mkdir(mode=0o700)
        directories.append(target)
    else:
        executable = mode == pygit2.enums.FileMode.BLOB_EXECUTABLE
        _write_file(target, _typed(repo, entry.id, pygit2.Blob).data, executable=executable)


def _typed(repo: pygit2.Repository, oid: pygit2.Oid, kind: type[_T]) -> _T:
    obj = repo[oid]
    if not isinstance(obj, kind):
        raise FetchError(f"corrupt tree: object {oid} is not a {kind.__name__}", reason="UnsafeTree")
    return obj


def _write_file(target: Path, data: bytes, *, executable: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(target, 0o555 if executable else 0o444)


def make_writable(root: Path) -> None:
    """Undo the read-only modes under ``root`` so it can be deleted."""
    for dirpath, _dirnames, _files in os.walk(root):
        os.chmod(dirpath, stat.S_IRWXU)
