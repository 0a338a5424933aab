"""A state database that cannot be used stops the open with one line naming the file and what to do."""

from __future__ import annotations

import random
import sqlite3
import stat
from pathlib import Path

import pytest

from gitward.store import Store
from gitward.store.private import StateError

WHAT_TO_DO = "restore it from a backup, or move it away (with its -wal and -shm files) and restart"


def _real_database(db_path: Path, *, apps: int = 200) -> None:
    """A gitward database of many pages (checkpointed into the file when the store closes)."""
    with Store.open(db_path) as store:
        for index in range(apps):
            store.save_status(f"app-{index}", {"message": f"status of app {index} " * 40})
    assert not Path(f"{db_path}-wal").exists()


def _refused(db_path: Path) -> StateError:
    with pytest.raises(StateError) as caught:
        Store.open(db_path)
    message = caught.value.message
    assert "\n" not in message
    assert str(db_path) in message
    return caught.value


def test_random_bytes_are_not_a_database_and_are_left_as_they_were(db_path: Path) -> None:
    db_path.parent.mkdir(mode=0o700)
    content = random.Random(9).randbytes(64 * 1024)
    db_path.write_bytes(content)
    db_path.chmod(0o644)
    error = _refused(db_path)
    assert error.reason == "StateCorrupt"
    assert error.message.startswith(f"state database {db_path} is corrupt (file is not a database): ")
    assert WHAT_TO_DO in error.message
    assert "ownership marks" in error.message
    assert db_path.read_bytes() == content
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o644


def test_a_truncated_database_is_corrupt(db_path: Path) -> None:
    _real_database(db_path)
    size = db_path.stat().st_size
    with db_path.open("r+b") as handle:
        handle.truncate(size // 2)
    error = _refused(db_path)
    assert error.reason == "StateCorrupt"
    assert f"state database {db_path} is corrupt (" in error.message
    assert WHAT_TO_DO in error.message


def test_a_damaged_page_inside_the_file_is_found_at_open(db_path: Path) -> None:
    _real_database(db_path)
    page_size = 4096
    pages = db_path.stat().st_size // page_size
    with db_path.open("r+b") as handle:
        handle.seek((pages - 2) * page_size)  # a data page near the end, never read by the open itself
        handle.write(b"\xff" * page_size)
    error = _refused(db_path)
    assert error.reason == "StateCorrupt"
    assert WHAT_TO_DO in error.message


def test_another_programs_database_is_refused_and_left_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(mode=0o700)
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.close()
    error = _refused(db_path)
    assert error.reason == "StateCorrupt"
    assert "is a SQLite database of something else, not gitward's" in error.message
    with sqlite3.connect(db_path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert tables == ["bookmarks"]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not switched to WAL
    conn.close()


def test_an_empty_file_is_a_new_database(db_path: Path) -> None:
    db_path.parent.mkdir(mode=0o700)
    db_path.touch()
    with Store.open(db_path) as store:
        assert store.load_status("web") is None
