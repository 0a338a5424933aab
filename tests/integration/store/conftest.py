"""The store's fixtures of ``tests/unit/store`` with a fresh PostgreSQL database as the location."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gitward.store import Store


@pytest.fixture
def state_location(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def store(state_location: str) -> Iterator[Store]:
    s = Store.open(state_location)
    assert s.dialect == "postgresql"
    yield s
    s.close()
