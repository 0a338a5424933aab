"""Queries for the append-mostly tables: sync operations and events.

An operation row is written before a sync starts, rewritten after each wave and closed when the sync
ends; rows still in phase Running after a restart are the syncs a crash interrupted (docs/reliability.md, F3).
Events are bounded per app: each insert trims that app's oldest rows beyond the retention limit, so
the table never grows without bound and no background job is needed.

A drift fight (someone keeps changing a field, self-heal keeps restoring it) would otherwise add one
operation per heal and push the real deployments out of the kept history. So a successful heal that
repeats the app's previous entry (same ``heal_key``: commit, objects, drifted fields, field managers)
is folded into that entry, whose ``sync_count`` grows (message and resources stay: they are the same
heal's), and retention drops every other kind of entry before it drops a deployment (``deployed``:
what ``gitward app rollback`` is for).

Rows come back as the camelCase dicts the API serves (see ``reconcile.service``). Functions take a
``Connection`` inside the caller's transaction. Messages are stored with any NUL character replaced
(a tool's output may hold one; PostgreSQL's text refuses it, SQLite's takes it): the same text on
both stores. Not here: redaction (callers store redacted text).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable, Row, Table, bindparam, delete, func, insert, select, update

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
    conn: Connection,
    *,
    app: str,
    revision: str,
    commit: str,
    trigger: str,
    started_at: float,
    initiator: str = "",
) -> int:
    result = conn.execute(
        _INSERT_OPERATION,
        {
            "app": app,
            "revision": revision,
            "commit_sha": commit,
            "triggered_by": trigger,
            "initiator": initiator[:256],
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


def storable(message: str) -> str:
    """``message`` as both stores keep it: NUL characters replaced by U+FFFD."""
    return message.replace("\x00", "\ufffd")


def change_operation(conn: Connection, op_id: int, values: Mapping[str, Any]) -> bool:
    """Update the given columns; ``resources`` (a list of dicts) is encoded here. False if no row."""
    encoded = dict(values)
    if "message" in encoded:
        encoded["message"] = storable(str(encoded["message"]))
    if "resources" in encoded:
        encoded["resources"] = dump_json(list(encoded["resources"]))
    if "phase" in encoded:
        encoded["phase"] = str(encoded["phase"])
    result = conn.execute(_update_operation(frozenset(encoded)), {**encoded, "op_id": op_id})
    return result.rowcount > 0


@dataclass(frozen=True)
class ClosedOperation:
    """The history entry that records a closed sync, and how many syncs it stands for."""

    id: int
    count: int


#: The heal key of a drift-triggered sync that found nothing left to write (the cache had not yet
#: seen the previous heal land): it joins the heal just before it rather than interrupting the run.
QUIET_HEAL = "quiet"


def close_operation(
    conn: Connection, op_id: int, values: Mapping[str, Any], *, heal_key: str
) -> ClosedOperation:
    """Close an operation. A heal that repeats the app's previous entry (a successful heal with the
    same key, or any successful heal of the same commit when this one wrote nothing) is folded into
    that entry: its ``sync_count`` grows, its end time becomes this heal's, and this row is dropped.

    KeyError when ``op_id`` has no row.
    """
    previous = _previous_entry(conn, op_id) if heal_key else None
    if previous is not None and previous.joins(heal_key):
        change_operation(conn, previous.id, {"finished_at": values["finished_at"]})
        conn.execute(_COUNT_ONE_MORE, {"op_id": previous.id})
        conn.execute(delete(operations).where(operations.c.id == op_id))
        return ClosedOperation(previous.id, previous.count + 1)
    if not change_operation(conn, op_id, {**values, "heal_key": heal_key}):
        raise KeyError(f"no operation with id {op_id}")
    return ClosedOperation(op_id, 1)


def delete_operation(conn: Connection, op_id: int) -> None:
    conn.execute(delete(operations).where(operations.c.id == op_id))


_SUCCEEDED = OperationPhase.SUCCEEDED.value
_COUNT_ONE_MORE = (
    update(operations)
    .where(operations.c.id == bindparam("op_id"))
    .values(sync_count=operations.c.sync_count + 1)
)


@dataclass(frozen=True)
class _Previous:
    """The entry before an operation, and whether both re-applied the same commit."""

    id: int
    phase: str
    heal_key: str
    count: int
    same_commit: bool

    def joins(self, heal_key: str) -> bool:
        if self.phase != _SUCCEEDED or not self.heal_key:
            return False
        return self.heal_key == heal_key or (heal_key == QUIET_HEAL and self.same_commit)


def _previous_entry(conn: Connection, op_id: int) -> _Previous | None:
    """The app's entry just before ``op_id`` (served by the (app, id) index)."""
    current = select(operations.c.app, operations.c.commit_sha).where(operations.c.id == op_id)
    found = conn.execute(current).first()
    if found is None:
        return None
    app, commit = found
    query = (
        select(
            operations.c.id,
            operations.c.phase,
            operations.c.heal_key,
            operations.c.sync_count,
            operations.c.commit_sha,
        )
        .where(operations.c.app == app, operations.c.id < op_id)
        .order_by(operations.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    return _Previous(
        id=int(row[0]),
        phase=str(row[1]),
        heal_key=str(row[2]),
        count=int(row[3]),
        same_commit=row[4] == commit,
    )


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
        "initiator": m["initiator"],
        "count": m["sync_count"],
        "deployed": bool(m["deployed"]),
        # When what this entry applied was in place (the last one, for folded heals).
        "deployedAt": m["finished_at"] if m["phase"] == _SUCCEEDED else None,
    }
    if with_resources:
        out["resources"] = load_json(m["resources"])
    return out


def trim_finished_operations(conn: Connection, *, app: str, keep: int) -> None:
    """Keep ``app``'s newest ``keep`` finished operations, deployments first: the oldest entries that
    deployed nothing new (heals, failures, re-applies) go before any deployment does, so a fight of
    heals can never push the rollback targets out. Running rows are never dropped."""
    finished = (operations.c.app == app) & (operations.c.phase != OperationPhase.RUNNING.value)
    total = conn.execute(select(func.count()).select_from(operations).where(finished)).scalar() or 0
    excess = int(total) - max(keep, 0)
    for deployed in (0, 1):
        if excess <= 0:
            return
        oldest = (
            select(operations.c.id)
            .where(finished, operations.c.deployed == deployed)
            .order_by(operations.c.id)
            .limit(excess)
        )
        ids = list(conn.execute(oldest).scalars())
        if ids:
            conn.execute(delete(operations).where(operations.c.id.in_(ids)))
        excess -= len(ids)


def trim_deployments(conn: Connection, *, op_id: int, keep: int) -> None:
    """Keep the newest ``keep`` deployments of the app that ran ``op_id`` (its
    ``revisionHistoryLimit``: how many rollback targets it wants kept); entries that deployed nothing
    are left to the per-app cap of ``trim_finished_operations``."""
    app = conn.execute(select(operations.c.app).where(operations.c.id == op_id)).scalar()
    if app is not None:
        where = (operations.c.app == app) & (operations.c.deployed == 1)
        _trim(conn, operations, where=where, keep=keep)


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
            "message": storable(message),
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
