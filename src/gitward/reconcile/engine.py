"""The engine: gitward's control loop, wired from its parts. Only wiring lives here.

``Engine.start`` builds every part from ``EngineSettings`` and starts them; ``stop`` stops them in
reverse. Each role has its own module:
- ``registry``: the apps, projects, clusters and receivers, the claims on objects;
- ``scheduler``: the work queue, the ticker (intervals with jitter, retries after backoff), the
  interval resync (``resync``), the triggers (``triggers``) and the dependency wake-ups
  (``dependencies``);
- ``reconcile_pass``: one reconcile of one app, from fetch to record;
- ``actions``: what the API and CLI ask for (``EngineService``);
- ``appsets``: ApplicationSets generated into apps like any other (``AppSetService``);
- ``views``: the read side (``EngineViews``): app index, live feed, trees;
- ``clusters``, ``records``, ``gates``, ``readings``: connections, events and saved statuses, what
  holds automation back, the numbers ``/metrics`` reads;
- with several replicas (``settings.replicas``): ``replicas`` (Leases, who owns which app, the write
  fence every cluster connection and the store ask), ``shards`` (apps taken and released) and
  ``relay`` (webhooks and actions that reached this replica for apps another one owns).
The engine answers the API's two protocols by handing each call to the part that owns it.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.cluster.connection import ClusterConnections
from gitward.core.appstatus import AppStatus
from gitward.core.backoff import Backoff
from gitward.core.clock import Clock, SystemClock
from gitward.core.errors import GitwardError
from gitward.health import ENTRY_POINT_GROUP, load_plugins
from gitward.model import Application, LoadedConfig, ObjectError, Receiver
from gitward.notify import Notifier
from gitward.reconcile import metrics, operation
from gitward.reconcile.accessbook import AccessBook
from gitward.reconcile.actions import Actions
from gitward.reconcile.appindex import AppPage, AppQuery
from gitward.reconcile.appsets import AppSets
from gitward.reconcile.clusters import Clusters
from gitward.reconcile.clustersource import ClusterSource
from gitward.reconcile.config import load_config
from gitward.reconcile.configwatch import ConfigWatch
from gitward.reconcile.cycles import check_cycles
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.eventwriter import EventWriter
from gitward.reconcile.gates import Gates
from gitward.reconcile.healthexplain import explain_health
from gitward.reconcile.livefeed import StatusFeed
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.readings import Readings
from gitward.reconcile.reconcile_pass import ReconcilePass
from gitward.reconcile.records import Records
from gitward.reconcile.registry import ConfigChanges, Registry
from gitward.reconcile.relay import Relay
from gitward.reconcile.removal import Removal, Removals
from gitward.reconcile.replicas import Replicas
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.scheduler import Scheduler
from gitward.reconcile.secrets import ClusterSecrets, receiver_secret
from gitward.reconcile.settings import EngineSettings
from gitward.reconcile.shards import Shards
from gitward.reconcile.statuswriter import StatusWriter
from gitward.reconcile.views import Views
from gitward.reconcile.windowbook import WindowBook, check_windows
from gitward.render import RenderTools
from gitward.store import Store

__all__ = ["Engine", "EngineSettings"]

log = logging.getLogger("gitward.engine")


def unreadable(config: LoadedConfig) -> list[ObjectError]:
    """Errors that make the config as a whole unknown: a file that did not parse, a document that is
    not an object or has no name. While any remains, no app counts as having left the config. An
    object of a known kind and name refused by a rule on the whole config (``model/secretrefs.py``,
    which knows no document position) is not one: it keeps its last good state like any other."""
    return [e for e in config.errors if not e.name or (e.document < 0 and not e.kind)]


@dataclass
class ConfigState:
    """How the last load of the config went: when, and what was refused (shown by the API)."""

    loaded_at: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)
    kept_last_good: bool = False  # the last reload was refused as a whole


class Engine:
    """Implements ``EngineService``, ``EngineViews`` and ``AppSetService``; ``start`` opens everything,
    ``stop`` closes it."""

    def __init__(self, settings: EngineSettings, *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        several = settings.replicas
        self.store = Store.open(
            settings.database or settings.state_path,
            idle_in_transaction_timeout=None if several is None else several.lease_duration,
        )
        self.replicas = None if several is None else Replicas(several, clock=self.clock, store=self.store)
        if self.replicas is not None:  # every write to every cluster asks the fence first
            fenced = dataclasses.replace(
                settings.connection, write_fence=self.replicas.time_left, user_agent=self.replicas.user_agent
            )
            settings = dataclasses.replace(settings, connection=fenced)
        self.settings = settings
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
        # Health plugins: the installed packages' ``gitward.health`` entry points, read once at start.
        self.registry.health.plugins = load_plugins(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
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
        self.removals = Removals(
            store=self.store,
            registry=self.registry,
            clusters=self.clusters,
            records=self.records,
            clock=self.clock,
            on_removed=self._removed,
        )
        self.appsets = AppSets(
            registry=self.registry,
            store=self.store,
            fetcher=self.fetcher,
            records=self.records,
            removals=self.removals,
            queue=self.scheduler.queue,
            clock=self.clock,
            render_settings=settings.render,
            fetch_freshness=settings.fetch_freshness,
        )
        self.config_state = ConfigState()
        self.access_book = AccessBook(config_path=settings.config_path)  # the API follows it
        self.config_watch: ConfigWatch | None = None
        self.cluster_source: ClusterSource | None = None  # the config from custom resources
        self.status_writer: StatusWriter | None = None
        self.event_writer: EventWriter | None = None
        self._left_at_start: list[str] = []
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
            removals=self.removals,
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
            removals=self.removals,
        )
        self.readings = Readings(
            queue=self.scheduler.queue,
            fetcher=self.fetcher,
            connections=self.connections,
            registry=self.registry,
        )
        self.shards: Shards | None = None
        self.relay: Relay | None = None
        if self.replicas is not None:
            replicas = self.replicas
            self.registry.owns = self.records.owns = replicas.owns
            self.appsets.keeps_state = lambda: replicas.leader
            self.shards = Shards(
                registry=self.registry,
                store=self.store,
                scheduler=self.scheduler,
                notifier=self.notifier,
                removals=self.removals,
                views=self.views,
                clock=self.clock,
            )
            self.relay = Relay(
                store=self.store,
                replicas=self.replicas,
                clock=self.clock,
                registry=self.registry,
                actions=self.actions,
            )

    # -- lifecycle ------------------------------------------------------------------------------------

    @classmethod
    async def start(cls, settings: EngineSettings, *, clock: Clock | None = None) -> Engine:
        engine = cls(settings, clock=clock)
        if settings.from_cluster is not None:
            engine.cluster_source = await ClusterSource.open(
                settings.from_cluster, engine.settings.connection
            )
            engine.status_writer = StatusWriter(
                engine.cluster_source.connection.client, engine.cluster_source
            )
            engine.records.status_listeners.append(engine.status_writer.saved)
            engine.event_writer = EventWriter(engine.cluster_source.connection.client, engine.cluster_source)
            engine.records.event_listeners.append(engine.event_writer.recorded)
            secrets = ClusterSecrets(engine.cluster_source.connection.client, settings.cache_dir / "secrets")
            engine.fetcher.secrets = engine.clusters.secrets = engine.access_book.secrets = secrets
            engine.notifier.secrets = secrets
        engine.load()
        if engine.replicas is None:  # with several, each app's operation is adopted as it is taken
            engine.resume_interrupted()
        engine.notifier.start(
            _Seed(rt.app, rt.status.to_dict())
            for rt in engine.registry.runtimes.values()
            if engine.registry.owns(rt.name)
        )
        engine.scheduler.start()
        engine.appsets.start()
        engine.removals.start(engine._removals_of(engine._left_at_start, {}))
        if settings.watch_config > 0:
            engine.config_watch = ConfigWatch(
                settings.config_path,
                engine.reload,
                interval=settings.watch_config,
                settle=settings.watch_config,
            )
            engine.config_watch.start()
        if engine.cluster_source is not None and engine.status_writer is not None:
            engine.cluster_source.watch(engine.reload)
            engine.status_writer.start()
            if engine.event_writer is not None:
                engine.event_writer.start()
            engine.status_writer.refusals = engine.replicas is None  # several: the leader's
            engine.status_writer.config_read()
            for rt in engine.registry.runtimes.values():
                if engine.registry.owns(rt.name):
                    engine.status_writer.saved(rt)
            engine._release_finalizers()
        if engine.replicas is not None and engine.shards is not None and engine.relay is not None:
            engine.shards.status_writer = engine.status_writer
            engine.shards.start()
            await engine.replicas.start(engine.shards)
            engine.relay.start()
        metrics.ENGINES.track(engine.readings)
        return engine

    async def stop(self) -> None:
        metrics.ENGINES.untrack(self.readings)
        if self.replicas is not None:
            self.replicas.close_fence()  # nothing is written from here on
        if self.relay is not None:
            await self.relay.stop()
        if self.shards is not None:
            await self.shards.stop()
        if self.config_watch is not None:
            await self.config_watch.stop()
        if self.status_writer is not None:
            await self.status_writer.stop()
        if self.event_writer is not None:
            await self.event_writer.stop()
        if self.cluster_source is not None:
            await self.cluster_source.stop()
        await self.appsets.stop()
        await self.removals.stop()
        self.gates.close()
        await self.notifier.stop()
        await self.scheduler.stop()
        await self.clusters.stop()
        await self.fetcher.git.close()
        await self.connections.close_all()
        if self.replicas is not None:
            await self.replicas.stop()  # the Leases released last: the others take over at once
        self.store.close()

    def load(self) -> None:
        """The config: cycles and unreadable windows refused, every part given what it needs.

        The apps the store knows that the config no longer declares are removed once the engine
        runs (``removal``), unless part of the config could not be read.
        """
        config = self._configure(self._read_config())
        left = self.registry.load(config)
        self.appsets.load(config)  # the apps each ApplicationSet made run before it is generated again
        self.removals.load()
        problems = unreadable(config)
        if problems and left:
            log.warning(
                "config has errors (%s); no application counts as removed until it loads cleanly: %s",
                problems[0].message,
                ", ".join(left),
            )
            left = []
        self._left_at_start = left
        self._config_loaded(config, kept_last_good=False)

    def _read_config(self) -> LoadedConfig:
        """The config files, or the cluster's custom resources with ``run --from-cluster``."""
        if self.cluster_source is not None:
            return self.cluster_source.config()
        return load_config(self.settings.config_path, settings=self.settings.render)

    def _configure(self, config: LoadedConfig) -> LoadedConfig:
        config = check_cycles(config)
        config, windows = check_windows(config)
        self.gates.book = WindowBook(windows)
        self.fetcher.repositories = config.repositories
        self.fetcher.plugins = config.plugins
        self.fetcher.render_cache.fit(len(config.applications))
        self.fetcher.project_of = self.registry.project  # signature rules (reconcile/trust.py)
        self.notifier.configure(config.notifications)
        self.access_book.configure(config)
        return config

    def _config_loaded(self, config: LoadedConfig, *, kept_last_good: bool) -> None:
        self.config_state = ConfigState(
            loaded_at=self.clock.now(),
            errors=[
                {"kind": e.kind, "name": e.name, "message": e.message, "document": e.document}
                for e in config.errors
            ],
            kept_last_good=kept_last_good,
        )

    def _removed(self, name: str) -> None:
        """``name`` was removed: the apps refused because its marks were on their objects try again."""
        refused = f"is managed by application {name!r}"
        for rt in self.registry.runtimes.values():
            if refused in (rt.status.error or ""):
                self.scheduler.queue.add(rt.name, priority=Priority.WEBHOOK, reason="owner-removed")
        self._release_finalizers()

    def _release_finalizers(self) -> None:
        """Argo CD's resources finalizers on deleted Applications whose app is gone (clustersource);
        with several replicas, by the replica the name is placed on."""
        if self.cluster_source is not None:
            self.cluster_source.release_finalizers(
                lambda name: (
                    name not in self.registry.runtimes
                    and not self.removals.is_pending(name)
                    and (self.replicas is None or self.replicas.owner_of(name) == self.replicas.replica_id)
                )
            )

    def _removals_of(self, names: list[str], runtimes: Mapping[str, AppRuntime]) -> list[Removal]:
        return [
            Removal(
                name,
                self.removals.policy_of(name),
                "left the config",
                lock=runtimes[name].lock if name in runtimes else None,
            )
            for name in names
        ]

    def reload(self) -> ConfigChanges | None:
        """Read the config again and apply it (``configwatch`` calls this when the files change).

        A config with a file that does not parse, or a document that cannot be told apart, is
        refused as a whole: it is reported (log, the API's config errors, a Warning event on each
        app it names) and the last good config keeps running. Otherwise new apps are registered and
        reconciled, changed apps reconciled with their new spec, and apps that left it removed as
        their deletionPolicy says. An app the new config refuses keeps its last good spec.
        Returns what changed, or None when the config was refused.
        """
        try:
            config = self._read_config()
        except GitwardError as error:
            config = LoadedConfig(errors=(ObjectError("", str(self.settings.config_path), str(error), -1),))
        problems = unreadable(config)
        if problems:
            self._config_loaded(config, kept_last_good=True)
            for problem in problems:
                log.warning(
                    "config not reloaded, the last good one keeps running: %s: %s",
                    problem.name or f"document {problem.document}",
                    problem.message,
                )
            return None
        config = self._configure(config)
        before = dict(self.registry.invalid)
        changes = self.registry.update(config)
        self.appsets.update(config)
        self.removals.declared(set(changes.added) | set(changes.changed))
        for name, message in self.registry.invalid.items():
            if before.get(name) != message:
                kept = " (its last good spec keeps running)" if name in self.registry.runtimes else ""
                self.records.record_event(
                    name, type="Warning", reason="InvalidSpec", message=f"config refused{kept}: {message}"
                )
        for name in changes.added + changes.changed:
            self.scheduler.queue.add(name, priority=Priority.WEBHOOK, reason="config")
        for name in self.registry.owners_of_kinds(changes.health_kinds):  # new health rules: assess again
            self.scheduler.queue.add(name, priority=Priority.DEPENDENCY, reason="health-rules")
        self.removals.start(self._removals_of(changes.removed, changes.removed_runtimes))
        self._config_loaded(config, kept_last_good=False)
        if self.status_writer is not None:
            self.status_writer.config_read()
        self._release_finalizers()
        log.info(
            "config reloaded: %d added, %d changed, %d removed%s",
            len(changes.added),
            len(changes.changed),
            len(changes.removed),
            f" ({', '.join(changes.added + changes.changed + changes.removed)})"
            if changes.added or changes.changed or changes.removed
            else "",
        )
        return changes

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
        if self.replicas is not None and not self.replicas.owns(name) and name in self.registry.runtimes:
            stored = self.store.load_status(name)  # another replica's: as its owner last saved it
            if stored is not None:
                self.registry.runtimes[name].status = AppStatus.from_dict(stored)
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
        if self._elsewhere(name):
            args = {"revision": revision, "prune": prune, "force": force, "initiator": initiator}
            return await self._ask_owner(name, "sync_app", args)
        return await self.actions.sync_app(
            name, revision=revision, prune=prune, force=force, initiator=initiator
        )

    async def refresh_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        if self._elsewhere(name):
            return await self._ask_owner(name, "refresh_app", {"initiator": initiator})
        return await self.actions.refresh_app(name, initiator=initiator)

    def history(self, name: str) -> list[dict[str, Any]]:
        return self.actions.history(name)

    async def rollback(self, name: str, history_id: int, *, initiator: str = "") -> dict[str, Any]:
        if self._elsewhere(name):
            args = {"history_id": history_id, "initiator": initiator}
            return await self._ask_owner(name, "rollback", args)
        return await self.actions.rollback(name, history_id, initiator=initiator)

    def events(self, name: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        return self.actions.events(name, limit=limit)

    def suspend_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        if self._elsewhere(name):
            return self._tell_owner(name, "suspend_app", {"initiator": initiator})
        return self.actions.suspend_app(name, initiator=initiator)

    def resume_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        if self._elsewhere(name):
            return self._tell_owner(name, "resume_app", {"initiator": initiator})
        return self.actions.resume_app(name, initiator=initiator)

    def terminate_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        if self._elsewhere(name):
            return self._tell_owner(name, "terminate_app", {"initiator": initiator})
        return self.actions.terminate_app(name, initiator=initiator)

    async def delete_app(
        self, name: str, *, cascade: str | None = None, initiator: str = ""
    ) -> dict[str, Any]:
        if self._elsewhere(name, declared=False):
            return await self._ask_owner(name, "delete_app", {"cascade": cascade, "initiator": initiator})
        return await self.actions.delete_app(name, cascade=cascade, initiator=initiator)

    def _elsewhere(self, name: str, *, declared: bool = True) -> bool:
        """With several replicas: ``name`` is another replica's, so the relay carries the action."""
        return self.relay is not None and self.relay.elsewhere(name, declared=declared)

    async def _ask_owner(self, name: str, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        assert self.relay is not None
        return dict(await self.relay.ask(name, action, args))

    def _tell_owner(self, name: str, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Passed on without waiting: the app as this replica last read it, and who will act."""
        assert self.relay is not None
        owner = self.relay.tell(name, action, args)
        return {**self.get_app(name), "relayedTo": owner}

    def config_status(self) -> dict[str, Any]:
        """How the last load of the config went: ``{path, loadedAt, keptLastGood, errors}``."""
        state = self.config_state
        return {
            "path": str(self.settings.config_path),
            "loadedAt": state.loaded_at,
            "keptLastGood": state.kept_last_good,
            "errors": state.errors,
        }

    def project_windows(self, name: str) -> dict[str, Any]:
        return self.actions.project_windows(name)

    async def trigger_repository(self, url: str, *, refs: Mapping[str, str] | None = None) -> list[str]:
        if self.relay is not None:  # this replica's apps now, the others' when they read it
            triggered = await self.relay.push(url, refs or {})
        else:
            triggered = await self.actions.trigger_repository(url, refs=refs)
        self.appsets.repository_pushed(url)  # after the fetch above: the sets read the fresh mirror
        return triggered

    # -- AppSetService: ApplicationSets ----------------------------------------------------------------

    def list_appsets(self) -> list[dict[str, Any]]:
        return self.appsets.list_appsets()

    def get_appset(self, name: str) -> dict[str, Any]:
        return self.appsets.get_appset(name)

    async def preview_appset(self, name: str) -> dict[str, Any]:
        return await self.appsets.preview_appset(name)

    def webhook_receiver(self, name: str) -> Receiver | None:
        return self.actions.webhook_receiver(name)

    async def webhook_secret(self, receiver: Receiver) -> bytes:
        return await receiver_secret(receiver, self.fetcher.secrets)

    def explain_health(
        self, app: str, *, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        return explain_health(self.registry, self.connections, app, kind=kind, name=name, namespace=namespace)

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
