"""One reconcile pass of one app: fetch, verify, render, validate, claims, plan, gates, execute, record.

``ReconcilePass.run`` is the only way an app is reconciled, whether the scheduler or a person asked.
The steps before the first write are ``pipeline.prepare`` (fetch, verify, render, validate, claims);
a pass that wants nothing (no change, no drift, or automation held back by its gates) compares and
records; otherwise the plan is built (``execution.sync_plan``), the operation is opened with its
claims and intent in one synchronous step, and the executor runs it (``execution.sync``). Whatever
happens, the status is recorded (``outcome``) and the scheduler is told, which decides when the app
runs again (``scheduler``).

The pass is also what the pipeline's free functions see as their ``PipelineContext``: the narrow
collaborators (settings, store, fetcher, clock, clusters, registry, records), never the engine.
Safety and speed rules: docs/architecture.md ("One reconcile, end to end", "Safety rules").
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from gitward.apply import Standing
from gitward.cluster.connection import ClusterConnection
from gitward.core.appstatus import mark_reconciling
from gitward.core.clock import Clock
from gitward.core.errors import ClusterError, Fenced, GitwardError
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.logfields import fields
from gitward.model import Project
from gitward.plan import SyncPlan
from gitward.reconcile import drift, execution, fights, metrics, operation, orphans, pipeline
from gitward.reconcile.clusters import Clusters
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.gates import Gates, before_pass
from gitward.reconcile.outcome import record_failure, record_success
from gitward.reconcile.queue import Priority
from gitward.reconcile.records import Records
from gitward.reconcile.registry import Registry
from gitward.reconcile.removal import Removal, Removals
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.scheduler import Scheduler
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.views import Views
from gitward.replicas import writing_for
from gitward.store import Store

log = logging.getLogger("gitward.engine")


class ReconcilePass:
    """Runs passes; implements ``PipelineContext`` for the steps it calls."""

    def __init__(
        self,
        *,
        settings: EngineSettings,
        clock: Clock,
        store: Store,
        fetcher: SourceFetcher,
        registry: Registry,
        clusters: Clusters,
        records: Records,
        views: Views,
        gates: Gates,
        scheduler: Scheduler,
        removals: Removals,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self.fetcher = fetcher
        self._registry = registry
        self.health = registry.health
        self._clusters = clusters
        self._records = records
        self._views = views
        self._gates = gates
        self._scheduler = scheduler
        self._removals = removals
        self.count = 0  # passes started, for tests and benchmarks

    # -- PipelineContext ------------------------------------------------------------------------------

    async def connection(self, cluster: str) -> ClusterConnection:
        return await self._clusters.connection(cluster)

    def project(self, name: str) -> Project | None:
        return self._registry.project(name)

    async def marked_inventories(self, conn: ClusterConnection) -> Mapping[str, Sequence[InventoryEntry]]:
        return await self._clusters.marked_inventories(conn)

    def claimed_by_other(self, app: str, key: ResourceKey) -> str | None:
        return self._registry.claims.held_by_other(app, key)

    def released_owners(self) -> frozenset[str]:
        return self._removals.released()

    def apply_children(self, parent: AppRuntime, children: Sequence[dict[str, Any]]) -> list[str]:
        changes = self._registry.apply_children(parent, children)
        self._removals.declared(set(changes.changed))
        for name in changes.changed:
            self._scheduler.queue.add(name, priority=Priority.DEPENDENCY, reason="config")
        for name in changes.removed:
            self._records.record_event(
                parent.name,
                type="Normal",
                reason="ChildRemoved",
                message=f"application {name!r} left the parent's render; its deletionPolicy decides",
            )
        why = f"left the render of {parent.name!r}"
        self._removals.start([Removal(n, self._removals.policy_of(n), why) for n in changes.removed])
        return changes.problems

    def operation_progressed(self, rt: AppRuntime) -> None:
        self._views.operation_progressed(rt)

    def record_event(
        self,
        app: str,
        *,
        type: str,
        reason: str,
        message: str,
        object_id: str = "",
        fields: Sequence[str] = (),
        manager: str = "",
    ) -> None:
        self._records.record_event(
            app,
            type=type,
            reason=reason,
            message=message,
            object_id=object_id,
            fields=fields,
            manager=manager,
        )

    # -- one pass ---------------------------------------------------------------------------------------

    async def run(self, rt: AppRuntime, req: SyncRequest) -> int | None:
        """One pass; returns the id of the operation it ran, if it applied anything.

        With several replicas, a pass runs only for an app this replica owns, and every write it
        makes (to a cluster, to the store) is for that app (``replicas.writing_for``): the moment the
        replica cannot prove it still owns it, the write is refused (``Fenced``) and the pass ends
        without recording anything (the owner records)."""
        async with rt.lock:
            if not self._registry.owns(rt.name):
                return None
            with writing_for(rt.name):
                return await self._run(rt, req)

    async def _run(self, rt: AppRuntime, req: SyncRequest) -> int | None:
        self.count += 1
        started, outcome = time.monotonic(), "failed"
        op_id: int | None = None
        try:
            if not rt.inventory_known:
                self._clusters.scan_ahead(rt.app.spec.destination.cluster)
            prepared = await pipeline.prepare(self, rt, req)
            found, held = await self._observe(rt, prepared)
            if self._should_apply(rt, req, prepared, found, held) or execution.resuming(rt):
                self._scheduler.dependencies.check(rt)
                mark_reconciling(rt.status, now=self.clock.now(), message=req.trigger)
                plan = await execution.sync_plan(self, rt, prepared, req)
                op, adopted = self._start_operation(rt, req, prepared, plan)
                op_id = op.id
                await self._execute(rt, req, prepared, op, adopted)
                outcome = "synced"
            else:
                out = await pipeline.compare(self, rt, prepared, found)
                record_success(self, rt, prepared, result=None, op_id=None, out_of_sync=out)
                outcome = "compared"
            await orphans.refresh(self, rt, prepared.connection)
            self._scheduler.succeeded(rt)
        except Fenced as err:
            outcome = "fenced"
            log.info("pass of %s stopped: %s", rt.name, err, extra=fields(app=rt.name))
        except GitwardError as err:
            with contextlib.suppress(Fenced):
                self._failed(rt, err, op_id)
        except Exception as err:
            log.exception("reconcile of %s failed unexpectedly", rt.name)
            with contextlib.suppress(Fenced):
                self._failed(rt, GitwardError(f"internal error: {type(err).__name__}"), op_id)
        finally:
            metrics.RECONCILE_SECONDS.labels(outcome).observe(time.monotonic() - started)
            if outcome != "fenced":
                self._scheduler.schedule_interval(rt)
                self._scheduler.wake_at(rt, fights.resume_at(self, rt))
                with contextlib.suppress(Fenced):
                    self._records.save_status(rt)
        return op_id

    async def _observe(
        self, rt: AppRuntime, prepared: pipeline.Prepared
    ) -> tuple[dict[ResourceKey, Standing], set[ResourceKey]]:
        """Watch what the app owns, rebuild a lost inventory, and say where each object stands
        (drift read from the server and recorded as events, ``drift.py``), and which drifted
        objects self-heal leaves alone because a drift fight paused every field that drifted."""
        conn = prepared.connection
        await pipeline.watch_kinds(conn, prepared.objects, rt.inventory)
        if not rt.inventory_known:
            await pipeline.restore_inventory(self, rt, conn, prepared)
            self._registry.reindex(rt)
        found = pipeline.standings(rt, conn, prepared)
        await drift.examine(self, rt, conn, prepared.objects, prepared.digests, found)
        automated = rt.app.spec.sync_policy.automated
        held = fights.hold(self, rt, self_heal=automated is not None and automated.self_heal)
        return found, held

    def _should_apply(
        self,
        rt: AppRuntime,
        req: SyncRequest,
        prepared: pipeline.Prepared,
        found: dict[ResourceKey, Standing],
        held: set[ResourceKey],
    ) -> bool:
        """A person's sync applies (its window was checked when asked); automation applies what changed,
        failed or drifted when its gates (suspension, sync windows) let it: ``reconcile/gates.py``.
        Drift only in fields a drift fight paused (``held``) is no reason to self-heal."""
        before_pass(rt)
        if req.apply:
            return True
        automated = rt.app.spec.sync_policy.automated
        if automated is None or rt.suspended:
            return self._gates.admit(rt, wanted=False)
        status = rt.status
        wanted = (
            status.last_synced_digest != prepared.desired.digest
            or bool(status.last_sync_failed)
            or (automated.prune and bool(pipeline.stale_pending(rt, prepared)))
            or (
                automated.self_heal
                and any(s is not Standing.UNCHANGED and k not in held for k, s in found.items())
            )
        )
        return self._gates.admit(rt, wanted=wanted)

    async def _execute(
        self,
        rt: AppRuntime,
        req: SyncRequest,
        prepared: pipeline.Prepared,
        op: operation.OpenOperation,
        adopted: Mapping[ResourceKey, str],
    ) -> None:
        """Run the operation's plan and record its outcome (raises when it did not succeed)."""
        result = await execution.sync(self, rt, prepared, req, op=op)
        metrics.record_sync(result.changes)
        fights.after_sync(self, rt, result.changes, asked=req.apply)
        self._adopted(rt, result, adopted)
        with self.store.batch():  # the outcome's records commit together, once
            self._persist_sync(rt, result)
            asked = req.apply or op.resumed  # a person's sync, or one a restart interrupted
            record_success(self, rt, prepared, result=result, op_id=op.id, out_of_sync=None, asked=asked)
            self._records.save_status(rt)

    def _adopted(
        self, rt: AppRuntime, result: execution.SyncResult, adopted: Mapping[ResourceKey, str]
    ) -> None:
        """One ``Adopted`` event per object this sync took over from a removed app."""
        if not adopted:
            return
        owned = {e.key for e in result.inventory}
        applied = {c.key for c in result.changes if not c.action.is_failure}
        for key, former in sorted(adopted.items(), key=lambda item: str(item[0])):
            if key in owned and key in applied:
                self._records.record_event(
                    rt.name,
                    type="Normal",
                    reason="Adopted",
                    message=f"{key} adopted from removed application {former!r}",
                    object_id=key.id,
                )

    def _start_operation(
        self, rt: AppRuntime, req: SyncRequest, prepared: pipeline.Prepared, plan: SyncPlan
    ) -> tuple[operation.OpenOperation, dict[ResourceKey, str]]:
        """Claim what the sync may write and record the sync, before the cluster is touched.

        One synchronous step (no ``await``): the claims are checked again and taken with nothing of
        another app running in between, so of two apps rendering one new object exactly one gets it.
        One commit: the operation and every object the sync may create, added to the stored
        inventory, are on disk before the first write, so whatever a crash at any later point
        leaves on the cluster is known to this app and pruned when it leaves Git (prune still needs
        the live mark naming this app and object, so an entry never created costs nothing).
        Remembers what the closing record repeats, so closing it reads nothing back. An operation a
        killed process left Running is resumed here when its plan is this one.
        """
        pipeline.check_claims(self, rt, prepared.connection, prepared.digests)
        intent = pipeline.not_yet_owned(rt, prepared)
        cache = prepared.connection.cache
        adopted = {
            e.key: former for e in intent if (former := self._removals.former_owner(e.key, cache.get(e.key)))
        }
        revision, commit = prepared.desired.revision, prepared.desired.commit
        opened = operation.open_operation(
            self,
            rt,
            req,
            plan=plan,
            desired_digest=prepared.desired.digest,
            revision=revision,
            commit=commit,
            intent=intent,
            started_at=self.clock.now(),
        )
        if intent:
            rt.inventory = sorted(set(rt.inventory) | set(intent))
            self._registry.reindex(rt)
        rt.operation = {
            "id": opened.id,
            "revision": revision,
            "commit": commit,
            "startedAt": opened.started_at,
            "trigger": req.trigger,
            "initiator": req.initiator,
        }
        self._views.operation_started(rt)  # the live stream shows the sync Running
        log.info(
            "operation %s of %s started (%s) at %s",
            opened.id,
            rt.name,
            req.trigger,
            commit[:12] or revision,
            extra=fields(
                app=rt.name,
                operation=opened.id,
                trigger=req.trigger,
                revision=commit[:12] or revision,
                phase="Running",
                resumed=opened.resumed or None,
                initiator=req.initiator or None,
            ),
        )
        return opened, adopted

    def _persist_sync(self, rt: AppRuntime, result: execution.SyncResult) -> None:
        rt.inventory = result.inventory
        self.store.save_inventory(rt.name, rt.inventory)
        self.store.save_verdicts(rt.name, {"rows": rt.verdicts.export()})
        self._registry.reindex(rt)

    def _failed(self, rt: AppRuntime, err: GitwardError, op_id: int | None) -> None:
        """Record the failure on the app, with the retry the scheduler set."""
        delay = self._scheduler.failed(rt, err)
        if op_id is not None and (self.store.get_operation(op_id) or {}).get("phase") == "Running":
            metrics.record_failed_sync()  # the sync raised before it could report its changes
        record_failure(self, rt, err, op_id=op_id, retry_in=delay)
        if isinstance(err, ClusterError) and err.status == 0:
            log.warning("cluster of %s unreachable: %s", rt.name, err)
