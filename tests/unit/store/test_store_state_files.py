"""The state on disk is private: folder 0700, database 0600, cache folder 0700 (see store/private.py).

A state folder others can write is refused before anything is written in it; one others may only
read is kept as the user made it, because every entry gitward keeps in it is private on its own.
"""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from gitward.store import Store
from gitward.store.private import StateError, prepare_state


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fill(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.save_status("web", {"sync": {"status": "Synced"}})


def test_a_new_state_folder_and_database_are_private(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.save_status("web", {"sync": {"status": "Synced"}})
        companions = [p for p in db_path.parent.iterdir() if p != db_path]
        assert companions  # SQLite's -wal and -shm, while the store is open
        assert {p.name: _mode(p) for p in companions} == {p.name: 0o600 for p in companions}
    assert _mode(db_path.parent) == 0o700
    assert _mode(db_path) == 0o600


def test_a_database_others_can_read_is_tightened(db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _fill(db_path)
    db_path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="gitward.store"):
        _fill(db_path)
    assert _mode(db_path) == 0o600
    assert f"{db_path} was open to other users (mode 0644)" in caplog.text


def test_a_state_folder_others_may_only_read_is_kept_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    folder.chmod(0o755)
    _fill(folder / "state.db")
    assert _mode(folder) == 0o755
    assert _mode(folder / "state.db") == 0o600


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o757, 0o1777])
def test_a_state_folder_others_can_write_is_refused_before_anything_is_written(
    tmp_path: Path, mode: int
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(mode)
    with pytest.raises(StateError) as caught:
        Store.open(folder / "state.db")
    message = caught.value.message
    assert message.startswith(f"state folder {folder} is writable by other users (mode {mode:04o})")
    assert f"chmod 700 {folder}" in message
    assert caught.value.reason == "StateUnsafe"
    assert list(folder.iterdir()) == []


def test_a_folder_given_as_the_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.db").mkdir()
    with pytest.raises(StateError, match=r"state\.db is not a file"):
        Store.open(tmp_path / "state.db")


def test_the_state_and_cache_folders_are_created_private(tmp_path: Path) -> None:
    state = tmp_path / "state" / "state.db"
    prepare_state(state, cache_folder=state.parent / "state-cache")
    assert _mode(state.parent) == 0o700
    assert _mode(state.parent / "state-cache") == 0o700


def test_a_cache_folder_others_can_read_is_tightened(tmp_path: Path) -> None:
    # What an older gitward left: a 0755 cache holding read-only checkouts of plain manifests.
    cache = tmp_path / "state-cache"
    checkout = cache / "git" / "checkouts" / "abc123"
    checkout.mkdir(parents=True)
    (checkout / "secret.yaml").write_text("kind: Secret\n")
    (checkout / "secret.yaml").chmod(0o444)
    checkout.chmod(0o555)
    cache.chmod(0o755)
    prepare_state(tmp_path / "state.db", cache_folder=cache)
    assert _mode(cache) == 0o700
    checkout.chmod(0o700)  # so pytest can remove it
