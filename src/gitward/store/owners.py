"""Which replica owns each app, proved inside every write of that app's rows.

With several replicas on one PostgreSQL database, a replica's in-process fence (``replicas/fence.py``)
stops its writes once it cannot prove it still owns an app; but a process can be paused between that
check and its write. So the database proves it too, in the write's own transaction:

- ``take``: a replica that starts owning apps writes itself into their ``app_owners`` rows with a
  new epoch (``SELECT ... FOR UPDATE``, then update or insert). The row lock waits for any
  transaction of the previous owner still holding the row, so the take happens after the previous
  owner's last write committed, never in the middle of it; ``lock_timeout`` bounds the wait (a take
  that times out is tried at the next round).
- ``check``: every write of an app's rows first reads that app's row ``FOR SHARE`` and goes on only
  when it names this process and the epoch it took. The shared lock holds until the write commits,
  so no take can slip in between the check and the write. A paused process holding such a lock is
  cut off by the server (``idle_in_transaction_session_timeout``, set per connection when the store is
  opened for several replicas), which rolls its transaction back and frees the row.

A process that resumes from a pause after another took its app finds another holder or epoch and
writes nothing (``Fenced``). SQLite has no server to share, so several replicas need PostgreSQL
(``gitward run`` refuses otherwise); on SQLite these statements run without the locks.
Deliberately not here: deciding what a replica owns (``reconcile/replicas.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, text, update

from gitward.core.errors import Fenced
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.store.records import STATUS, VERDICTS, load_json
from gitward.store.schema import app_owners, documents, inventory, operations

#: Apps per statement when taking many at once.
_CHUNK = 500


class OwnerCheck:
    """Checks a write of an app's rows against ``app_owners``; ``epochs`` are this process's takes."""

    def __init__(self, *, holder: str, epochs: Mapping[str, int], may_write: Callable[[str], None]) -> None:
        self.holder = holder
        self.epochs = epochs  # shared with the in-process fence: app -> epoch taken
        self._may_write = may_write  # the in-process fence: raises Fenced

    def check(self, conn: Connection, app: str) -> None:
        self._may_write(app)
        row = conn.execute(
            select(app_owners.c.holder, app_owners.c.epoch)
            .where(app_owners.c.app == app)
            .with_for_update(read=True)
        ).first()
        if row is None or row.holder != self.holder or row.epoch != self.epochs.get(app):
            raise Fenced(f"application {app!r} is owned by another replica now: write refused")


def take(
    conn: Connection, apps: Collection[str], *, holder: str, now: float, lock_timeout: float
) -> dict[str, int]:
    """Make ``holder`` the owner of ``apps`` with a new epoch each; the epochs."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL lock_timeout = {max(1, int(lock_timeout * 1000))}"))
    names = sorted(set(apps))
    taken: dict[str, int] = {}
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        rows = conn.execute(
            select(app_owners.c.app, app_owners.c.epoch)
            .where(app_owners.c.app.in_(chunk))
            .order_by(app_owners.c.app)
            .with_for_update()
        ).all()
        known = {str(row.app): int(row.epoch) for row in rows}
        if known:
            conn.execute(
                update(app_owners)
                .where(app_owners.c.app == bindparam("name"))
                .values(holder=holder, epoch=bindparam("next"), taken_at=now),
                [{"name": name, "next": epoch + 1} for name, epoch in known.items()],
            )
        fresh = [name for name in chunk if name not in known]
        if fresh:
            conn.execute(
                insert(app_owners), [{"app": n, "holder": holder, "epoch": 1, "taken_at": now} for n in fresh]
            )
        taken.update({name: epoch + 1 for name, epoch in known.items()})
        taken.update(dict.fromkeys(fresh, 1))
    return taken


def owners(conn: Connection) -> dict[str, str]:
    """Each app's owning holder, as the database says now."""
    rows = conn.execute(select(app_owners.c.app, app_owners.c.holder))
    return {str(row.app): str(row.holder) for row in rows}


def app_of_operation(conn: Connection, op_id: int) -> str | None:
    """The app an operation belongs to (None: no such operation)."""
    found = conn.execute(select(operations.c.app).where(operations.c.id == op_id)).scalar()
    return None if found is None else str(found)


@dataclass
class AppRows:
    """What the store keeps of one app, read at once when a replica starts owning it."""

    status: dict[str, Any] | None = None
    verdicts: dict[str, Any] = field(default_factory=dict)
    inventory: list[InventoryEntry] = field(default_factory=list)


def read_apps(conn: Connection, apps: Collection[str]) -> dict[str, AppRows]:
    """Status, verdicts and inventory of ``apps``, a few statements per 500 apps."""
    out = {name: AppRows() for name in apps}
    names = sorted(out)
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        docs = conn.execute(
            select(documents.c.kind, documents.c.name, documents.c.data).where(
                documents.c.kind.in_((STATUS, VERDICTS)), documents.c.name.in_(chunk)
            )
        )
        for kind, name, data in docs:
            value = load_json(data)
            if isinstance(value, dict):
                if kind == STATUS:
                    out[name].status = value
                else:
                    out[name].verdicts = value
        rows = conn.execute(
            select(inventory.c.app, inventory.c.object_id, inventory.c.version).where(
                inventory.c.app.in_(chunk)
            )
        )
        for app, object_id, version in rows:
            out[app].inventory.append(InventoryEntry(ResourceKey.from_id(object_id), version))
    for rows_of in out.values():
        rows_of.inventory.sort()
    return out
