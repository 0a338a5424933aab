"""Keep every read of a render inside the checkout (docs/reliability.md, rows 1 and 2).

One rule for every entry point: a user-given path (spec.path, Helm valueFiles, kustomize resources,
an API parameter) is relative, and once joined to the checkout root and resolved (symlinks followed)
it must still be inside that root. A symlink met while reading whose target leaves the root, or does
not exist, fails the render with "symlink escapes repository: PATH" and its target is never opened.

Render tools never see the checkout: ``copy_tree`` copies the checked part of it into a fresh
temporary directory, dereferencing in-repo symlinks, so a tool cannot follow a link out either.

Deliberately not here: parsing anything, running tools.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gitward.core.errors import RenderError
from gitward.render.params import DEFAULT_SETTINGS, RenderSettings

SKIPPED_DIRS = frozenset({".git"})


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return path.name


def safe_join(root: Path, relative: str | os.PathLike[str]) -> Path:
    """``root / relative`` resolved, refused unless it stays inside ``root``.

    Refuses absolute paths and any ``..`` that climbs above the root, and resolves symlinks on the
    way so a link cannot smuggle the path out. The returned path need not exist.
    """
    return safe_join_resolved(root.resolve(), relative)


def safe_join_resolved(real_root: Path, relative: str | os.PathLike[str]) -> Path:
    """``safe_join`` under a root the caller has already resolved, so the root is not walked again.

    A render joins its folder (and maybe a few files) under one checkout root; resolving the root
    again for each join was a visible share of a cold sync's CPU. ``real_root`` must be resolved.
    """
    text = os.fspath(relative)
    if "\0" in text:
        raise RenderError(f"path holds a NUL character: {text!r}")
    pure = PurePosixPath(text.replace("\\", "/"))
    if pure.is_absolute() or text.startswith("~"):
        raise RenderError(f"path must be relative to the repository: {text}", reason="PathEscapesRepository")
    depth = 0
    for part in pure.parts:
        depth = depth - 1 if part == ".." else depth + (part != ".")
        if depth < 0:
            raise RenderError(f"path escapes repository: {text}", reason="PathEscapesRepository")
    joined = real_root.joinpath(*pure.parts)
    if _already_real(real_root, pure.parts):
        return joined
    resolved, missing = _resolve(joined, text)
    if not _inside(resolved, real_root) or (missing and os.path.islink(joined)):
        raise RenderError(f"symlink escapes repository: {text}", reason="SymlinkEscapesRepository")
    return resolved


def _resolve(path: Path, shown: str) -> tuple[Path, bool]:
    """The real path of ``path`` (symlinks followed; it need not exist) and whether it is missing.

    A symlink loop on the way (which ``Path.resolve`` raises as RuntimeError on Python 3.11/3.12 and
    lets through later) and a name the system refuses (too long) are render errors, so a hostile
    tree fails the render with a message instead of a crash (docs/reliability.md, "Fuzzing").
    """
    try:
        os.stat(path)
        missing = False
    except (FileNotFoundError, NotADirectoryError):
        missing = True
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RenderError(f"symlink loop: {shown}") from None
        raise RenderError(f"{shown}: {exc.strerror}") from None
    return Path(os.path.realpath(path)), missing


def _already_real(real_root: Path, parts: tuple[str, ...]) -> bool:
    """Whether ``real_root/parts`` is its own real path: every part exists and is neither ``..`` nor
    a symlink. Only the parts below the root are looked at (one ``lstat`` each); when this is false
    the caller takes the full resolve, which follows the links and checks where they lead.
    """
    if ".." in parts:
        return False
    path = os.fspath(real_root)
    for part in parts:
        path = os.path.join(path, part)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return False
        except OSError:
            return False
    return True


def safe_join_from(root: Path, base: str, entry: str) -> Path:
    """``entry`` relative to the folder ``base`` (itself relative to ``root``), by ``safe_join``'s rule.

    ``entry`` is refused when absolute even though ``base/entry`` would not be.
    """
    if PurePosixPath(entry).is_absolute() or entry.startswith("~"):
        raise RenderError(f"path must be relative to the repository: {entry}", reason="PathEscapesRepository")
    return safe_join(root, f"{base}/{entry}" if base not in ("", ".") else entry)


def check_link(path: Path, *, root: Path) -> Path:
    """The real target of symlink ``path``; refused when it is outside ``root`` or dangling."""
    target, missing = _resolve(path, _relative(path, root))
    if not _inside(target, root) or missing:
        raise RenderError(
            f"symlink escapes repository: {_relative(path, root)}", reason="SymlinkEscapesRepository"
        )
    return target


@dataclass(frozen=True)
class TreeFile:
    path: Path  # the real file to read (symlinks resolved and checked)
    relative: str  # the name the user sees, relative to the checkout root (as linked, not as resolved)
    size: int


def walk_files(
    directory: Path,
    *,
    root: Path,
    recurse: bool = True,
    skip_hidden: bool = True,
    settings: RenderSettings = DEFAULT_SETTINGS,
    resolved: bool = False,
) -> Iterator[TreeFile]:
    """Every regular file under ``directory`` (inside ``root``), sorted by path, depth first.

    Hidden entries (``.github``...) are skipped unless ``skip_hidden`` is false; ``.git`` always is.
    Symlinks are checked before they are followed; a symlinked directory that leads back to one
    being walked is refused as a loop. File count and total size are capped as they are met.
    Pass ``resolved`` only when both paths are already resolved (as ``safe_join`` returns them):
    they are then compared but not resolved again. Entries that are not symlinks are never
    resolved: below a real folder inside the root they are real and inside too.
    """
    root, start = (root, directory) if resolved else (root.resolve(), directory.resolve())
    if not _inside(start, root):
        raise RenderError(f"path escapes repository: {directory.name}", reason="PathEscapesRepository")
    count = total = 0
    stack: list[tuple[Path, Path, tuple[Path, ...]]] = [(start, start, ())]
    while stack:
        shown, real, ancestors = stack.pop()
        if real in ancestors:
            raise RenderError(f"symlink loop: {_relative(shown, root)}")
        subdirs: list[tuple[Path, Path, tuple[Path, ...]]] = []
        for entry in sorted(os.scandir(real), key=lambda entry: entry.name):
            if entry.name in SKIPPED_DIRS or (skip_hidden and entry.name.startswith(".")):
                continue
            entry_shown = shown / entry.name
            entry_real = check_link(entry_shown, root=root) if entry.is_symlink() else Path(entry.path)
            info = entry_real.stat()
            if stat.S_ISDIR(info.st_mode):
                if recurse:
                    subdirs.append((entry_shown, entry_real, (*ancestors, real)))
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            count += 1
            total += info.st_size
            if count > settings.max_files:
                raise RenderError(f"more than {settings.max_files} files under {_relative(start, root)}")
            if total > settings.max_total_bytes:
                raise RenderError(
                    f"more than {settings.max_total_bytes} bytes under {_relative(start, root)}"
                )
            yield TreeFile(path=entry_real, relative=_relative(entry_shown, root), size=info.st_size)
        stack.extend(reversed(subdirs))


def read_capped(file: TreeFile, *, settings: RenderSettings = DEFAULT_SETTINGS) -> bytes:
    """The file's bytes, refused before reading when it is larger than the per-file cap."""
    if file.size > settings.max_file_bytes:
        raise RenderError(f"{file.relative}: file is larger than {settings.max_file_bytes} bytes")
    with open(file.path, "rb") as handle:
        # read at most one byte more than the cap in case the file grew after the stat
        data = handle.read(settings.max_file_bytes + 1)
    if len(data) > settings.max_file_bytes:
        raise RenderError(f"{file.relative}: file is larger than {settings.max_file_bytes} bytes")
    return data


def copy_tree(
    source: Path, destination: Path, *, root: Path, settings: RenderSettings = DEFAULT_SETTINGS
) -> int:
    """Copy ``source`` (inside ``root``) to ``destination`` after checking every symlink in it.

    In-repo symlinks are copied as the files they point to; hidden files are kept (charts use
    ``.helmignore``) but ``.git`` is not. Returns the number of files copied.
    """
    root = root.resolve()
    start = source.resolve()
    destination.mkdir(parents=True, exist_ok=True)
    copied = 0
    for file in walk_files(start, root=root, skip_hidden=False, settings=settings, resolved=True):
        if file.size > settings.max_file_bytes:
            raise RenderError(f"{file.relative}: file is larger than {settings.max_file_bytes} bytes")
        target = destination / (root / file.relative).relative_to(start)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file.path, target)
        copied += 1
    return copied
