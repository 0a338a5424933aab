"""Versioned migrations: a database of schema version 1 with rows in it is brought up to date by the
current code, rows kept and new columns at their defaults; a failing migration leaves the database
at its old version; openers that start together migrate once.

Each test takes only ``state_location``, so ``tests/integration/store`` runs them on PostgreSQL too.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, select, text

from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.store import Store
from gitward.store.database import WRITE_OPTION, create_store_engine
from gitward.store.schema import MIGRATIONS, documents, events, inventory, migrate, operations, schema_version
from gitward.store.tokens import TokenStore

ENTRY = InventoryEntry(ResourceKey("apps", "Deployment", "web", "api"), "v7")

# The columns of ``operations`` at schema version 1, written as SQL: this test must not depend on the
# current table definition.
_V1_OPERATION = text(
    "INSERT INTO operations (app, revision, commit_sha, triggered_by, phase, message, started_at, "
    "finished_at, resources) VALUES (:app, 'main', :commit, 'webhook', :phase, :message, :at, :end, "
    '\'[{"kind": "Deployment"}]\')'
)


def _write(location: str | Path, work: object) -> None:
    engine = create_store_engine(location)
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            assert callable(work)
            work(conn)
    finally:
        engine.dispose()


def _version_1_database(conn: Connection) -> None:
    assert migrate(conn, MIGRATIONS[:1]) == 1
    conn.execute(documents.insert().values(kind="status", name="web", data='{"sync": {"status": "Synced"}}'))
    conn.execute(inventory.insert().values(app="web", object_id=ENTRY.key.id, version=ENTRY.version))
    for n, (commit, phase) in enumerate([("a", "Succeeded"), ("a", "Succeeded"), ("b", "Running")]):
        values = {"app": "web", "commit": commit, "phase": phase, "message": f"op {n}", "at": n, "end": n + 1}
        conn.execute(_V1_OPERATION, values)
    conn.execute(
        events.insert().values(
            app="web",
            time=3.0,
            type="Normal",
            reason="Synced",
            message="synced a",
            object_id="",
            fields="[]",
            manager="",
        )
    )


def test_a_version_1_database_is_migrated_with_its_rows_kept(state_location: str | Path) -> None:
    _write(state_location, _version_1_database)

    with Store.open(state_location) as store:
        assert store.load_status("web") == {"sync": {"status": "Synced"}}
        assert store.load_inventory("web") == [ENTRY]
        history = store.list_operations("web")[::-1]
        assert [(op["message"], op["phase"]) for op in history] == [
            ("op 0", "Succeeded"),
            ("op 1", "Succeeded"),
            ("op 2", "Running"),
        ]
        # Migration 2: one entry per sync, the first success of a commit marked as a deployment.
        assert [op["count"] for op in history] == [1, 1, 1]
        assert [op["deployed"] for op in history] == [True, False, False]
        # Migration 4: the syncs of before have no known initiator.
        assert {op["initiator"] for op in history} == {""}
        assert history[0]["resources"] == [{"kind": "Deployment"}]
        assert [op["id"] for op in store.unfinished_operations()] == [history[2]["id"]]
        assert [e["message"] for e in store.list_events("web")] == ["synced a"]
        # New rows take ids after the old ones (PostgreSQL's sequence went on counting).
        new = store.start_operation("web", revision="main", commit="c", trigger="sync", started_at=9.0)
        assert new > max(op["id"] for op in history)
        with store._read() as conn:
            keys = conn.execute(select(operations.c.heal_key).order_by(operations.c.id)).scalars().all()
            assert keys == ["", "", "", ""]
            assert conn.execute(select(schema_version.c.version)).scalars().all() == [len(MIGRATIONS)]
    # Migration 3: the API tokens' table.
    tokens = TokenStore.open(state_location)
    try:
        assert tokens.all() == []
    finally:
        tokens.close()


def test_a_failing_migration_leaves_the_database_at_its_version(state_location: str | Path) -> None:
    Store.open(state_location).close()

    def half_done(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE operations ADD COLUMN half_done INTEGER NOT NULL DEFAULT 0"))
        raise RuntimeError("migration failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        _write(state_location, lambda conn: migrate(conn, (*MIGRATIONS, half_done)))

    def check(conn: Connection) -> None:
        assert conn.execute(select(schema_version.c.version)).scalars().all() == [len(MIGRATIONS)]
        columns = conn.execute(select(operations).limit(0)).keys()
        assert "half_done" not in columns

    _write(state_location, check)


def test_openers_starting_together_migrate_a_new_database_once(state_location: str | Path) -> None:
    if isinstance(state_location, Path):
        state_location.parent.mkdir(mode=0o700)  # the folder made once, before the race on the file
    barrier = threading.Barrier(6)
    stores: list[Store] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            barrier.wait()
            stores.append(Store.open(state_location))
        except BaseException as exc:  # surfaced to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        stores[0].save_status("app", {"v": 1})
        assert [store.load_status("app") for store in stores] == [{"v": 1}] * 6
        with stores[0]._read() as conn:
            assert conn.execute(select(schema_version.c.version)).scalars().all() == [len(MIGRATIONS)]
    finally:
        for store in stores:
            store.close()
