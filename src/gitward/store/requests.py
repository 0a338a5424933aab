"""Requests one replica received for apps other replicas may own: pushes and user actions.

A webhook or an API call reaches whichever replica the Service picked; the apps are spread over all
of them. The receiver records the request here; every replica reads the rows recorded after the last
one it saw (``reconcile/pushes.py``) and acts on those of its own apps; an action's owner writes its
answer in ``result``, which the receiver waits for. Ids come from the database, so readers never
compare clocks; ``at`` (the receiver's clock) only decides when the leader trims old rows.
Not here: what a request does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from gitward.store.records import dump_json, load_json
from gitward.store.schema import replica_requests

PUSH = "push"
ACTION = "action"


def insert_request(conn: Connection, *, kind: str, target: str, payload: Any, origin: str, at: float) -> int:
    result = conn.execute(
        insert(replica_requests)
        .values(kind=kind, target=target, payload=dump_json(payload), origin=origin, at=at)
        .returning(replica_requests.c.id)
    )
    return int(result.scalar_one())


def read_requests(conn: Connection, *, after: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            replica_requests.c.id,
            replica_requests.c.kind,
            replica_requests.c.target,
            replica_requests.c.payload,
            replica_requests.c.origin,
            replica_requests.c.done_at,
        )
        .where(replica_requests.c.id > after)
        .order_by(replica_requests.c.id)
        .limit(limit)
    )
    return [
        {
            "id": int(row.id),
            "kind": str(row.kind),
            "target": str(row.target),
            "payload": load_json(row.payload),
            "origin": str(row.origin),
            "done": row.done_at is not None,
        }
        for row in rows
    ]


def answer(conn: Connection, request_id: int, *, result: Any, at: float) -> bool:
    """Record the answer to a request once (a second answer changes nothing); whether it was first."""
    done = conn.execute(
        update(replica_requests)
        .where(replica_requests.c.id == request_id, replica_requests.c.done_at.is_(None))
        .values(result=dump_json(result), done_at=at)
    )
    return bool(done.rowcount)


def read_answer(conn: Connection, request_id: int) -> Any:
    """The answer to a request (None while there is none)."""
    text = conn.execute(select(replica_requests.c.result).where(replica_requests.c.id == request_id)).scalar()
    return None if text is None else load_json(text)


def last_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(replica_requests.c.id), 0))).scalar_one())


def delete_before(conn: Connection, *, before: float) -> int:
    result = conn.execute(delete(replica_requests).where(replica_requests.c.at < before))
    return int(result.rowcount or 0)
