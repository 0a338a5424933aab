"""The engine: the apps, the clusters, the triggers, and the loop that keeps them converged.

One process, one asyncio loop. Triggers (start, interval with jitter, watch events on managed objects,
user actions through the API) land in a keyed work queue, so each app has at most one reconcile in
flight and bursts collapse. Failures back off per app; a stalled app waits for its source or spec to
change (the interval still re-checks; ``resync`` skips interval passes that provably find nothing new).
State is persisted in the store after every reconcile.
Deliberately not here: the steps of one reconcile (``pipeline``), HTTP (``api/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from gitward.apply import Standing, VerdictCache, marked_inventories
from gitward.cluster.connection import ClusterConnection, ClusterConnections
from gitward.cluster.reachability import Reachability
from gitward.core.clock import Clock, SystemClock
from gitward.core.errors import ClusterError, GitwardError, Stalled, ValidationError, Waiting
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.model import IN_CLUSTER, Application, Project, Receiver, load_object
from gitward.notify import Notifier
from gitward.plan import SyncPlan
from gitward.reconcile import execution, metrics, operation, pipeline
from gitward.reconcile.backoff import Backoff, BackoffPolicy, jittered
from gitward.reconcile.claims import Claims
from gitward.reconcile.config import load_config
from gitward.reconcile.cycles import check_cycles, refuse_cycle
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.engine_service import EngineServiceMixin
from gitward.reconcile.gates import Gates, before_pass, follow_spec
from gitward.reconcile.outcome import record_failure, record_success, show_reachability
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.resync import IntervalResyncMixin
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.status import mark_reconciling
from gitward.reconcile.windowbook import WindowBook, check_windows
from gitward.render import RenderTools
from gitward.store import Store

log = logging.getLogger("gitward.engine")

_FETCH_REASONS = {"start", "interval", "retry", "refresh", "config", "resume"}


class Engine(EngineServiceMixin, IntervalResyncMixin, metrics.EngineMetricsMixin):
    """Implements ``EngineService``; ``start`` opens everything, ``stop`` closes everything."""

    def __init__(self, settings: EngineSettings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.store = Store.open(settings.state_path)
        self.fetcher = SourceFetcher(
            cache_dir=settings.cache_dir,
            tools=RenderTools.discover(),
            render_settings=settings.render,
            render_cache_entries=settings.render_cache_entries,
            fetch_freshness=settings.fetch_freshness,
            fetch_timeout=settings.fetch_timeout,
        )
        self.connections = ClusterConnections(settings=settings.connection)
        self.runtimes: dict[str, AppRuntime] = {}
        self.invalid: dict[str, str] = {}
        self.projects: dict[str, Project] = {}
        self.clusters: dict[str, Any] = {}
        self.receivers: dict[str, Receiver] = {}
        self.backoff = Backoff()
        self.queue = WorkQueue(self._work, concurrency=settings.concurrency)
        self.gates = Gates(clock=self.clock, queue=self.queue, record_event=self.record_event)
        self.claims = Claims(lambda name: name in self.runtimes)
        self._has_dependencies = False
        self._parents: set[str] = set()  # apps that have rendered child apps (app-of-apps)
        self._marked_scans: dict[str, dict[str, list[InventoryEntry]]] = {}
        self._scan_locks: dict[str, asyncio.Lock] = {}
        self._subscribed: set[str] = set()
        self._ticker: asyncio.Task[None] | None = None
        self.notifier = Notifier(record_event=self.record_event, clock=self.clock)  # Notification objects
        self.reconciles = 0

    # -- lifecycle -----------------------------------------------------------------------------------

    @classmethod
    async def start(cls, settings: EngineSettings, *, clock: Clock | None = None) -> Engine:
        engine = cls(settings, clock=clock)
        engine.load()
        engine.resume_interrupted()
        engine.notifier.start(engine.runtimes.values())
        engine.queue.start()
        engine._ticker = asyncio.create_task(engine._tick(), name="gitward-ticker")
        metrics.ENGINES.track(engine)
        for name in sorted(engine.runtimes):
            engine.queue.add(name, priority=Priority.INTERVAL, reason="start")
        return engine

    async def stop(self) -> None:
        metrics.ENGINES.untrack(self)
        self.gates.close()
        await self.notifier.stop()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.queue.stop()
        await self.fetcher.git.close()
        await self.connections.close_all()
        self.store.close()

    def load(self) -> None:
        config = check_cycles(load_config(self.settings.config_path, settings=self.settings.render))
        config, windows = check_windows(config)
        self.gates.book = WindowBook(windows)
        self.fetcher.repositories = config.repositories
        self.fetcher.project_of = self.project  # signature rules of an app's project (reconcile/trust.py)
        self.clusters = {c.name: c for c in config.clusters}
        self.projects = {p.name: p for p in config.projects}
        self.receivers = {r.name: r for r in config.receivers}
        self.notifier.configure(config.notifications)
        for error in config.errors:
            name = error.name or f"document {error.document}"
            self.invalid[name] = error.message
            log.warning("invalid %s %s: %s", error.kind or "object", name, error.message)
        for app in config.applications:
            self._register(app)

    def _register(self, app: Application, *, parent: str | None = None) -> AppRuntime:
        status = self.store.load_status(app.name)
        rows = self.store.load_verdicts(app.name).get("rows", [])
        rt = AppRuntime(
            app=app,
            status=status or {},
            verdicts=VerdictCache.from_export(rows),
            inventory=self.store.load_inventory(app.name),
            parent=parent,
            inventory_known=status is not None,
        )
        self.runtimes[app.name] = rt
        if parent is not None:
            self._parents.add(parent)
        self._has_dependencies = self._has_dependencies or bool(app.dependencies)
        self._reindex(rt)
        follow_spec(rt)  # spec.suspend shows before the first pass
        return rt

    def resume_interrupted(self) -> None:
        """Operations a killed process left Running are resumed by their app's first pass when their
        plan is still the same, else closed and started afresh (``reconcile/operation.py``).

        Nothing of what they wrote is lost: every object such a sync could create was added to the
        app's stored inventory in the commit that recorded the operation (``_start_operation``).
        """
        operation.adopt_interrupted(self.store, self.runtimes, now=self.clock.now())

    # -- context for the pipeline ------------------------------------------------------------------------

    def _kubeconfig_of(self, cluster: str) -> tuple[Path, str | None]:
        spec = self.clusters.get(cluster)
        if spec is not None:
            path = Path(os.path.expanduser(spec.spec.kubeconfig))
            if not path.is_absolute():
                base = self.settings.config_path
                path = (base if base.is_dir() else base.parent) / path
            return path, spec.spec.context
        if cluster == IN_CLUSTER and os.environ.get("KUBECONFIG"):
            return Path(os.environ["KUBECONFIG"].split(os.pathsep)[0]), None
        raise ValidationError(f"cluster {cluster!r} is not defined", reason="ClusterNotFound")

    async def connection(self, cluster: str) -> ClusterConnection:
        found = self.connections.get(cluster)
        if found is not None:
            return found
        kubeconfig, context = self._kubeconfig_of(cluster)
        conn = await self.connections.get_or_connect(cluster, kubeconfig, context)
        if cluster not in self._subscribed:
            self._subscribed.add(cluster)
            conn.cache.on_change(self._on_cluster_change)
            conn.reachability.on_change(lambda state: self._on_reachability(cluster, state))
        return conn

    async def marked_inventories(self, conn: ClusterConnection) -> Mapping[str, Sequence[InventoryEntry]]:
        """One scan of the cluster's marked objects for every app that lost its stored inventory."""
        lock = self._scan_locks.setdefault(conn.name, asyncio.Lock())
        async with lock:
            found = self._marked_scans.get(conn.name)
            if found is None:
                found = await marked_inventories(conn.client, await pipeline.listable_kinds(conn))
                self._marked_scans[conn.name] = found
            return found

    def project(self, name: str) -> Project | None:
        found = self.projects.get(name)
        if found is None and name == "default":
            return Project.implicit_default()
        return found

    def claimed_by_other(self, app: str, key: ResourceKey) -> str | None:
        return self.claims.held_by_other(app, key)

    def apply_children(self, parent: AppRuntime, children: Sequence[dict[str, Any]]) -> list[str]:
        if not children and parent.name not in self._parents:
            return []  # the common case, without a scan of every app
        problems: list[str] = []
        wanted: set[str] = set()
        for document in children:
            try:
                child = load_object(document)
            except Exception as exc:
                problems.append(f"child application: {exc}")
                continue
            if not isinstance(child, Application):
                problems.append(f"child {child.kind} {child.name!r} is not an Application")
                continue
            existing = self.runtimes.get(child.name)
            if existing is not None and existing.parent != parent.name:
                problems.append(f"child application {child.name!r} is already defined elsewhere")
                continue
            wanted.add(child.name)
            if existing is None or existing.app != child:
                rt = self._register(child, parent=parent.name) if existing is None else existing
                rt.app = child
                self._has_dependencies = self._has_dependencies or bool(child.dependencies)
                self.queue.add(child.name, priority=Priority.DEPENDENCY, reason="config")
        for name, rt in list(self.runtimes.items()):
            if rt.parent == parent.name and name not in wanted and not problems:
                del self.runtimes[name]
                self.claims.release(name)
                self.record_event(
                    parent.name,
                    type="Normal",
                    reason="ChildRemoved",
                    message=f"application {name!r} left the parent's render",
                )
        return problems

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
        if reason == "Drift":
            metrics.DRIFT_EVENTS.inc()
        self.notifier.event_recorded(app, reason=reason, message=message)
        self.store.add_event(
            app,
            type=type,
            reason=reason,
            message=message,
            object_id=object_id,
            fields=tuple(fields),
            manager=manager,
            time=self.clock.now(),
        )

    def _reindex(self, rt: AppRuntime) -> None:
        """Keep the claims in step with ``rt.inventory`` (ownership and drift routing)."""
        self.claims.hold(rt.name, (entry.key for entry in rt.inventory))

    # -- triggers ------------------------------------------------------------------------------------

    def _on_reachability(self, cluster: str, state: Reachability) -> None:
        """The cluster's probe flipped: its apps show it now; once reachable they compare again."""
        with self.store.batch():
            now = self.clock.now()
            changed = show_reachability(self.runtimes.values(), cluster=cluster, state=state, now=now)
            for rt in changed:
                self._save_status(rt)
        for rt in changed if state.reachable else ():
            self.queue.add(rt.name, priority=Priority.INTERVAL, reason="reachable")

    def _on_cluster_change(self, event_type: str, key: ResourceKey, obj: dict[str, Any]) -> None:
        """A watched object changed: wake its owning app (drift, health) — and only that app.

        Deletes too: an object the app declares that disappears (another app's prune, a person)
        makes it heal (selfHeal) or report the object Missing, without waiting for a refresh.
        """
        owner = self.claims.owner(key)
        rt = self.runtimes.get(owner) if owner is not None else None
        if rt is None:
            return
        verdict = rt.verdicts.get(key)
        if verdict is None and rt.lock.locked():
            # An object the running pass is creating (claimed before it was written): the echo of
            # gitward's own create, which the pass after this one checks, behind the queued syncs.
            self.queue.add(rt.name, priority=Priority.INTERVAL, reason="created")
            return
        version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        if verdict is not None and version == verdict.resource_version:
            if event_type == "ADDED":
                # The echo of gitward's own create: nothing drifted, but the app's health was judged
                # before the cache held the object. Queued behind the syncs already waiting, so a
                # cold start applies every app before it re-reads their health.
                self.queue.add(rt.name, priority=Priority.INTERVAL, reason="created")
            # The echo of gitward's own update: nothing changed since it was recorded.
            return
        # While an app is Progressing, its objects' changes are mostly controllers reporting rollout
        # status: they wait behind the syncs already queued (a cold start converges every app first).
        # Changes to a settled app are drift and go ahead of them.
        progressing = (rt.status.get("health") or {}).get("status") == "Progressing"
        self.queue.add(rt.name, priority=Priority.INTERVAL if progressing else Priority.DRIFT, reason="drift")

    async def _tick(self) -> None:
        """Interval resyncs (with jitter) and retries after backoff."""
        while True:
            now = self.clock.monotonic()
            for name, rt in list(self.runtimes.items()):
                if rt.retry_at is not None and rt.retry_at <= now:
                    rt.retry_at = None
                    self.queue.add(name, priority=Priority.INTERVAL, reason="retry")
                elif rt.next_due and rt.next_due <= now:
                    rt.next_due = 0.0
                    self.queue.add(name, priority=Priority.INTERVAL, reason="interval")
            await asyncio.sleep(0.5)

    async def _work(self, name: str, reasons: frozenset[str]) -> None:
        rt = self.runtimes.get(name)
        if rt is None:
            return
        fetch = bool(reasons & _FETCH_REASONS)
        if reasons == {"interval"} and await self.poll_source(rt):
            fetch = False  # the repository is fresh within the poll window
            if await self.unchanged_since_last_pass(rt):
                rt.next_due = self.clock.monotonic() + jittered(rt.app.spec.sync_policy.interval)
                metrics.RESYNCS_SKIPPED.inc()
                return
        await self.reconcile(rt, SyncRequest(trigger=",".join(sorted(reasons)), fetch=fetch))

    # -- one reconcile ---------------------------------------------------------------------------------

    def _should_apply(
        self,
        rt: AppRuntime,
        req: SyncRequest,
        prepared: pipeline.Prepared,
        found: dict[ResourceKey, Standing],
    ) -> bool:
        """A person's sync applies (its window was checked when asked); automation applies what changed,
        failed or drifted when its gates (suspension, sync windows) let it: ``reconcile/gates.py``."""
        before_pass(rt)
        if req.apply:
            return True
        automated = rt.app.spec.sync_policy.automated
        if automated is None or rt.suspended:
            return self.gates.admit(rt, wanted=False)
        status = rt.status
        wanted = (
            status.get("lastSyncedDigest") != prepared.desired.digest
            or bool(status.get("lastSyncFailed"))
            or (automated.prune and bool(pipeline.stale_pending(rt, prepared)))
            or (automated.self_heal and any(s is not Standing.UNCHANGED for s in found.values()))
        )
        return self.gates.admit(rt, wanted=wanted)

    async def reconcile(self, rt: AppRuntime, req: SyncRequest) -> int | None:
        """One pass; returns the id of the operation it ran, if it applied anything."""
        async with rt.lock:
            self.reconciles += 1
            started, outcome = time.monotonic(), "failed"
            op_id: int | None = None
            try:
                prepared = await pipeline.prepare(self, rt, req)
                conn = prepared.connection
                await pipeline.watch_kinds(conn, prepared.objects, rt.inventory)
                if not rt.inventory_known:
                    await pipeline.restore_inventory(self, rt, conn, prepared)
                    self._reindex(rt)
                found = pipeline.standings(rt, conn, prepared)
                await pipeline.report_drift(self, rt, conn, prepared, found)
                if self._should_apply(rt, req, prepared, found) or execution.resuming(rt):
                    self._check_dependencies(rt)
                    mark_reconciling(rt.status, now=self.clock.now(), message=req.trigger)
                    plan = await execution.sync_plan(self, rt, prepared, req)
                    op = self._start_operation(rt, req, prepared, plan)
                    op_id = op.id
                    result = await execution.sync(self, rt, prepared, req, op=op)
                    metrics.record_sync(result.changes)
                    with self.store.batch():  # the outcome's records commit together, once
                        self._persist_sync(rt, result)
                        record_success(self, rt, prepared, result=result, op_id=op_id, out_of_sync=None)
                        self._save_status(rt)
                    outcome = "synced"
                else:
                    out = await pipeline.compare(self, rt, prepared, found)
                    record_success(self, rt, prepared, result=None, op_id=None, out_of_sync=out)
                    outcome = "compared"
                self.backoff.reset(rt.name)
                rt.retry_at = None
                rt.settled_at = self.clock.monotonic()
                self._wake_dependents(rt)
            except GitwardError as err:
                self._on_failure(rt, err, op_id)
            except Exception as err:
                log.exception("reconcile of %s failed unexpectedly", rt.name)
                self._on_failure(rt, GitwardError(f"internal error: {type(err).__name__}"), op_id)
            finally:
                metrics.RECONCILE_SECONDS.labels(outcome).observe(time.monotonic() - started)
                rt.next_due = self.clock.monotonic() + jittered(rt.app.spec.sync_policy.interval)
                self._save_status(rt)
            return op_id

    def _check_dependencies(self, rt: AppRuntime) -> None:
        """``dependsOn``: nothing is applied until every dependency is Synced and Healthy, and never
        while the app is on a cycle (one a child application closed after load, ``cycles``)."""
        refuse_cycle(rt.name, lambda n: r.app.dependencies if (r := self.runtimes.get(n)) else None)
        for name in rt.app.dependencies:
            other = self.runtimes.get(name)
            if other is None:
                why = f"is invalid: {self.invalid[name]}" if name in self.invalid else "is not defined"
                raise Waiting(f"dependency {name!r} {why}", retry_after=10, reason="DependencyNotFound")
            status = other.status
            ready = (status.get("sync") or {}).get("status") == "Synced" and (status.get("health") or {}).get(
                "status"
            ) == "Healthy"
            if not ready:
                raise Waiting(
                    f"waiting for dependency {name!r} to be Synced and Healthy",
                    retry_after=5,
                    reason="DependencyNotReady",
                )

    def _wake_dependents(self, rt: AppRuntime) -> None:
        """Apps waiting on ``rt`` (``dependsOn``) retry now instead of at their next backoff."""
        if not self._has_dependencies:
            return
        for name, other in self.runtimes.items():
            if rt.name in other.app.dependencies and other.retry_at is not None:
                self.queue.add(name, priority=Priority.DEPENDENCY, reason="dependency")

    def _save_status(self, rt: AppRuntime) -> None:
        """Write the status only when it changed: a no-op reconcile writes nothing, not even locally."""
        digest = hashlib.sha256(orjson.dumps(rt.status, option=orjson.OPT_SORT_KEYS)).hexdigest()
        if digest != rt.saved_status_digest:
            self.store.save_status(rt.name, rt.status)
            rt.saved_status_digest = digest
            self.status_saved(rt)  # the app index and the live stream (reconcile/engine_views.py)
            self.notifier.status_saved(rt.app, rt.status)  # Notification objects (notify/)

    def _start_operation(
        self, rt: AppRuntime, req: SyncRequest, prepared: pipeline.Prepared, plan: SyncPlan
    ) -> operation.OpenOperation:
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
        op_id, started_at = opened.id, opened.started_at
        if intent:
            rt.inventory = sorted(set(rt.inventory) | set(intent))
            self._reindex(rt)
        rt.operation = {
            "id": op_id,
            "revision": revision,
            "commit": commit,
            "startedAt": started_at,
            "trigger": req.trigger,
            "initiator": req.initiator,
        }
        self.operation_started(rt)  # the live stream shows the sync Running (reconcile/engine_views.py)
        return opened

    def _persist_sync(self, rt: AppRuntime, result: execution.SyncResult) -> None:
        rt.inventory = result.inventory
        self.store.save_inventory(rt.name, rt.inventory)
        self.store.save_verdicts(rt.name, {"rows": rt.verdicts.export()})
        self._reindex(rt)

    def _on_failure(self, rt: AppRuntime, err: GitwardError, op_id: int | None) -> None:
        rt.settled_at = 0.0
        retry = rt.app.spec.sync_policy.retry
        policy = BackoffPolicy(
            duration=retry.backoff.duration,
            factor=retry.backoff.factor,
            max_duration=retry.backoff.max_duration,
            limit=retry.limit,
        )
        delay: float | None
        if isinstance(err, Waiting):
            delay = err.retry_after
        elif isinstance(err, Stalled):
            delay = None
        else:
            delay = self.backoff.record_failure(rt.name, policy)
        rt.retry_at = None if delay is None else self.clock.monotonic() + delay
        if op_id is not None and (self.store.get_operation(op_id) or {}).get("phase") == "Running":
            metrics.record_failed_sync()  # the sync raised before it could report its changes
        record_failure(self, rt, err, op_id=op_id, retry_in=delay)
        if isinstance(err, ClusterError) and err.status == 0:
            log.warning("cluster of %s unreachable: %s", rt.name, err)
