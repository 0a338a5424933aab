"""``Store``: everything gitward remembers between reconciles, behind one synchronous class.

The control loop calls these methods directly from asyncio code, so each call is one short
transaction (a handful of statements, batched with executemany) on one shared engine. Writes that
belong together run in one transaction: an inventory is replaced whole, an app is deleted whole, and
inside ``batch()`` every write of one reconcile's outcome commits once (a commit costs more than the
statements of a small app). A sync operation is recorded before it starts, with the plan it runs, and
its progress after every step, so ``unfinished_operations()`` after a restart lists exactly the syncs
a crash interrupted and ``operation_plan()`` says where each one stood.

Events and finished operations are bounded per app. Trimming costs a query, so it runs on every
``keep // 20``-th insert of an app rather than on each one: an app holds at most ``keep`` plus that
many rows, and a cold start of many apps, one event each, trims nothing. Operations are trimmed
deployments last, and repeated heals share one entry (``history``), so drift fights cannot push the
rollback targets out.

With several replicas on one database (``owners``), every write of an app's rows first proves, in
its own transaction, that this process owns the app (``owner_check``); writes that belong to no app
(requests, tokens) need no proof.

The store never logs and never formats stored values into errors: callers pass already redacted
text, and what comes back is the caller's own data. Not here: the CR status writer of in-cluster
mode, and any interpretation of status or verdict documents (they are opaque JSON objects).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from gitward.core.keys import InventoryEntry
from gitward.core.status import OperationPhase
from gitward.store import history, owners, records, requests
from gitward.store.database import WRITE_OPTION, create_store_engine
from gitward.store.owners import OwnerCheck
from gitward.store.schema import migrate

DEFAULT_MAX_EVENTS_PER_APP = 1000
DEFAULT_MAX_OPERATIONS_PER_APP = 200


class StoreClosed(RuntimeError):
    """A method was called after ``close()``."""


class Store:
    """Persistence for app status, inventories, apply verdicts, operations, events and fetch state."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_events_per_app: int = DEFAULT_MAX_EVENTS_PER_APP,
        max_operations_per_app: int = DEFAULT_MAX_OPERATIONS_PER_APP,
    ) -> None:
        """Use ``Store.open``; this takes an engine whose schema is already migrated."""
        self._engine: Engine | None = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self.max_events_per_app = max_events_per_app
        self.max_operations_per_app = max_operations_per_app
        self._batch: Connection | None = None
        self._batch_thread = 0
        self._inserts_since_trim: dict[tuple[str, str], int] = {}
        self.owner_check: OwnerCheck | None = None  # several replicas: ``owners``
        self._operation_apps: dict[int, str] = {}  # operations started here -> their app

    @classmethod
    def open(
        cls,
        path_or_url: str | Path,
        *,
        max_events_per_app: int = DEFAULT_MAX_EVENTS_PER_APP,
        max_operations_per_app: int = DEFAULT_MAX_OPERATIONS_PER_APP,
        idle_in_transaction_timeout: float | None = None,
    ) -> Store:
        """Open (creating if missing) the database at a file path or SQLAlchemy URL, migrating it.

        ``idle_in_transaction_timeout``: PostgreSQL ends a session of this store that sits idle in a
        transaction longer (a paused replica holding a row lock: ``owners``)."""
        engine = create_store_engine(path_or_url, idle_in_transaction_timeout=idle_in_transaction_timeout)
        try:
            with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
                migrate(conn)
        except BaseException:
            engine.dispose()
            raise
        return cls(
            engine,
            max_events_per_app=max_events_per_app,
            max_operations_per_app=max_operations_per_app,
        )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self._live_engine().dialect.name

    # -- app status ---------------------------------------------------------------------------

    def save_status(self, app: str, status: dict[str, Any]) -> None:
        with self._write(app) as conn:
            records.put_document(conn, kind=records.STATUS, name=app, data=status)

    def load_status(self, app: str) -> dict[str, Any] | None:
        with self._read() as conn:
            return records.get_document(conn, kind=records.STATUS, name=app)

    def all_statuses(self) -> dict[str, dict[str, Any]]:
        with self._read() as conn:
            return records.all_documents(conn, kind=records.STATUS)

    def all_status_texts(self) -> dict[str, str]:
        """Every app status as stored JSON text: a replica showing the others' apps compares the
        texts and decodes only those that changed (``records.as_document``)."""
        with self._read() as conn:
            return records.all_document_texts(conn, kind=records.STATUS)

    # -- inventory ----------------------------------------------------------------------------

    def save_inventory(self, app: str, entries: Iterable[InventoryEntry]) -> None:
        """Replace the whole inventory of ``app`` in one transaction (an empty list clears it)."""
        with self._write(app) as conn:
            records.replace_inventory(conn, app=app, entries=entries)

    def load_inventory(self, app: str) -> list[InventoryEntry]:
        """The owned objects of ``app``, sorted; an unknown app has an empty inventory."""
        with self._read() as conn:
            return records.read_inventory(conn, app=app)

    def apps_with_inventory(self) -> list[str]:
        with self._read() as conn:
            return records.inventory_apps(conn)

    # -- what is kept of an app for its removal, and after it ---------------------------------

    def save_app_record(self, app: str, data: dict[str, Any]) -> None:
        """What removing ``app`` needs once it left the config (forgotten with it by ``delete_app``)."""
        with self._write(app) as conn:
            records.put_document(conn, kind=records.APP_RECORD, name=app, data=data)

    def app_records(self) -> dict[str, dict[str, Any]]:
        with self._read() as conn:
            return records.all_documents(conn, kind=records.APP_RECORD)

    def save_removed_app(self, app: str, data: dict[str, Any]) -> None:
        """The tombstone of an app gitward removed (kept after ``delete_app``)."""
        with self._write(app) as conn:
            records.put_document(conn, kind=records.REMOVED_APP, name=app, data=data)

    def removed_apps(self) -> dict[str, dict[str, Any]]:
        with self._read() as conn:
            return records.all_documents(conn, kind=records.REMOVED_APP)

    def forget_removed_app(self, app: str) -> None:
        """Drop the tombstone of ``app`` (an app of that name is declared again)."""
        with self._write(app) as conn:
            records.delete_documents(conn, kinds=(records.REMOVED_APP,), name=app)

    # -- ApplicationSets ----------------------------------------------------------------------

    def save_appset_state(self, name: str, data: dict[str, Any]) -> None:
        """What the set ``name`` made and how its last generation went (reconcile/appsets.py)."""
        with self._write() as conn:
            records.put_document(conn, kind=records.APPSET, name=name, data=data)

    def appset_states(self) -> dict[str, dict[str, Any]]:
        with self._read() as conn:
            return records.all_documents(conn, kind=records.APPSET)

    def forget_appset_state(self, name: str) -> None:
        with self._write() as conn:
            records.delete_documents(conn, kinds=(records.APPSET,), name=name)

    # -- apply verdicts -----------------------------------------------------------------------

    def save_verdicts(self, app: str, data: dict[str, Any]) -> None:
        with self._write(app) as conn:
            records.put_document(conn, kind=records.VERDICTS, name=app, data=data)

    def load_verdicts(self, app: str) -> dict[str, Any]:
        """The verdict cache of ``app``; empty when none was saved (a cold cache, not an error)."""
        with self._read() as conn:
            return records.get_document(conn, kind=records.VERDICTS, name=app) or {}

    # -- per-repository fetch state -----------------------------------------------------------

    def save_source_state(self, url: str, data: dict[str, Any]) -> None:
        with self._write() as conn:
            records.put_document(conn, kind=records.SOURCE, name=url, data=data)

    def load_source_state(self, url: str) -> dict[str, Any] | None:
        with self._read() as conn:
            return records.get_document(conn, kind=records.SOURCE, name=url)

    # -- operations ---------------------------------------------------------------------------

    def start_operation(
        self,
        app: str,
        *,
        revision: str,
        commit: str,
        trigger: str,
        started_at: float,
        inventory: Iterable[InventoryEntry] = (),
        initiator: str = "",
        plan: dict[str, Any] | None = None,
    ) -> int:
        """Record a sync in phase Running before it touches the cluster; returns its id.

        ``inventory``: entries the sync may create, added to the app's inventory in the same commit,
        so a crash at any point of the sync leaves nothing it wrote unknown (a write-ahead record).
        ``plan``: the sync plan it runs (with its digest), kept with the operation in that commit.
        """
        with self._write(app) as conn:
            op_id = history.insert_operation(
                conn,
                app=app,
                revision=revision,
                commit=commit,
                trigger=trigger,
                started_at=started_at,
                initiator=initiator,
            )
            records.add_inventory(conn, app=app, entries=inventory)
            if plan is not None:
                records.put_document(conn, kind=records.SYNC_PLAN, name=str(op_id), data=plan)
            if self._trim_due("operations", app, self.max_operations_per_app):
                history.trim_finished_operations(conn, app=app, keep=self.max_operations_per_app)
                records.drop_orphan_operation_documents(conn)
        self._operation_apps[op_id] = app
        return op_id

    def save_progress(
        self, op_id: int, *, progress: dict[str, Any], message: str, resources: list[dict[str, Any]]
    ) -> None:
        """After a step of a running sync: its progress, message and resources, in one commit."""
        with self._write(operation=op_id) as conn:
            values = {"phase": OperationPhase.RUNNING, "message": message, "resources": resources}
            if not history.change_operation(conn, op_id, values):
                raise KeyError(f"no operation with id {op_id}")
            records.put_document(conn, kind=records.SYNC_PROGRESS, name=str(op_id), data=progress)

    def operation_plan(self, op_id: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The plan an operation runs and its last saved progress (each None when none was saved)."""
        with self._read() as conn:
            plan = records.get_document(conn, kind=records.SYNC_PLAN, name=str(op_id))
            progress = records.get_document(conn, kind=records.SYNC_PROGRESS, name=str(op_id))
        return plan, progress

    def update_operation(
        self,
        op_id: int,
        *,
        phase: OperationPhase | str,
        message: str,
        resources: list[dict[str, Any]],
        commit: str | None = None,
    ) -> None:
        """Progress after a wave: phase, message and the resources so far (replacing the old list)."""
        values: dict[str, Any] = {"phase": phase, "message": message, "resources": resources}
        if commit is not None:
            values["commit_sha"] = commit
        self._change_operation(op_id, values)

    def finish_operation(
        self,
        op_id: int,
        *,
        phase: OperationPhase | str,
        message: str,
        resources: list[dict[str, Any]],
        finished_at: float,
        deployed: bool = False,
        heal_key: str = "",
        deployments_kept: int | None = None,
    ) -> history.ClosedOperation:
        """Close the operation; returns the history entry that records it (id and count).

        ``deployed``: it deployed a new desired state (kept longest by retention). ``heal_key``: it was
        a successful heal; one equal to the app's previous entry is folded into that entry (whose id
        is returned) instead of adding one per heal of a drift fight. ``deployments_kept``: the app's
        ``revisionHistoryLimit``; recording a deployment drops the app's deployments beyond it, in the
        same commit, so the app never holds more rollback targets than it asked for.
        """
        values = {
            "phase": phase,
            "message": message,
            "resources": resources,
            "finished_at": finished_at,
            "deployed": int(deployed),
        }
        with self._write(operation=op_id) as conn:
            closed = history.close_operation(conn, op_id, values, heal_key=heal_key)
            if deployed and deployments_kept is not None:
                history.trim_deployments(conn, op_id=closed.id, keep=deployments_kept)
                records.drop_orphan_operation_documents(conn)
            return closed

    def discard_operation(self, op_id: int) -> None:
        """Forget an operation that changed nothing and that nobody asked for (a pass that only
        re-applied what was in place): the app's status records the pass, the history does not."""
        with self._write(operation=op_id) as conn:
            history.delete_operation(conn, op_id)
            records.drop_orphan_operation_documents(conn)

    def get_operation(self, op_id: int) -> dict[str, Any] | None:
        with self._read() as conn:
            return history.read_operation(conn, op_id)

    def list_operations(
        self, app: str, *, limit: int = 50, with_resources: bool = True
    ) -> list[dict[str, Any]]:
        """Operations of ``app``, newest first."""
        with self._read() as conn:
            return history.read_operations(conn, app=app, limit=limit, with_resources=with_resources)

    def unfinished_operations(self) -> list[dict[str, Any]]:
        """Operations still Running, across apps, oldest first: the syncs to resume after a crash."""
        with self._read() as conn:
            rows = history.read_operations(
                conn, app=None, phase=OperationPhase.RUNNING.value, limit=None, with_resources=True
            )
        return rows[::-1]

    # -- events -------------------------------------------------------------------------------

    def add_event(
        self,
        app: str,
        *,
        type: str,
        reason: str,
        message: str,
        object_id: str = "",
        fields: Iterable[str] = (),
        manager: str = "",
        time: float,
    ) -> int:
        """Append an event and drop the app's oldest ones beyond ``max_events_per_app``."""
        with self._write(app) as conn:
            event_id = history.insert_event(
                conn,
                app=app,
                time=time,
                type=type,
                reason=reason,
                message=message,
                object_id=object_id,
                fields=fields,
                manager=manager,
            )
            if self._trim_due("events", app, self.max_events_per_app):
                history.trim_events(conn, app=app, keep=self.max_events_per_app)
        return event_id

    def list_events(self, app: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        """Events of one app (or all apps), newest first."""
        with self._read() as conn:
            return history.read_events(conn, app=app, limit=limit)

    # -- whole apps ---------------------------------------------------------------------------

    def delete_app(self, app: str) -> None:
        """Forget an app: status, verdicts, inventory, operations and events, in one transaction."""
        with self._write(app) as conn:
            records.delete_documents(conn, kinds=records.APP_DOCUMENT_KINDS, name=app)
            records.delete_inventory(conn, app=app)
            history.delete_history(conn, app=app)
            records.drop_orphan_operation_documents(conn)
        for table in ("operations", "events"):
            self._inserts_since_trim.pop((table, app), None)

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Writes made inside share one transaction, committed when the block ends, also when it
        raises (the writes stay, as they would have without a batch); a database error rolls it back.

        For code without an ``await`` inside: another task's writes would otherwise join it. Reads
        made inside on the same thread see the batch's own writes.
        """
        if self._batch is not None:
            yield
            return
        self._live_engine()
        with self._writer.connect() as conn:
            transaction = conn.begin()
            self._batch, self._batch_thread = conn, threading.get_ident()
            try:
                yield
            except SQLAlchemyError:
                transaction.rollback()
                raise
            except BaseException:
                transaction.commit()  # keep what was written, as unbatched writes would have been
                raise
            else:
                transaction.commit()
            finally:
                self._batch = None

    def _trim_due(self, table: str, app: str, keep: int) -> bool:
        """Whether this insert should trim ``app``'s rows of ``table`` (every ``keep // 20``-th)."""
        key = (table, app)
        count = self._inserts_since_trim.get(key, 0) + 1
        if count >= max(1, keep // 20):
            self._inserts_since_trim.pop(key, None)
            return True
        self._inserts_since_trim[key] = count
        return False

    def _change_operation(self, op_id: int, values: dict[str, Any]) -> None:
        with self._write(operation=op_id) as conn:
            found = history.change_operation(conn, op_id, values)
        if not found:
            raise KeyError(f"no operation with id {op_id}")

    def _live_engine(self) -> Engine:
        if self._engine is None:
            raise StoreClosed("the store is closed")
        return self._engine

    def _in_batch(self) -> Connection | None:
        if self._batch is not None and self._batch_thread == threading.get_ident():
            return self._batch
        return None

    @contextmanager
    def _write(self, app: str | None = None, *, operation: int | None = None) -> Iterator[Connection]:
        """A write transaction (the batch's, inside one); with several replicas, a write of an app's
        rows (``app``, or the app of ``operation``) first proves this process owns it (``owners``)."""
        found = self._in_batch()
        if found is not None:
            self._prove_owner(found, app, operation)
            yield found
            return
        self._live_engine()  # a closed store says so instead of failing inside SQLAlchemy
        with self._writer.begin() as conn:
            self._prove_owner(conn, app, operation)
            yield conn

    def _prove_owner(self, conn: Connection, app: str | None, operation: int | None) -> None:
        if self.owner_check is None:
            return
        if operation is not None:
            app = self._operation_apps.get(operation) or owners.app_of_operation(conn, operation)
        if app is not None:
            self.owner_check.check(conn, app)

    # -- several replicas ---------------------------------------------------------------------

    def take_apps(
        self, apps: Iterable[str], *, holder: str, now: float, lock_timeout: float
    ) -> dict[str, int]:
        """Become the owner of ``apps`` (``owners.take``); the epoch taken for each."""
        with self._writer.begin() as conn:
            return owners.take(conn, list(apps), holder=holder, now=now, lock_timeout=lock_timeout)

    def load_apps(self, apps: Iterable[str]) -> dict[str, owners.AppRows]:
        """Status, verdicts and inventory of many apps at once (a replica taking them over)."""
        with self._read() as conn:
            return owners.read_apps(conn, list(apps))

    def app_owners(self) -> dict[str, str]:
        """Each app's owning process, as the database says now."""
        with self._read() as conn:
            return owners.owners(conn)

    def record_request(self, kind: str, target: str, payload: Any, *, origin: str, at: float) -> int:
        """A push or action one replica received, for the others (``requests``); its id."""
        with self._write() as conn:
            return requests.insert_request(
                conn, kind=kind, target=target, payload=payload, origin=origin, at=at
            )

    def requests_after(self, after: int, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Requests with an id above ``after``, oldest first."""
        with self._read() as conn:
            return requests.read_requests(conn, after=after, limit=limit)

    def answer_request(self, request_id: int, app: str, result: Any, *, at: float) -> bool:
        """The owner of ``app`` answers an action asked of it; whether this was the first answer."""
        with self._write(app) as conn:
            return requests.answer(conn, request_id, result=result, at=at)

    def request_answer(self, request_id: int) -> Any:
        with self._read() as conn:
            return requests.read_answer(conn, request_id)

    def last_request_id(self) -> int:
        with self._read() as conn:
            return requests.last_id(conn)

    def trim_requests(self, *, before: float) -> int:
        """Forget requests recorded before ``before``; how many."""
        with self._write() as conn:
            return requests.delete_before(conn, before=before)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        found = self._in_batch()
        if found is not None:
            yield found
            return
        with self._live_engine().connect() as conn:
            yield conn
