"""ApplicationSets in the control loop: generate each set, and register what it makes as apps.

A set is generated when the config declares it (at start and at each reload that changes it), when
a push names a repository its Git generators read (``repository_pushed``), and, when it has Git
generators, every ``requeueAfterSeconds`` (the smallest of them; 3 minutes by default, as Argo CD).
The generators run in a worker thread over the clusters of the config and the commits
``appsetrepos`` prepared; the plan (``appsetplan``) is then applied in one synchronous step with
one store transaction: new apps are registered and queued like any other, changed ones given their
new spec (their status, inventory and history stay), and apps the generators no longer give are
removed as their ``deletionPolicy`` says (``removal``) only when the set's ``applicationsSync``
deletes and nothing failed.

Never deleted on a failure: a generator that cannot read its repository (or any other generator
error) changes nothing, and the set is generated again after a backoff (10 s doubling, at most its
interval). A generated app is an app like any other: its parent is ``ApplicationSet/<name>``
(``registry.generated_by``), its record survives restarts, and the documents of what each set made
are kept in the store so its apps run at once after a restart, before the first generation. A set
that leaves the config takes its apps with it (``registry``: they leave the config and are removed
as their deletionPolicy says); a set the config refuses keeps them running as they were.

Deliberately not here: the generators and templates (``gitward.appset``), the Git reads
(``appsetrepos``), what changes (``appsetplan``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gitward.appset import (
    IN_CLUSTER_SERVER,
    ClusterInfo,
    GeneratorError,
    Inputs,
    NotFetched,
    Stamped,
    Stamper,
)
from gitward.appset.generators import generate
from gitward.core.clock import Clock
from gitward.core.errors import GitwardError
from gitward.core.repourl import repository_key
from gitward.model import IN_CLUSTER, Application, ApplicationSet, LoadedConfig
from gitward.model.appsetgen import AnyGenerator
from gitward.reconcile.appsetplan import SetPlan, plan_generation, plan_view
from gitward.reconcile.appsetrepos import FetchedRepositories
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.queue import Priority, WorkQueue
from gitward.reconcile.records import Records
from gitward.reconcile.registry import Registry, generated_by
from gitward.reconcile.removal import Removal, Removals
from gitward.reconcile.service import AppNotFound
from gitward.render import RenderSettings
from gitward.sources.credentials import display_url
from gitward.store import Store

log = logging.getLogger("gitward.appsets")

DEFAULT_INTERVAL = 180.0  # Argo CD's Git generator requeue
RETRY_FIRST = 10.0
MAX_FETCH_ROUNDS = 32  # repository revisions one generation may read


@dataclass
class _Entry:
    appset: ApplicationSet
    due: float = 0.0  # monotonic time of the next generation; 0: now
    failures: int = 0


@dataclass(frozen=True)
class Result:
    """One generation: what the set makes, or why it could not be generated."""

    stamped: Stamped | None
    error: str = ""
    parameter_sets: int = 0
    commits: dict[str, str] = field(default_factory=dict)


def _git_generators(generators: tuple[AnyGenerator, ...]) -> list[Any]:
    out: list[Any] = []
    for generator in generators:
        if generator.git is not None:
            out.append(generator.git)
        combined = getattr(generator, "matrix", None) or getattr(generator, "merge", None)
        if combined is not None:
            out += _git_generators(tuple(combined.generators))
    return out


def _uses_clusters(generators: tuple[AnyGenerator, ...]) -> bool:
    for generator in generators:
        combined = getattr(generator, "matrix", None) or getattr(generator, "merge", None)
        if generator.clusters is not None or (
            combined is not None and _uses_clusters(tuple(combined.generators))
        ):
            return True
    return False


def interval_of(appset: ApplicationSet) -> float | None:
    """How often a set with Git generators is generated again; None: only when something changes."""
    gits = _git_generators(appset.spec.generators)
    if not gits:
        return None
    asked = [g.requeue_after_seconds for g in gits if g.requeue_after_seconds is not None]
    return float(min(asked)) if asked else DEFAULT_INTERVAL


def _stamp(appset: ApplicationSet, inputs: Inputs) -> tuple[int, Stamped]:
    params = generate(appset, inputs)
    return len(params), Stamper(appset).stamp(params)


class AppSets:
    """The sets of the config, their generations, and the apps they made."""

    def __init__(
        self,
        *,
        registry: Registry,
        store: Store,
        fetcher: SourceFetcher,
        records: Records,
        removals: Removals,
        queue: WorkQueue,
        clock: Clock,
        render_settings: RenderSettings,
        fetch_freshness: float,
    ) -> None:
        self._registry, self._store, self._fetcher = registry, store, fetcher
        self._records, self._removals, self._queue, self._clock = records, removals, queue, clock
        self._render_settings, self._freshness = render_settings, fetch_freshness
        self._entries: dict[str, _Entry] = {}
        self._invalid: dict[str, str] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._clusters_seen: tuple[ClusterInfo, ...] = ()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.generations = 0  # generations applied or failed, for tests
        # Whether this process keeps the sets' documents (several replicas: the leader; each replica
        # generates the sets itself, so every one knows every generated app).
        self.keeps_state: Callable[[], bool] = lambda: True

    # -- the config ---------------------------------------------------------------------------------

    def load(self, config: LoadedConfig) -> None:
        """The sets of the config at start; the apps each made before run at once."""
        self._states = self._store.appset_states()
        self._configure(config)
        self._clusters_seen = self._clusters()
        for name in [*self._entries, *self._invalid]:
            self._restore(name)

    def update(self, config: LoadedConfig) -> None:
        """A reloaded config: new and changed sets are generated now, and the sets with a clusters
        generator when the Clusters changed; a set that left is forgotten (its apps left the config
        with it: the engine removes them)."""
        before = set(self._entries) | set(self._invalid)
        self._configure(config)
        clusters = self._clusters()
        if clusters != self._clusters_seen:
            self._clusters_seen = clusters
            for entry in self._entries.values():
                if _uses_clusters(entry.appset.spec.generators):
                    entry.due = 0.0
        for name in before - set(self._entries) - set(self._invalid):
            self._states.pop(name, None)
            if self.keeps_state():
                self._store.forget_appset_state(name)
        self._wake.set()

    def _configure(self, config: LoadedConfig) -> None:
        entries: dict[str, _Entry] = {}
        for appset in config.application_sets:
            old = self._entries.get(appset.name)
            entries[appset.name] = old if old is not None and old.appset == appset else _Entry(appset)
        self._entries = entries
        self._invalid = {e.name: e.message for e in config.errors if e.kind == "ApplicationSet" and e.name}

    def _restore(self, name: str) -> None:
        parent = generated_by(name)
        for app_name, document in (self._states.get(name, {}).get("apps") or {}).items():
            if app_name in self._registry.runtimes:
                continue
            try:
                app = Application.model_validate(document)
            except ValueError:
                log.warning("application %s made by ApplicationSet %s could not be read back", app_name, name)
                continue
            self._registry.put_generated(app, parent=parent)

    # -- triggers and the loop ----------------------------------------------------------------------

    def repository_pushed(self, url: str) -> list[str]:
        """A push to ``url``: the sets whose Git generators read it are generated now."""
        key = repository_key(url)
        names = [
            name
            for name, entry in self._entries.items()
            if key
            and any(repository_key(g.repo_url) == key for g in _git_generators(entry.appset.spec.generators))
        ]
        for name in names:
            self._entries[name].due = 0.0
        if names:
            self._wake.set()
        return names

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="appsets")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            for name, entry in list(self._entries.items()):
                if entry.due <= time.monotonic():
                    await self._run(name, entry)
            dues = [e.due for e in self._entries.values()]
            timeout = max(0.0, min(dues) - time.monotonic()) if dues else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _run(self, name: str, entry: _Entry) -> None:
        try:
            result = await self.generate(entry.appset)
            if self._entries.get(name) is entry:  # not replaced by a reload meanwhile
                self.apply(entry, result)
        except Exception:
            log.exception("ApplicationSet %s: generation failed unexpectedly", name)
            result = Result(None, error="internal error")
        interval = interval_of(entry.appset)
        now = time.monotonic()
        if result.error:
            entry.failures += 1
            backoff = RETRY_FIRST * 2 ** (entry.failures - 1)
            entry.due = now + min(backoff, interval or float("inf"), 300.0)
        else:
            entry.failures = 0
            entry.due = now + interval if interval is not None else float("inf")
        self.generations += 1

    # -- one generation -----------------------------------------------------------------------------

    def _clusters(self) -> tuple[ClusterInfo, ...]:
        out = [
            ClusterInfo(
                c.name,
                labels=dict(c.metadata.labels),
                annotations=dict(c.metadata.annotations),
                server=IN_CLUSTER_SERVER if c.name == IN_CLUSTER else "",
            )
            for c in self._registry.clusters.values()
        ]
        if IN_CLUSTER not in self._registry.clusters:
            try:
                self._registry.kubeconfig_of(IN_CLUSTER)
            except GitwardError:
                pass  # gitward cannot reach a cluster it runs in: not a target
            else:
                out.append(ClusterInfo(IN_CLUSTER, implicit=True, server=IN_CLUSTER_SERVER))
        return tuple(out)

    async def generate(self, appset: ApplicationSet, *, fresh: bool = False) -> Result:
        """Run the set's generators and make its Applications; changes nothing outside this call.
        ``fresh``: fetch every repository it reads, however recently it was fetched (a person asked)."""
        freshness = 0.0 if fresh else self._freshness
        repositories = FetchedRepositories(self._fetcher, self._render_settings, freshness=freshness)
        inputs = Inputs(clusters=self._clusters(), repositories=repositories)
        for _ in range(MAX_FETCH_ROUNDS):
            try:
                count, stamped = await asyncio.to_thread(_stamp, appset, inputs)
            except NotFetched as need:
                try:
                    await repositories.prepare(need.url, need.revision)
                except GitwardError as exc:
                    return Result(None, error=f"{display_url(need.url)} at {need.revision!r}: {exc.message}")
                continue
            except GeneratorError as exc:
                return Result(None, error=str(exc))
            return Result(stamped, parameter_sets=count, commits=dict(repositories.commits))
        return Result(None, error=f"the generators read more than {MAX_FETCH_ROUNDS} repository revisions")

    def apply(self, entry: _Entry, result: Result) -> SetPlan | None:
        """Carry out one generation's plan (in one store transaction, with no await)."""
        appset = entry.appset
        name = appset.name
        state = dict(self._states.get(name) or {})
        if result.stamped is None:
            log.warning("ApplicationSet %s: generation failed, nothing changed: %s", name, result.error)
            state.update(error=result.error, failedAt=self._clock.now())
            self._save(name, state)
            return None
        plan = plan_generation(appset, result.stamped, self._registry)
        with self._store.batch():
            self._carry_out(appset, plan)
            made = {
                n: rt.app.to_document()
                for n, rt in self._registry.runtimes.items()
                if rt.parent == generated_by(name)
            }
            state = {
                "apps": made,
                "generatedAt": self._clock.now(),
                "error": "",
                "parameterSets": result.parameter_sets,
                "commits": result.commits,
                "problems": plan.problems,
                "held": plan.hold,
                "kept": plan.keep,
                "blocked": plan.blocked,
            }
            self._save(name, state)
        if plan.changes or plan.problems:
            log.info(
                "ApplicationSet %s: %d created, %d updated, %d deleted, %d kept, %d blocked, %d problems",
                name, len(plan.create), len(plan.update), len(plan.delete), len(plan.keep), len(plan.blocked),
                len(plan.problems),
            )  # fmt: skip
        return plan

    def _carry_out(self, appset: ApplicationSet, plan: SetPlan) -> None:
        parent = generated_by(appset.name)
        for app in plan.create + plan.update:
            self._registry.put_generated(app, parent=parent)
        self._removals.declared({a.name for a in plan.create})
        for app in plan.create:
            self._records.record_event(
                app.name, type="Normal", reason="Generated", message=f"made by ApplicationSet {appset.name!r}"
            )
        for app in plan.update:
            self._records.record_event(
                app.name,
                type="Normal",
                reason="Regenerated",
                message=f"changed by ApplicationSet {appset.name!r}",
            )
        for app in plan.create + plan.update:
            self._queue.add(app.name, priority=Priority.WEBHOOK, reason="appset")
        if plan.delete:
            locks = {n: self._registry.runtimes[n].lock for n in plan.delete}
            self._registry.drop(plan.delete)
            why = f"left the generators of ApplicationSet {appset.name!r}"
            self._removals.start(
                [Removal(n, self._removals.policy_of(n), why, lock=locks[n]) for n in plan.delete]
            )

    def _save(self, name: str, state: dict[str, Any]) -> None:
        self._states[name] = state
        if self.keeps_state():
            self._store.save_appset_state(name, state)

    # -- what the API reads -------------------------------------------------------------------------

    def list_appsets(self) -> list[dict[str, Any]]:
        names = sorted({*self._entries, *self._invalid})
        return [self._summary(name) for name in names]

    def get_appset(self, name: str) -> dict[str, Any]:
        if name not in self._entries and name not in self._invalid:
            raise AppNotFound(f"ApplicationSet {name!r} not found")
        return self._summary(name, detail=True)

    async def preview_appset(self, name: str) -> dict[str, Any]:
        """What generating ``name`` now would make and change; registers, deletes and records nothing."""
        entry = self._entries.get(name)
        if entry is None:
            if name in self._invalid:
                raise GitwardError(
                    f"ApplicationSet {name!r} is invalid: {self._invalid[name]}", reason="Invalid"
                )
            raise AppNotFound(f"ApplicationSet {name!r} not found")
        result = await self.generate(entry.appset, fresh=True)
        out: dict[str, Any] = {"name": name, "error": result.error, "apps": [], "problems": []}
        if result.stamped is not None:
            plan = plan_generation(entry.appset, result.stamped, self._registry)
            out["apps"] = plan_view(plan, result.stamped, self._registry.runtimes)
            out["problems"] = plan.problems
            out["parameterSets"] = result.parameter_sets
        return out

    def _summary(self, name: str, *, detail: bool = False) -> dict[str, Any]:
        state = self._states.get(name) or {}
        entry = self._entries.get(name)
        made = sorted(n for n, rt in self._registry.runtimes.items() if rt.parent == generated_by(name))
        out: dict[str, Any] = {
            "name": name,
            "invalid": self._invalid.get(name, ""),
            "apps": len(made),
            "generatedAt": state.get("generatedAt"),
            "error": state.get("error") or "",
            "problems": len(state.get("problems") or ()),
        }
        if entry is not None:
            spec = entry.appset.spec
            out.update(
                kind="argoproj.io/v1alpha1" if entry.appset.argocd else "gitward.dev/v1alpha1",
                generators=[_describe(g) for g in spec.generators],
                applicationsSync=spec.sync_policy.policy,
                preserveResourcesOnDeletion=spec.sync_policy.preserve_resources_on_deletion,
                goTemplate=spec.go_template,
            )
        if detail:
            out.update(
                applications=made,
                problemMessages=list(state.get("problems") or ()),
                kept=list(state.get("kept") or ()),
                blocked=list(state.get("blocked") or ()),
                held=list(state.get("held") or ()),
                parameterSets=state.get("parameterSets"),
                commits=dict(state.get("commits") or {}),
                failedAt=state.get("failedAt"),
            )
        return out


def _describe(generator: AnyGenerator) -> str:
    """``git``, ``matrix(git, clusters)``, ... for listings."""
    combined = getattr(generator, "matrix", None) or getattr(generator, "merge", None)
    if combined is None:
        return next(
            k for k in ("list", "clusters", "git") if getattr(generator, "list_" if k == "list" else k)
        )
    kind = "matrix" if getattr(generator, "matrix", None) is not None else "merge"
    return f"{kind}({', '.join(_describe(g) for g in combined.generators)})"
