"""The engine: gitward's control loop, wired from its parts. Only wiring lives here.

``Engine.start`` builds every part from ``EngineSettings`` and starts them; ``stop`` stops them in
reverse. Each role has its own module:
- ``registry``: the apps, projects, clusters and receivers, the claims on objects;
- ``scheduler``: the work queue, the ticker (intervals with jitter, retries after backoff), the
  interval resync (``resync``), the triggers (``triggers``) and the dependency wake-ups
  (``dependencies``);
- ``reconcile_pass``: one reconcile of one app, from fetch to record;
- ``actions``: what the API and CLI ask for (``EngineService``);
- ``views``: the read side (``EngineViews``): app index, live feed, trees;
- ``clusters``, ``records``, ``gates``, ``readings``: connections, events and saved statuses, what
  holds automation back, the numbers ``/metrics`` reads.
The engine answers the API's two protocols by handing each call to the part that owns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitward.cluster.connection import ClusterConnections
from gitward.core.backoff import Backoff
from gitward.core.clock import Clock, SystemClock
from gitward.model import Application, Receiver
from gitward.notify import Notifier
from gitward.reconcile import metrics, operation
from gitward.reconcile.actions import Actions
from gitward.reconcile.appindex import AppPage, AppQuery
from gitward.reconcile.clusters import Clusters
from gitward.reconcile.config import load_config
from gitward.reconcile.cycles import check_cycles
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.gates import Gates
from gitward.reconcile.livefeed import StatusFeed
from gitward.reconcile.queue import WorkQueue
from gitward.reconcile.readings import Readings
from gitward.reconcile.reconcile_pass import ReconcilePass
from gitward.reconcile.records import Records
from gitward.reconcile.registry import Registry
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.scheduler import Scheduler
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.views import Views
from gitward.reconcile.windowbook import WindowBook, check_windows
from gitward.render import RenderTools
from gitward.store import Store

__all__ = ["Engine", "EngineSettings"]


class Engine:
    """Implements ``EngineService`` and ``EngineViews``; ``start`` opens everything, ``stop`` closes it."""

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
        self.registry = Registry(self.store, config_path=settings.config_path)
        self.views = Views(self.registry, self.connections, self.fetcher)
        self.scheduler = Scheduler(
            settings=settings,
            clock=self.clock,
            registry=self.registry,
            fetcher=self.fetcher,
            run_pass=lambda rt, req: self.reconcile(rt, req),
        )
        self.notifier = Notifier(record_event=self._notification_failed, clock=self.clock)
        self.records = Records(store=self.store, notifier=self.notifier, views=self.views, clock=self.clock)
        self.gates = Gates(
            clock=self.clock, queue=self.scheduler.queue, record_event=self.records.record_event
        )
        self.clusters = Clusters(
            connections=self.connections,
            registry=self.registry,
            store=self.store,
            records=self.records,
            clock=self.clock,
            queue=self.scheduler.queue,
            object_triggers=self.scheduler.object_triggers,
        )
        self.passes = ReconcilePass(
            settings=settings,
            clock=self.clock,
            store=self.store,
            fetcher=self.fetcher,
            registry=self.registry,
            clusters=self.clusters,
            records=self.records,
            views=self.views,
            gates=self.gates,
            scheduler=self.scheduler,
        )
        self.actions = Actions(
            registry=self.registry,
            store=self.store,
            clock=self.clock,
            settings=settings,
            gates=self.gates,
            queue=self.scheduler.queue,
            records=self.records,
            context=self.passes,
            run_pass=lambda rt, req: self.reconcile(rt, req),
            triggers=self.scheduler.repository_triggers,
        )
        self.readings = Readings(
            queue=self.scheduler.queue,
            fetcher=self.fetcher,
            connections=self.connections,
            registry=self.registry,
        )

    # -- lifecycle ------------------------------------------------------------------------------------

    @classmethod
    async def start(cls, settings: EngineSettings, *, clock: Clock | None = None) -> Engine:
        engine = cls(settings, clock=clock)
        engine.load()
        engine.resume_interrupted()
        engine.notifier.start(_Seed(rt.app, rt.status.to_dict()) for rt in engine.registry.runtimes.values())
        engine.scheduler.start()
        metrics.ENGINES.track(engine.readings)
        return engine

    async def stop(self) -> None:
        metrics.ENGINES.untrack(self.readings)
        self.gates.close()
        await self.notifier.stop()
        await self.scheduler.stop()
        await self.fetcher.git.close()
        await self.connections.close_all()
        self.store.close()

    def load(self) -> None:
        """The config: cycles and unreadable windows refused, every part given what it needs."""
        config = check_cycles(load_config(self.settings.config_path, settings=self.settings.render))
        config, windows = check_windows(config)
        self.gates.book = WindowBook(windows)
        self.fetcher.repositories = config.repositories
        self.fetcher.project_of = self.registry.project  # signature rules (reconcile/trust.py)
        self.notifier.configure(config.notifications)
        self.registry.load(config)

    def resume_interrupted(self) -> None:
        """Operations a killed process left Running are resumed by their app's first pass when their
        plan is still the same, else closed and started afresh (``reconcile/operation.py``).

        Nothing of what they wrote is lost: every object such a sync could create was added to the
        app's stored inventory in the commit that recorded the operation (``reconcile_pass``).
        """
        operation.adopt_interrupted(self.store, self.registry.runtimes, now=self.clock.now())

    def _notification_failed(self, app: str, *, type: str, reason: str, message: str) -> None:
        self.records.record_event(app, type=type, reason=reason, message=message)

    async def reconcile(self, rt: AppRuntime, req: SyncRequest) -> int | None:
        """One pass of ``rt`` (``reconcile_pass``); every pass, scheduled or asked for, goes through here."""
        return await self.passes.run(rt, req)

    # -- what tests and benchmarks read -----------------------------------------------------------------

    @property
    def runtimes(self) -> dict[str, AppRuntime]:
        return self.registry.runtimes

    @property
    def queue(self) -> WorkQueue:
        return self.scheduler.queue

    @property
    def backoff(self) -> Backoff:
        return self.scheduler.backoff

    @property
    def reconciles(self) -> int:
        return self.passes.count

    # -- EngineService: the actions --------------------------------------------------------------------

    def list_apps(self) -> list[dict[str, Any]]:
        return self.actions.list_apps()

    def get_app(self, name: str) -> dict[str, Any]:
        return self.actions.get_app(name)

    async def diff_app(self, name: str) -> list[dict[str, Any]]:
        return await self.actions.diff_app(name)

    async def dry_run_sync(
        self, name: str, *, revision: str | None = None, prune: bool | None = None
    ) -> dict[str, Any]:
        return await self.actions.dry_run_sync(name, revision=revision, prune=prune)

    async def sync_app(
        self,
        name: str,
        *,
        revision: str | None = None,
        prune: bool | None = None,
        force: bool = False,
        initiator: str = "",
    ) -> dict[str, Any]:
        return await self.actions.sync_app(
            name, revision=revision, prune=prune, force=force, initiator=initiator
        )

    async def refresh_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        return await self.actions.refresh_app(name, initiator=initiator)

    def history(self, name: str) -> list[dict[str, Any]]:
        return self.actions.history(name)

    async def rollback(self, name: str, history_id: int, *, initiator: str = "") -> dict[str, Any]:
        return await self.actions.rollback(name, history_id, initiator=initiator)

    def events(self, name: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        return self.actions.events(name, limit=limit)

    def suspend_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        return self.actions.suspend_app(name, initiator=initiator)

    def resume_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        return self.actions.resume_app(name, initiator=initiator)

    def terminate_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        return self.actions.terminate_app(name, initiator=initiator)

    def project_windows(self, name: str) -> dict[str, Any]:
        return self.actions.project_windows(name)

    async def trigger_repository(self, url: str, *, refs: Mapping[str, str] | None = None) -> list[str]:
        return await self.actions.trigger_repository(url, refs=refs)

    def webhook_receiver(self, name: str) -> Receiver | None:
        return self.actions.webhook_receiver(name)

    # -- EngineViews: the read side --------------------------------------------------------------------

    @property
    def feed(self) -> StatusFeed:
        return self.views.feed

    def query_apps(self, query: AppQuery) -> AppPage:
        return self.views.query_apps(query)

    async def app_tree(self, name: str) -> list[dict[str, Any]]:
        return await self.views.app_tree(name)

    def commit_of(self, name: str) -> dict[str, Any] | None:
        return self.views.commit_of(name)

    def cluster_views(self) -> list[dict[str, Any]]:
        return self.views.cluster_views()

    def repository_views(self) -> list[dict[str, Any]]:
        return self.views.repository_views()


@dataclass(frozen=True)
class _Seed:
    """An app and its stored status document, as the notifier is seeded at start."""

    app: Application
    status: dict[str, Any]
