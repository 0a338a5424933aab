"""The schema and statements compile for PostgreSQL too: nothing SQLite-only outside a dialect check."""

from __future__ import annotations

import pytest
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from gitward.store.schema import metadata


@pytest.mark.parametrize("table", list(metadata.sorted_tables), ids=lambda t: t.name)
def test_tables_compile_for_postgresql(table: Table) -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    ddl = str(CreateTable(table).compile(dialect=dialect))
    assert f"CREATE TABLE {table.name}" in ddl
    for index in table.indexes:
        assert str(CreateIndex(index).compile(dialect=dialect)).startswith("CREATE INDEX")


def test_history_ids_are_serial_on_postgresql() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    for name in ("operations", "events"):
        assert "id SERIAL" in str(CreateTable(metadata.tables[name]).compile(dialect=dialect))


def test_prebuilt_statements_compile_for_postgresql() -> None:
    from gitward.store.history import _update_operation
    from gitward.store.records import _upsert_document

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    upsert = str(_upsert_document("postgresql").compile(dialect=dialect))
    assert "ON CONFLICT (kind, name) DO UPDATE SET data = excluded.data" in upsert
    update = str(_update_operation(frozenset({"phase", "message"})).compile(dialect=dialect))
    assert update.startswith("UPDATE operations SET phase=%(phase)s")
    assert "message=%(message)s" in update
    assert "WHERE operations.id = %(op_id)s" in update
