"""Queries for the current-state tables: opaque JSON documents and per-app inventories.

Each function takes an open ``Connection`` inside the caller's transaction, so ``Store`` decides
transaction boundaries and a multi-step write (replace an inventory) stays atomic. Documents are
upserted with the dialect's ``INSERT ... ON CONFLICT`` (SQLite and PostgreSQL both have it); other
dialects fall back to update-then-insert. Not here: history (``history.py``), engine setup.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, Executable, String, bindparam, cast, delete, insert, select, update

from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.store.schema import documents, inventory, operations

# Document kinds: one row per (kind, name).
STATUS = "status"
VERDICTS = "verdicts"
SOURCE = "source"
# Per sync operation, named by its id: the plan it runs (written with the operation, before the
# first write) and its progress (rewritten after every step), so a restart resumes it.
SYNC_PLAN = "syncplan"
SYNC_PROGRESS = "syncprogress"
OPERATION_DOCUMENT_KINDS = (SYNC_PLAN, SYNC_PROGRESS)

# What gitward must still know of an app after it left the config (its deletion policy, cluster,
# parent), kept with the app; and the tombstone of an app gitward removed, kept after it.
APP_RECORD = "apprecord"
REMOVED_APP = "removed-app"
# What an ApplicationSet last made: the Applications (documents) and how its last generation went.
APPSET = "appset"

APP_DOCUMENT_KINDS = (STATUS, VERDICTS, APP_RECORD)


def dump_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def load_json(text: str) -> Any:
    return orjson.loads(text)


def _dialect_module(dialect: str) -> Any:
    """SQLAlchemy's dialect module with the upserts (``insert ... on conflict``), imported for the
    database in use only: loading PostgreSQL's costs a SQLite server's start-up for nothing."""
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite
    from sqlalchemy.dialects import postgresql

    return postgresql


@functools.cache
def _upsert_document(dialect: str) -> Executable:
    """The dialect's upsert, built once: building the statement per call cost more than running it."""
    stmt = _dialect_module(dialect).insert(documents)
    upsert: Executable = stmt.on_conflict_do_update(
        index_elements=["kind", "name"], set_={"data": stmt.excluded.data}
    )
    return upsert


def put_document(conn: Connection, *, kind: str, name: str, data: dict[str, Any]) -> None:
    text = dump_json(data)
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        conn.execute(_upsert_document(dialect), {"kind": kind, "name": name, "data": text})
        return
    where = (documents.c.kind == kind) & (documents.c.name == name)
    if conn.execute(update(documents).where(where).values(data=text)).rowcount == 0:
        conn.execute(insert(documents).values(kind=kind, name=name, data=text))


def get_document(conn: Connection, *, kind: str, name: str) -> dict[str, Any] | None:
    where = (documents.c.kind == kind) & (documents.c.name == name)
    text = conn.execute(select(documents.c.data).where(where)).scalar()
    return None if text is None else _as_dict(load_json(text))


def all_documents(conn: Connection, *, kind: str) -> dict[str, dict[str, Any]]:
    return {name: as_document(text) for name, text in all_document_texts(conn, kind=kind).items()}


def all_document_texts(conn: Connection, *, kind: str) -> dict[str, str]:
    """Every document of ``kind`` as its stored JSON text, undecoded (``as_document`` decodes one)."""
    rows = conn.execute(
        select(documents.c.name, documents.c.data).where(documents.c.kind == kind).order_by(documents.c.name)
    )
    return {name: text for name, text in rows}


def as_document(text: str) -> dict[str, Any]:
    return _as_dict(load_json(text))


def delete_documents(conn: Connection, *, kinds: Iterable[str], name: str) -> None:
    conn.execute(delete(documents).where(documents.c.kind.in_(list(kinds)), documents.c.name == name))


def drop_orphan_operation_documents(conn: Connection) -> None:
    """Plans and progress of operations no longer kept (trimmed, folded into an earlier heal)."""
    kept = select(cast(operations.c.id, String))
    conn.execute(
        delete(documents).where(documents.c.kind.in_(OPERATION_DOCUMENT_KINDS), documents.c.name.not_in(kept))
    )


_DELETE_INVENTORY = delete(inventory).where(inventory.c.app == bindparam("app"))
_INSERT_INVENTORY = insert(inventory)


def replace_inventory(conn: Connection, *, app: str, entries: Iterable[InventoryEntry]) -> int:
    """Replace the whole inventory of ``app``; duplicates collapse (the last version wins)."""
    rows = {entry.key.id: entry.version for entry in entries}
    conn.execute(_DELETE_INVENTORY, {"app": app})
    if rows:
        conn.execute(
            _INSERT_INVENTORY,
            [{"app": app, "object_id": oid, "version": version} for oid, version in rows.items()],
        )
    return len(rows)


@functools.cache
def _insert_inventory_if_absent(dialect: str) -> Executable:
    stmt: Executable = (
        _dialect_module(dialect).insert(inventory).on_conflict_do_nothing(index_elements=["app", "object_id"])
    )
    return stmt


def add_inventory(conn: Connection, *, app: str, entries: Iterable[InventoryEntry]) -> int:
    """Add entries to the inventory of ``app``, keeping any it already lists; returns how many were
    given. Nothing is read or deleted, so recording a sync's new objects costs one statement."""
    rows = [{"app": app, "object_id": e.key.id, "version": e.version} for e in entries]
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        conn.execute(_insert_inventory_if_absent(dialect), rows)
        return len(rows)
    listed = {entry.key.id for entry in read_inventory(conn, app=app)}
    fresh = [row for row in rows if row["object_id"] not in listed]
    if fresh:
        conn.execute(_INSERT_INVENTORY, fresh)
    return len(rows)


def read_inventory(conn: Connection, *, app: str) -> list[InventoryEntry]:
    rows = conn.execute(
        select(inventory.c.object_id, inventory.c.version)
        .where(inventory.c.app == app)
        .order_by(inventory.c.object_id)
    )
    return sorted(InventoryEntry(ResourceKey.from_id(oid), version) for oid, version in rows)


def inventory_apps(conn: Connection) -> list[str]:
    rows = conn.execute(select(inventory.c.app).distinct().order_by(inventory.c.app))
    return [app for (app,) in rows]


def delete_inventory(conn: Connection, *, app: str) -> None:
    conn.execute(delete(inventory).where(inventory.c.app == app))


def _as_dict(value: Any) -> dict[str, Any]:
    # Documents are always written from dicts; anything else means a foreign writer touched the row.
    if not isinstance(value, dict):
        raise TypeError("stored document is not a JSON object")
    return value
