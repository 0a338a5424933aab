"""Store fixtures: ``state_location`` is where a new database is, ``store`` a store opened on it.

Here a SQLite file in the test's own folder. ``tests/integration/store`` runs the tests that take
only these two (and no file path) again with a fresh PostgreSQL database as the location.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "gitward.db"


@pytest.fixture
def state_location(db_path: Path) -> str | Path:
    return db_path


@pytest.fixture
def store(state_location: str | Path) -> Iterator[Store]:
    s = Store.open(state_location)
    yield s
    s.close()
