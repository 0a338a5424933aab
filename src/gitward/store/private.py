"""The state folder, the cache folder and the database are readable by the user running gitward only.

The cache holds every fetched repository as plain files (Secrets kept in Git included) and the
database holds every app's status and history, so no other local user may read them, whatever
the folder around them allows. The rules, checked each time gitward starts (``docs/reliability.md``):

- The state folder (where the database and the admin token live) is created 0700. An existing one
  must belong to this user and must not be writable by group or others: another user could swap
  the database, the token or the cache, so gitward refuses to start and says what to run. One that
  others may only read is left as it is (``--state ./state.db`` names a folder the user chose, a
  project folder perhaps): everything gitward keeps in it is private on its own.
- The cache folder and the database file (with SQLite's ``-wal``/``-shm`` companions) are gitward's
  own: created 0700 and 0600, and tightened, with a warning, when found looser (an older gitward
  created them with the umask's modes). The database is tightened only once it has passed its check
  (``database.py``): a file that is corrupt or not gitward's is refused as it was found.
- A folder or file owned by another user is refused: gitward cannot make it private.

Deliberately not here: the admin token file, whose own check is in ``api/tokens.py``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from gitward.core.errors import Stalled

log = logging.getLogger("gitward.store")

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH
# Files SQLite keeps next to the database; it gives new ones the database's own mode.
_COMPANIONS = ("-wal", "-shm", "-journal")


class StateError(Stalled):
    """The state cannot be used as it is: a human must act (the message says how), so no retry.

    ``reason`` says which problem: ``StateUnsafe`` (not private, not ours), ``StateCorrupt``,
    ``StateUnavailable`` (SQLite could not open it).
    """

    reason = "StateUnsafe"


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"


@contextlib.contextmanager
def _explained(path: Path) -> Iterator[None]:
    """An OS refusal (permission, read-only disk) becomes one line naming the path."""
    try:
        yield
    except OSError as exc:
        raise StateError(f"cannot prepare {path}: {exc.strerror or exc}") from None


def _check_owner(path: Path, info: os.stat_result) -> None:
    if info.st_uid != os.getuid():
        raise StateError(
            f"{path} belongs to another user (uid {info.st_uid}): "
            "gitward keeps its state only in folders and files of the user running it"
        )


def _made(folder: Path) -> os.stat_result | None:
    """Create ``folder`` 0700 (its parents with the usual modes); the existing one's stat if any."""
    try:
        folder.mkdir(parents=True, mode=PRIVATE_FOLDER)
        return None
    except FileExistsError:
        pass
    info = folder.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise StateError(f"{folder} is not a folder")
    _check_owner(folder, info)
    return info


def check_state_folder(folder: Path) -> None:
    """Create ``folder`` 0700, or refuse an existing one that is not ours or that others can write."""
    with _explained(folder):
        info = _made(folder)
    if info is not None and info.st_mode & _OTHERS_WRITE:
        raise StateError(
            f"state folder {folder} is writable by other users (mode {_mode(info)}): "
            f"run chmod 700 {folder}, or give --state a file in a private folder"
        )


def private_folder(folder: Path) -> None:
    """Create gitward's own ``folder`` 0700, or tighten an existing one to 0700."""
    with _explained(folder):
        info = _made(folder)
        if info is not None:
            _tighten(folder, info, PRIVATE_FOLDER)


def create_private_file(path: Path) -> None:
    """Create gitward's own file ``path`` empty and 0600 when missing; an existing one must be a file."""
    with _explained(path):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        except FileExistsError:
            if not stat.S_ISREG(path.stat().st_mode):
                raise StateError(f"{path} is not a file") from None


def tighten_file(path: Path) -> None:
    """Tighten gitward's own file ``path`` and its SQLite companions to 0600 where looser."""
    with _explained(path):
        for candidate in (path, *(path.with_name(path.name + suffix) for suffix in _COMPANIONS)):
            with contextlib.suppress(FileNotFoundError):
                _tighten(candidate, candidate.stat(), PRIVATE_FILE)


def _tighten(path: Path, info: os.stat_result, mode: int) -> None:
    _check_owner(path, info)
    if info.st_mode & _OTHERS:
        log.warning("%s was open to other users (mode %s); set to %04o", path, _mode(info), mode)
        os.chmod(path, mode)


def prepare_state(state_file: Path, *, cache_folder: Path) -> None:
    """The state folder checked and the cache folder made private, before either is used.

    The database file itself is checked (and only then made private) when the store opens it:
    a file that is corrupt or not gitward's is refused unchanged.
    """
    check_state_folder(state_file.parent)
    private_folder(cache_folder)
