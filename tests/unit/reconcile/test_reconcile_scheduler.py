"""The scheduler on a fake clock: interval resync with jitter, retry backoff, dependency wake-ups,
and watch events coalesced into one pass per app."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from gitward.apply import VerdictCache
from gitward.core.appstatus import AppStatus
from gitward.core.errors import GitwardError, Stalled, Waiting
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.model import Application, load_objects
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.registry import Registry
from gitward.reconcile.runtime import AppRuntime, SyncRequest
from gitward.reconcile.scheduler import FULL_SCAN_SECONDS, Scheduler
from gitward.reconcile.settings import EngineSettings
from gitward.store import Store
from gitward.testing.clock import FakeClock

pytestmark = pytest.mark.unit

KEY = ResourceKey("apps", "Deployment", "web", "web")


class EmptyStore:
    """What the registry reads of an app at registration: nothing stored yet."""

    def load_status(self, name: str) -> dict[str, Any] | None:
        return None

    def load_verdicts(self, name: str) -> dict[str, Any]:
        return {}

    def load_inventory(self, name: str) -> list[InventoryEntry]:
        return []

    def app_records(self) -> dict[str, dict[str, Any]]:
        return {}

    def save_app_record(self, name: str, data: dict[str, Any]) -> None:
        return None


def application(name: str, *, interval: str = "60s", depends_on: tuple[str, ...] = ()) -> Application:
    spec: dict[str, Any] = {
        "source": {"repoURL": "https://git.example.com/a.git", "path": name, "revision": "main"},
        "destination": {"cluster": "c1", "namespace": name},
        "syncPolicy": {
            "interval": interval,
            "retry": {"limit": 3, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "30s"}},
        },
    }
    if depends_on:
        spec["dependsOn"] = [{"name": d} for d in depends_on]
    doc = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": spec,
    }
    config = load_objects([doc])
    assert not config.errors, config.errors
    return config.applications[0]


class World:
    def __init__(self, *apps: Application) -> None:
        self.clock = FakeClock()
        self.registry = Registry(cast(Store, EmptyStore()), config_path=Path("/nonexistent"))
        for app in apps:
            self.registry.register(app)
        self.passes: list[tuple[str, str]] = []
        self.scheduler = Scheduler(
            settings=EngineSettings(config_path=Path("/nonexistent"), state_path=Path("/nonexistent/db")),
            clock=self.clock,
            registry=self.registry,
            fetcher=cast(SourceFetcher, None),  # no test here polls a repository
            run_pass=self._run_pass,
        )

    async def _run_pass(self, rt: AppRuntime, req: SyncRequest) -> None:
        self.passes.append((rt.name, req.trigger))

    def rt(self, name: str) -> AppRuntime:
        return self.registry.runtimes[name]


def test_an_app_is_queued_when_its_jittered_interval_is_due_and_not_before() -> None:
    world = World(application("web", interval="60s"))
    world.scheduler.schedule_interval(world.rt("web"))
    due_in = world.rt("web").next_due - world.clock.monotonic()
    assert 54.0 <= due_in <= 66.0  # 60s, jittered by at most a tenth
    world.clock.advance(due_in - 0.1)
    assert world.scheduler.tick() == []
    assert not world.scheduler.queue.is_busy("web")
    world.clock.advance(0.2)
    assert world.scheduler.tick() == ["web"]
    assert world.scheduler.queue.is_busy("web")
    assert world.rt("web").next_due == 0.0  # queued once, not again at every tick
    assert world.scheduler.tick() == []


def test_a_tick_looks_only_at_the_apps_whose_time_came_and_at_every_app_once_a_minute() -> None:
    """Due times the scheduler set come from its heap; a due time set any other way is still found
    by the look at every app (``FULL_SCAN_SECONDS``), not at every tick."""
    world = World(application("web", interval="10s"), application("other"), application("idle"))
    assert world.scheduler.tick() == []  # the first tick looks at every app: none is due
    world.scheduler.schedule_interval(world.rt("web"))
    world.scheduler.failed(world.rt("other"), GitwardError("boom"))  # retry in 10 s
    world.rt("idle").next_due = world.clock.monotonic() + 1  # not set by the scheduler
    world.clock.advance(12)
    assert sorted(world.scheduler.tick()) == ["other", "web"]
    assert not world.scheduler.queue.is_busy("idle")  # due, but not reminded: waits for the full look
    world.clock.advance(30)
    assert world.scheduler.tick() == []
    world.clock.advance(FULL_SCAN_SECONDS)
    assert world.scheduler.tick() == ["idle"]


def test_a_reminder_whose_app_is_no_longer_due_queues_nothing() -> None:
    world = World(application("web", interval="10s"))
    world.scheduler.tick()
    world.scheduler.schedule_interval(world.rt("web"))
    world.rt("web").next_due = 0.0  # released to another replica, say
    world.clock.advance(12)
    assert world.scheduler.tick() == []
    assert not world.scheduler.queue.is_busy("web")


def test_jitter_spreads_the_intervals_of_many_apps() -> None:
    apps = [application(f"app{i}", interval="600s") for i in range(30)]
    world = World(*apps)
    for app in apps:
        world.scheduler.schedule_interval(world.rt(app.name))
    dues = {round(world.rt(app.name).next_due, 3) for app in apps}
    assert len(dues) > 20  # not one second for all of them
    now = world.clock.monotonic()
    assert all(now + 540.0 <= due <= now + 660.0 for due in dues)


def test_retries_back_off_exponentially_up_to_the_limit_and_a_success_resets_them() -> None:
    world = World(application("web"))
    rt, scheduler = world.rt("web"), world.scheduler
    delays = [scheduler.failed(rt, GitwardError("boom")) for _ in range(4)]
    assert delays[0] is not None
    assert 9.0 <= delays[0] <= 11.0
    assert delays[1] is not None
    assert 18.0 <= delays[1] <= 22.0
    assert delays[2] is not None
    assert 27.0 <= delays[2] <= 33.0  # capped at maxDuration
    assert delays[3] is None  # limit 3: it waits for a change now
    assert rt.retry_at is None
    assert rt.settled_at == 0.0
    scheduler.succeeded(rt)
    assert scheduler.backoff.failures("web") == 0
    again = scheduler.failed(rt, GitwardError("boom"))
    assert again is not None
    assert 9.0 <= again <= 11.0


def test_a_retry_is_queued_when_its_backoff_has_passed() -> None:
    world = World(application("web"))
    rt = world.rt("web")
    delay = world.scheduler.failed(rt, GitwardError("boom"))
    assert delay is not None
    assert rt.retry_at == pytest.approx(world.clock.monotonic() + delay)
    world.clock.advance(delay - 0.5)
    assert world.scheduler.tick() == []
    world.clock.advance(1.0)
    assert world.scheduler.tick() == ["web"]
    assert rt.retry_at is None


def test_waiting_retries_after_its_own_delay_and_stalled_does_not_retry() -> None:
    world = World(application("web"))
    rt = world.rt("web")
    assert world.scheduler.failed(rt, Waiting("later", retry_after=7)) == 7
    assert rt.retry_at == world.clock.monotonic() + 7
    assert world.scheduler.backoff.failures("web") == 0  # a wait is not a failure that grows
    assert world.scheduler.failed(rt, Stalled("needs a person")) is None
    assert rt.retry_at is None


def test_dependents_waiting_for_a_retry_are_woken_when_their_dependency_settles() -> None:
    world = World(application("db"), application("web", depends_on=("db",)), application("other"))
    web, other = world.rt("web"), world.rt("other")
    with pytest.raises(Waiting, match="dependency 'db'"):
        world.scheduler.dependencies.check(web)
    world.scheduler.failed(web, Waiting("waiting for db", retry_after=5))
    other.retry_at = world.clock.monotonic() + 5  # waits too, but not on db
    world.scheduler.succeeded(world.rt("db"))
    assert world.scheduler.queue.is_busy("web")
    assert not world.scheduler.queue.is_busy("other")
    world.rt("db").status = AppStatus.from_dict(
        {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}
    )
    world.scheduler.dependencies.check(web)  # ready now: no Waiting


async def test_a_burst_of_watch_events_on_one_app_collapses_into_one_pass() -> None:
    world = World(application("web"), application("other"))
    rt = world.rt("web")
    rt.inventory = [InventoryEntry(KEY, "apps/v1")]
    world.registry.reindex(rt)
    rt.verdicts = VerdictCache()
    triggers = world.scheduler.object_triggers
    for version in ("11", "12", "13"):
        triggers.on_change("MODIFIED", KEY, {"metadata": {"resourceVersion": version}})
    triggers.on_change("MODIFIED", ResourceKey("", "ConfigMap", "x", "unowned"), {"metadata": {}})
    world.scheduler.queue.start()
    try:
        await asyncio.wait_for(world.scheduler.queue.wait_idle(), timeout=5)
    finally:
        await world.scheduler.queue.stop()
    assert world.passes == [("web", "drift")]


def test_the_echo_of_gitwards_own_write_wakes_nobody() -> None:
    world = World(application("web"))
    rt = world.rt("web")
    rt.inventory = [InventoryEntry(KEY, "apps/v1")]
    world.registry.reindex(rt)
    rt.verdicts = VerdictCache.from_export([])
    rt.verdicts.record(KEY, digest="d", resource_version="42")
    world.scheduler.object_triggers.on_change("MODIFIED", KEY, {"metadata": {"resourceVersion": "42"}})
    assert not world.scheduler.queue.is_busy("web")
    world.scheduler.object_triggers.on_change("MODIFIED", KEY, {"metadata": {"resourceVersion": "43"}})
    assert world.scheduler.queue.is_busy("web")


async def test_start_runs_a_first_pass_of_every_app() -> None:
    world = World(application("b"), application("a"))
    world.scheduler.start()
    try:
        await asyncio.wait_for(world.scheduler.queue.wait_idle(), timeout=5)
    finally:
        await world.scheduler.stop()
    assert sorted(world.passes) == [("a", "start"), ("b", "start")]
