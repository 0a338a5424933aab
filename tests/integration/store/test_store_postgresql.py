"""The store's tests of ``tests/unit/store`` run again on a real PostgreSQL server (``postgres_server``).

Every test there that takes its database through ``store`` or ``state_location`` (and no file path)
is collected here too, where those fixtures name a new PostgreSQL database (``conftest.py``): the
schema, each migration from version 1 and every query run on both stores. The tests that only make
sense for a SQLite file (WAL mode, corruption, file modes) stay there only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from tests.unit.store import (
    test_store_batch,
    test_store_history,
    test_store_history_retention,
    test_store_lifecycle,
    test_store_migrations,
    test_store_records,
)

pytestmark = pytest.mark.integration

_FILE_ONLY = {"db_path", "tmp_path"}
_MODULES = (
    test_store_batch,
    test_store_history,
    test_store_history_retention,
    test_store_lifecycle,
    test_store_migrations,
    test_store_records,
)


def _portable(module: ModuleType) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, test in vars(module).items():
        is_test = name.startswith("test_") and inspect.isfunction(test)
        if is_test and not _FILE_ONLY & set(inspect.signature(test).parameters):
            yield name, test


_TESTS = [pair for module in _MODULES for pair in _portable(module)]
assert len({name for name, _ in _TESTS}) == len(_TESTS), "two store tests share a name"
globals().update(_TESTS)
