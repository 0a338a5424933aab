"""Opening, reopening, migrations, a deleted database file, and two Store objects on one database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.store import Store, StoreClosed, StoreVersionError, records
from gitward.store.database import create_store_engine, database_url
from gitward.store.schema import MIGRATIONS, migrate

ENTRY = InventoryEntry(ResourceKey("apps", "Deployment", "web", "a"), "v1")


def _sql(location: str | Path, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url(location))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(query))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_open_creates_file_and_parent_directories(db_path: Path) -> None:
    assert not db_path.parent.exists()
    with Store.open(db_path) as store:
        assert store.dialect == "sqlite"
    assert db_path.is_file()


def test_sqlite_runs_in_wal_mode(db_path: Path) -> None:
    Store.open(db_path).close()
    assert _sql(db_path, "PRAGMA journal_mode") == [("wal",)]


def test_everything_survives_reopen(state_location: str | Path) -> None:
    with Store.open(state_location) as store:
        store.save_status("app", {"sync": {"status": "Synced"}})
        store.save_inventory("app", [ENTRY])
        store.save_verdicts("app", {"k": "v"})
        store.save_source_state("https://repo", {"head": "abc"})
        store.add_event("app", type="Normal", reason="Synced", message="ok", time=1.0)
    with Store.open(state_location) as store:
        assert store.load_status("app") == {"sync": {"status": "Synced"}}
        assert store.load_inventory("app") == [ENTRY]
        assert store.load_verdicts("app") == {"k": "v"}
        assert store.load_source_state("https://repo") == {"head": "abc"}
        assert [e["message"] for e in store.list_events("app")] == ["ok"]


def test_unfinished_operation_found_after_reopen(state_location: str | Path) -> None:
    # A controller killed mid-sync never closes its store: simulate by not calling finish/close first.
    writer = Store.open(state_location)
    op_id = writer.start_operation("app", revision="main", commit="3f1c", trigger="interval", started_at=5.0)
    writer.update_operation(op_id, phase="Running", message="wave 0", resources=[{"id": "x"}])
    done = writer.start_operation("app", revision="main", commit="3f1c", trigger="interval", started_at=6.0)
    writer.finish_operation(done, phase="Succeeded", message="", resources=[], finished_at=7.0)

    with Store.open(state_location) as restarted:
        unfinished = restarted.unfinished_operations()
        assert [op["id"] for op in unfinished] == [op_id]
        assert unfinished[0]["message"] == "wave 0"
        assert unfinished[0]["resources"] == [{"id": "x"}]
        assert unfinished[0]["commit"] == "3f1c"
    writer.close()


def test_deleted_database_reopens_empty(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.save_status("app", {"x": 1})
        store.save_inventory("app", [ENTRY])
        store.start_operation("app", revision="r", commit="", trigger="manual", started_at=1.0)
    for path in db_path.parent.iterdir():
        path.unlink()
    with Store.open(db_path) as store:
        assert store.all_statuses() == {}
        assert store.apps_with_inventory() == []
        assert store.unfinished_operations() == []
        assert store.list_events() == []
        store.save_status("app", {"x": 2})
        assert store.load_status("app") == {"x": 2}


def test_reopening_does_not_rerun_migrations(state_location: str | Path) -> None:
    Store.open(state_location).close()
    Store.open(state_location).close()
    assert _sql(state_location, "SELECT version FROM schema_version") == [(len(MIGRATIONS),)]


def test_new_migration_runs_once(state_location: str | Path) -> None:
    Store.open(state_location).close()
    calls: list[int] = []

    def add_column(conn: object) -> None:
        calls.append(1)

    engine = create_store_engine(state_location)
    try:
        for _ in range(2):
            with engine.begin() as conn:
                assert migrate(conn, (*MIGRATIONS, add_column)) == len(MIGRATIONS) + 1
    finally:
        engine.dispose()
    assert calls == [1]
    assert _sql(state_location, "SELECT version FROM schema_version") == [(len(MIGRATIONS) + 1,)]


def test_newer_schema_is_refused(state_location: str | Path) -> None:
    Store.open(state_location).close()
    _sql(state_location, "UPDATE schema_version SET version = 999")
    with pytest.raises(StoreVersionError, match="newer"):
        Store.open(state_location)


def test_closed_store_refuses_calls(state_location: str | Path) -> None:
    store = Store.open(state_location)
    store.close()
    store.close()  # closing twice is harmless
    with pytest.raises(StoreClosed):
        store.load_status("app")
    with pytest.raises(StoreClosed):
        store.save_status("app", {})


def test_reader_sees_committed_state_while_writer_holds_transaction(state_location: str | Path) -> None:
    with Store.open(state_location) as writer, Store.open(state_location) as reader:
        writer.save_status("app", {"v": 1})
        with writer._write() as conn:  # a write transaction left open, as during a slow batch
            records.put_document(conn, kind=records.STATUS, name="app", data={"v": 2})
            # WAL: the reader is not blocked and sees the last committed value, not the pending one.
            assert reader.load_status("app") == {"v": 1}
            assert reader.all_statuses() == {"app": {"v": 1}}
        assert reader.load_status("app") == {"v": 2}


def test_two_writers_on_one_file_lose_nothing(state_location: str | Path) -> None:
    stores = [Store.open(state_location), Store.open(state_location)]
    errors: list[BaseException] = []

    def write(store: Store, app: str) -> None:
        try:
            for i in range(50):
                store.add_event(app, type="Normal", reason="R", message=str(i), time=float(i))
                store.save_status(app, {"i": i})
        except BaseException as exc:  # surfaced to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, f"app{n}")) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        for n in range(2):
            assert len(stores[0].list_events(f"app{n}")) == 50
        assert stores[1].all_statuses() == {"app0": {"i": 49}, "app1": {"i": 49}}
    finally:
        for s in stores:
            s.close()


def test_database_url_accepts_paths_and_urls(tmp_path: Path) -> None:
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    url = database_url(tmp_path / "a" / "b.db")
    assert url.startswith("sqlite:///")
    assert url.endswith("/a/b.db")
    assert (tmp_path / "a").is_dir()


def test_in_memory_url_shares_one_database() -> None:
    with Store.open("sqlite://") as store:
        store.save_status("app", {"x": 1})
        assert store.load_status("app") == {"x": 1}
