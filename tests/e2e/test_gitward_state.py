"""``gitward run`` and its state on disk: private folders and files, and one line for a state it
cannot use (a corrupt database, another program's database, a folder others can write).

Each test runs the real ``gitward`` process; nothing here needs a cluster.
"""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.e2e.process import GITWARD, GitwardProcess, free_port

pytestmark = pytest.mark.e2e

WHAT_TO_DO = "restore it from a backup, or move it away (with its -wal and -shm files) and restart"


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
    env.update(XDG_STATE_HOME=str(root / "xdg"), HOME=str(root / "home"), NO_COLOR="1")
    env.pop("COLUMNS", None)  # rich's default width (80) must not wrap the error line
    return env


def _config(root: Path) -> Path:
    config = root / "config"
    config.mkdir(exist_ok=True)
    return config


def _run(root: Path, state: Path) -> subprocess.CompletedProcess[str]:
    args = [str(GITWARD), "run", "--config", str(_config(root)), "--state", str(state)]
    return subprocess.run(
        [*args, "--listen", "127.0.0.1:0"], env=_env(root), capture_output=True, text=True, timeout=120
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _gitward_database(state: Path) -> None:
    """A real state database of several pages (``<root>/state/state.db``, as ``gitward run`` makes it)."""
    process = GitwardProcess(root=state.parent.parent, env=_env(state.parent.parent), port=free_port())
    process.start(_config(state.parent.parent))  # its state: <root>/state/state.db
    assert process.interrupt() == 0
    with sqlite3.connect(state) as conn:
        conn.executemany(
            "INSERT INTO documents (kind, name, data) VALUES ('status', ?, ?)",
            [(f"app-{i}", "x" * 2000) for i in range(100)],
        )
    conn.close()


def _random_bytes(state: Path) -> None:
    state.write_bytes(random.Random(3).randbytes(32 * 1024))


def _truncated(state: Path) -> None:
    _gitward_database(state)
    with state.open("r+b") as handle:
        handle.truncate(state.stat().st_size // 2)


@pytest.mark.parametrize("damage", [_random_bytes, _truncated], ids=["random-bytes", "truncated"])
def test_a_corrupt_database_is_one_line_naming_the_file_and_what_to_do(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    state = tmp_path / "state" / "state.db"
    state.parent.mkdir(mode=0o700)
    damage(state)
    line = _one_error_line(_run(tmp_path, state))
    assert line.startswith(f"error: StateCorrupt: state database {state} is corrupt (")
    assert WHAT_TO_DO in line
    assert "ownership marks" in line


def test_another_programs_database_is_one_line_and_left_untouched(tmp_path: Path) -> None:
    state = tmp_path / "state" / "places.sqlite"
    state.parent.mkdir(mode=0o700)
    with sqlite3.connect(state) as conn:
        conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.close()
    line = _one_error_line(_run(tmp_path, state))
    assert line.startswith(f"error: StateCorrupt: state database {state} is a SQLite database of something")
    with sqlite3.connect(state) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["bookmarks"]
    conn.close()


def test_a_state_folder_others_can_write_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    line = _one_error_line(_run(tmp_path, shared / "state.db"))
    assert line == (
        f"error: StateUnsafe: state folder {shared} is writable by other users (mode 0777): "
        f"run chmod 700 {shared}, or give --state a file in a private folder"
    )
    assert list(shared.iterdir()) == []  # no database, no token, no cache


@pytest.mark.parametrize("existing", [None, 0o755], ids=["new-folder", "folder-others-may-read"])
def test_after_start_the_state_cache_and_token_are_private(tmp_path: Path, existing: int | None) -> None:
    folder = tmp_path / "state"
    if existing is not None:
        folder.mkdir()
        folder.chmod(existing)
        (folder / "state-cache").mkdir(mode=0o755)  # left by an older gitward: tightened
        (folder / "state-cache").chmod(0o755)
    state = folder / "state.db"
    process = GitwardProcess(root=tmp_path, env=_env(tmp_path), port=free_port())
    process.start(_config(tmp_path))
    try:
        assert _mode(folder) == (existing or 0o700)
        assert _mode(state) == 0o600
        assert _mode(folder / "state.token") == 0o600
        assert _mode(folder / "state-cache") == 0o700
    finally:
        assert process.interrupt() == 0
