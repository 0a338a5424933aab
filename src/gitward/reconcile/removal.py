"""Removing an app: what happens to its objects when it leaves the config or is deleted by a person.

Its ``deletionPolicy`` (``model/application.py``), remembered in the app's record so it is known
after the app has left the config (``Registry`` writes it), decides:
- ``orphan`` (the default): the objects stay; their ownership marks are taken off (``apply.release``,
  a patch the API server applies only while the mark still names this app);
- ``foreground`` / ``background``: the objects of its stored inventory whose live mark names this app
  and this object are deleted with that propagation policy (``apply.prune``, the same ownership
  proof as any prune; an object marked by another app is never touched).
Then the app is forgotten by the store (status, inventory, history, events) and a tombstone is kept
(a ``removed-app`` document: time, policy, who asked, the objects released). One event on the app's
name and one log line say what was done.

A removed app's name is *released*: a mark naming it binds nobody, so an app that renders one of its
objects adopts it (``apply.guard``), with an ``Adopted`` event naming the old owner. A mark naming an
app this gitward never knew still refuses: another gitward may own it. The tombstone is dropped when
an app of that name is declared again.

A removal that cannot finish (the cluster unreachable, a delete refused) keeps what is left in the
app's inventory, says why in a Warning event and is tried again every ``RETRY_SECONDS``. With several
replicas the replica that owns the app's name removes it; the others keep it pending and skip it.

Deliberately not here: deciding which apps left (``registry``, ``engine``), the HTTP route.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.apply import prune, release
from gitward.apply.prune import awaiting_deletion
from gitward.core.changes import Action, ChangeSet
from gitward.core.clock import Clock
from gitward.core.errors import Fenced, GitwardError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.marks import TRACKING_ANNOTATION, owner_of
from gitward.model import IN_CLUSTER
from gitward.model.application import DEFAULT_DELETION_POLICY
from gitward.reconcile.clusters import Clusters
from gitward.reconcile.records import Records
from gitward.reconcile.registry import Registry
from gitward.replicas import writing_for
from gitward.store import Store

log = logging.getLogger("gitward.engine")

POLICIES = ("orphan", "foreground", "background")
#: How often a removal that could not finish is tried again.
RETRY_SECONDS = 30.0
#: Objects named in a tombstone (enough to name the old owner when they are adopted).
MAX_TOMBSTONE_OBJECTS = 10_000


@dataclass(frozen=True)
class Removal:
    """One app to remove: with which policy, why, and who asked ("" for the engine itself)."""

    app: str
    policy: str
    why: str
    initiator: str = ""
    # The lock of the app's last runtime: a pass still running finishes before its objects are touched.
    lock: asyncio.Lock | None = field(default=None, compare=False)


class Removals:
    """Runs removals, keeps the tombstones, and answers who a released object belonged to."""

    def __init__(
        self,
        *,
        store: Store,
        registry: Registry,
        clusters: Clusters,
        records: Records,
        clock: Clock,
        on_removed: Callable[[str], None] = lambda _name: None,
    ) -> None:
        self._on_removed = on_removed  # apps refused for this owner's marks may go now
        self._store = store
        self._registry = registry
        self._clusters = clusters
        self._records = records
        self._clock = clock
        self._tombstones: dict[str, dict[str, Any]] = {}
        self._released_objects: dict[ResourceKey, str] = {}
        self._pending: dict[str, Removal] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._retry: asyncio.Task[None] | None = None

    def load(self) -> None:
        """The tombstones kept by earlier runs; those of apps declared again are dropped."""
        for name, data in self._store.removed_apps().items():
            self._keep(name, data)
        self.declared(self._registry.runtimes)

    # -- what the write side asks -----------------------------------------------------------------------

    def released(self) -> frozenset[str]:
        """Names of apps this gitward removed, and not declared again: their marks bind nobody."""
        return frozenset(n for n in self._tombstones if n not in self._registry.runtimes)

    def former_owner(self, key: ResourceKey, live: Mapping[str, Any] | None) -> str | None:
        """The removed app ``live`` belonged to: its mark names one, or it is unmarked and a tombstone
        lists it (an orphaned object); None otherwise."""
        if live is None:
            return None
        owner = owner_of(live)
        released = self.released()
        if owner is not None:
            return owner if owner in released else None
        marked = ((live.get("metadata") or {}).get("annotations") or {}).get(TRACKING_ANNOTATION)
        former = self._released_objects.get(key)
        return former if marked is None and former in released else None

    def declared(self, names: Mapping[str, Any] | set[str] | frozenset[str]) -> None:
        """Apps of these names exist again: their tombstones go, and pending removals are dropped."""
        for name in list(self._tombstones):
            if name in names:
                if self._registry.owns(name):
                    self._store.forget_removed_app(name)
                self._drop(name)
        for name in list(self._pending):
            if name in names:
                del self._pending[name]

    # -- removing -----------------------------------------------------------------------------------------

    def policy_of(self, name: str) -> str:
        """The remembered deletion policy of ``name`` (orphan when nothing was remembered)."""
        record = self._store.app_records().get(name) or {}
        policy = str(record.get("deletionPolicy") or DEFAULT_DELETION_POLICY)
        return policy if policy in POLICIES else DEFAULT_DELETION_POLICY

    def knows(self, name: str) -> bool:
        """Whether the store still knows ``name`` (a record, a status or an inventory)."""
        return (
            name in self._store.app_records()
            or self._store.load_status(name) is not None
            or bool(self._store.load_inventory(name))
        )

    def is_pending(self, name: str) -> bool:
        """Whether a removal of ``name`` is under way or waiting to be tried again."""
        return name in self._pending

    def start(self, removals: list[Removal]) -> None:
        """Remove these apps in the background (each once at a time); failures are retried."""
        for removal in removals:
            self._pending[removal.app] = removal
            self._launch(removal.app)
        if self._pending and self._retry is None:
            self._retry = asyncio.create_task(self._retry_loop(), name="removals:retry")

    async def remove(self, removal: Removal) -> dict[str, Any]:
        """Remove one app now; returns the tombstone. Raises when it could not finish (kept pending)."""
        self._pending[removal.app] = removal
        lock = self._locks.setdefault(removal.app, asyncio.Lock())
        async with lock, removal.lock or contextlib.nullcontext():
            with writing_for(removal.app):
                return await self._remove(removal)

    def pending(self) -> frozenset[str]:
        """Apps waiting to be removed (with several replicas, some are another replica's)."""
        return frozenset(self._pending)

    def launch(self, name: str) -> None:
        """Try the pending removal of ``name`` now (this replica just took it)."""
        if name in self._pending:
            self._launch(name)

    def removed_elsewhere(self, tombstones: Mapping[str, dict[str, Any]]) -> list[str]:
        """With several replicas: the tombstones another replica kept (read from the store). A new
        one is released here too, as if removed here (its pending removal dropped, the apps its
        marks refused tried again); the names newly known."""
        new = [
            name
            for name in tombstones
            if name not in self._tombstones and name not in self._registry.runtimes
        ]
        for name in new:
            self._keep(name, tombstones[name])
            self._pending.pop(name, None)
            self._registry.forget_record(name)
            self._on_removed(name)
        return new

    async def stop(self) -> None:
        tasks = [*self._running.values(), *([self._retry] if self._retry else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()
        self._retry = None

    def _launch(self, name: str) -> None:
        if name in self._running:
            return
        task = asyncio.create_task(self._run(name), name=f"remove:{name}")
        self._running[name] = task
        task.add_done_callback(lambda _: self._running.pop(name, None))

    async def _run(self, name: str) -> None:
        removal = self._pending.get(name)
        if removal is None:
            return
        try:
            await self.remove(removal)
        except GitwardError:
            pass  # said on the app's name; tried again later
        except Exception:
            log.exception("removal of application %s failed unexpectedly", name)

    async def _retry_loop(self) -> None:
        while self._pending:
            await asyncio.sleep(RETRY_SECONDS)
            for name in list(self._pending):
                self._launch(name)
        self._retry = None

    async def _remove(self, removal: Removal) -> dict[str, Any]:
        name = removal.app
        if name in self._registry.runtimes:
            self._pending.pop(name, None)
            raise GitwardError(f"application {name!r} is declared again; not removed", reason="Declared")
        if not self._registry.owns(name):
            raise Fenced(f"application {name!r} is removed by the replica that owns it")
        inventory = self._store.load_inventory(name)
        try:
            changes = await self._handle_objects(name, removal.policy, inventory)
        except GitwardError as error:
            self._not_finished(removal, str(error))
            raise
        failed = [c for c in changes if c.action is Action.FAILED]
        if failed:
            kept = {c.key for c in failed}
            self._store.save_inventory(name, [e for e in inventory if e.key in kept])
            shown = "; ".join(f"{c.key}: {c.message}" for c in failed[:5])
            self._not_finished(removal, f"{len(failed)} of {len(inventory)} objects: {shown}")
            raise GitwardError(
                f"removal of application {name!r} did not finish: {shown}", reason="RemovalFailed"
            )
        return self._finish(removal, changes)

    async def _handle_objects(self, name: str, policy: str, inventory: list[InventoryEntry]) -> ChangeSet:
        if not inventory:
            return ChangeSet()
        record = self._store.app_records().get(name) or {}
        conn = await self._clusters.connection(str(record.get("cluster") or IN_CLUSTER))
        if policy == "orphan":
            return await release(conn.client, inventory, app=name)
        return await prune(
            conn.client, inventory, app=name, live=lambda _key: None, propagation=policy.capitalize()
        )

    def _finish(self, removal: Removal, changes: ChangeSet) -> dict[str, Any]:
        name, policy = removal.app, removal.policy
        done = [c for c in changes if c.action in (Action.CONFIGURED, Action.DELETED)]
        skipped = [c for c in changes if c.action is Action.SKIPPED]
        waiting = [c for c in changes if awaiting_deletion(c)]
        verb = "released (ownership marks removed, objects kept)" if policy == "orphan" else "deleted"
        message = f"application {name!r} {removal.why}: {len(done)} objects {verb} ({policy})"
        if waiting:
            message += f", {len(waiting)} waiting for finalizers"
        if skipped:
            message += f"; {len(skipped)} left alone (their live mark does not name this app)"
        if removal.initiator:
            message += f" by {removal.initiator}"
        released = [c.key.id for c in changes if c.action is not Action.FAILED][:MAX_TOMBSTONE_OBJECTS]
        tombstone = {
            "time": self._clock.now(),
            "policy": policy,
            "why": removal.why,
            "initiator": removal.initiator,
            "objects": released if policy == "orphan" else [],
        }
        with self._store.batch():
            self._store.delete_app(name)
            self._store.save_removed_app(name, tombstone)
            self._records.record_event(name, type="Normal", reason="Removed", message=message)
        self._keep(name, tombstone)
        self._registry.forget_record(name)
        self._pending.pop(name, None)
        log.info("%s", message)
        self._on_removed(name)
        return {"name": name, **tombstone, "message": message}

    def _not_finished(self, removal: Removal, why: str) -> None:
        message = (
            f"application {removal.app!r} {removal.why}; removing its objects ({removal.policy}) did not "
            f"finish, tried again in {RETRY_SECONDS:.0f}s: {why}"
        )
        self._records.record_event(removal.app, type="Warning", reason="RemovalFailed", message=message)
        log.warning("%s", message)

    def _keep(self, name: str, data: Mapping[str, Any]) -> None:
        self._drop(name)
        self._tombstones[name] = dict(data)
        for text in data.get("objects") or ():
            try:
                self._released_objects[ResourceKey.from_id(str(text))] = name
            except ValueError:
                continue

    def _drop(self, name: str) -> None:
        self._tombstones.pop(name, None)
        for key in [k for k, owner in self._released_objects.items() if owner == name]:
            del self._released_objects[key]
