"""Queries for the append-mostly tables: sync operations and events.

An operation row is written before a sync starts, rewritten after each wave and closed when the sync
ends; rows still in phase Running after a restart are the syncs a crash interrupted (RELIABILITY F3).
Events are bounded per app: each insert trims that app's oldest rows beyond the retention limit, so
the table never grows without bound and no background job is needed.

Rows come back as the camelCase dicts the API serves (see ``reconcile.service``). Functions take a
``Connection`` inside the caller's transaction. Not here: redaction (callers store redacted text).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Executable, Row, Table, bindparam, delete, insert, select, update

from gitward.core.status import OperationPhase
from gitward.store.records import dump_json, load_json
from gitward.store.schema import events, operations

_INSERT_OPERATION = insert(operations)
_INSERT_EVENT = insert(events)


@functools.cache
def _update_operation(columns: frozenset[str]) -> Executable:
    """``UPDATE operations SET <columns> WHERE id = :op_id``, built once per set of columns: building
    a statement per call cost more than running it."""
    values: dict[str, Any] = {name: bindparam(name) for name in sorted(columns)}
    return update(operations).where(operations.c.id == bindparam("op_id")).values(values)


def insert_operation(
    conn: Connection, *, app: str, revision: str, commit: str, trigger: str, started_at: float
) -> int:
    result = conn.execute(
        _INSERT_OPERATION,
        {
            "app": app,
            "revision": revision,
            "commit_sha": commit,
            "triggered_by": trigger,
            "phase": OperationPhase.RUNNING.value,
            "message": "",
            "started_at": started_at,
            "finished_at": None,
            "resources": "[]",
        },
    )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT into a table with an integer primary key always has one
    return int(key[0])


def change_operation(conn: Connection, op_id: int, values: Mapping[str, Any]) -> bool:
    """Update the given columns; ``resources`` (a list of dicts) is encoded here. False if no row."""
    encoded = dict(values)
    if "resources" in encoded:
        encoded["resources"] = dump_json(list(encoded["resources"]))
    if "phase" in encoded:
        encoded["phase"] = str(encoded["phase"])
    result = conn.execute(_update_operation(frozenset(encoded)), {**encoded, "op_id": op_id})
    return result.rowcount > 0


def read_operation(conn: Connection, op_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(operations).where(operations.c.id == op_id)).first()
    return None if row is None else operation_dict(row, with_resources=True)


def read_operations(
    conn: Connection, *, app: str | None, phase: str | None = None, limit: int | None, with_resources: bool
) -> list[dict[str, Any]]:
    query = select(operations).order_by(operations.c.id.desc())
    if app is not None:
        query = query.where(operations.c.app == app)
    if phase is not None:
        query = query.where(operations.c.phase == phase)
    if limit is not None:
        query = query.limit(limit)
    return [operation_dict(row, with_resources=with_resources) for row in conn.execute(query)]


def operation_dict(row: Row[Any], *, with_resources: bool) -> dict[str, Any]:
    m = row._mapping
    out: dict[str, Any] = {
        "id": m["id"],
        "app": m["app"],
        "revision": m["revision"],
        "commit": m["commit_sha"],
        "phase": m["phase"],
        "startedAt": m["started_at"],
        "finishedAt": m["finished_at"],
        "message": m["message"],
        "trigger": m["triggered_by"],
    }
    if with_resources:
        out["resources"] = load_json(m["resources"])
    return out


def trim_finished_operations(conn: Connection, *, app: str, keep: int) -> None:
    """Drop the oldest finished operations of ``app`` beyond ``keep``; Running rows are never dropped."""
    finished = operations.c.phase != OperationPhase.RUNNING.value
    _trim(conn, operations, where=(operations.c.app == app) & finished, keep=keep)


def insert_event(
    conn: Connection,
    *,
    app: str,
    time: float,
    type: str,
    reason: str,
    message: str,
    object_id: str,
    fields: Iterable[str],
    manager: str,
) -> int:
    result = conn.execute(
        _INSERT_EVENT,
        {
            "app": app,
            "time": time,
            "type": type,
            "reason": reason,
            "message": message,
            "object_id": object_id,
            "fields": dump_json(list(fields)),
            "manager": manager,
        },
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def trim_events(conn: Connection, *, app: str, keep: int) -> None:
    _trim(conn, events, where=events.c.app == app, keep=keep)


def read_events(conn: Connection, *, app: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(events).order_by(events.c.id.desc()).limit(limit)
    if app is not None:
        query = query.where(events.c.app == app)
    return [_event_dict(row) for row in conn.execute(query)]


def delete_history(conn: Connection, *, app: str) -> None:
    conn.execute(delete(operations).where(operations.c.app == app))
    conn.execute(delete(events).where(events.c.app == app))


def _event_dict(row: Row[Any]) -> dict[str, Any]:
    m = row._mapping
    fields: Sequence[str] = load_json(m["fields"])
    return {
        "id": m["id"],
        "app": m["app"],
        "time": m["time"],
        "type": m["type"],
        "reason": m["reason"],
        "message": m["message"],
        "object": m["object_id"],
        "fields": list(fields),
        "manager": m["manager"],
    }


def _trim(conn: Connection, table: Table, *, where: Any, keep: int) -> None:
    # Ids grow with time, so "the keep-th newest id" is the boundary; the (app, id) index serves it.
    boundary = conn.execute(
        select(table.c.id).where(where).order_by(table.c.id.desc()).offset(max(keep, 0)).limit(1)
    ).scalar()
    if boundary is not None:
        conn.execute(delete(table).where(where, table.c.id <= boundary))
