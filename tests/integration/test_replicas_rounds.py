"""Two replicas' Lease rounds against the real API server and a real PostgreSQL store, driven round
by round on a fake clock: the apps are split, a paused replica is fenced before the other takes its
apps, it drops everything when it resumes and takes its share back only after its new tenure
settled, the leader moves with it, and a replica that stops releases its apps at once.

At every tick no app may be writable by both replicas (``WriteFence.may_write``) and the store's
``app_owners`` agrees with the replicas' own view of what they took. The whole process, with real
time and real ``gitward run`` processes, is ``tests/e2e/test_gitward_replicas.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from gitward.reconcile.replicas import Replicas
from gitward.reconcile.settings import ReplicaSettings
from gitward.replicas import shares
from gitward.store import Store
from gitward.testing.clock import FakeClock

APPS = [f"app-{i:02d}" for i in range(24)]
DURATION = 5.0  # renewed every second, a margin of 1 s


@dataclass
class RecordingShard:
    """Stands for the engine: the app names, and what came and went."""

    store: Store
    acquired_names: list[str] = field(default_factory=list)
    released_names: list[str] = field(default_factory=list)
    leader: bool = False

    def names(self) -> Mapping[str, str]:
        return {name: name for name in APPS}

    def busy(self, name: str) -> bool:
        return False

    async def load(self, names: Collection[str]) -> Mapping[str, Any]:
        return self.store.load_apps(names)

    def acquired(self, names: Collection[str], rows: Mapping[str, Any]) -> None:
        self.acquired_names += names

    def released(self, names: Collection[str]) -> None:
        self.released_names += names

    def leading(self, leader: bool) -> None:
        self.leader = leader


@dataclass
class World:
    clock: FakeClock
    a: Replicas
    b: Replicas
    shard_a: RecordingShard
    shard_b: RecordingShard
    store: Store

    async def tick(self, *, rounds: tuple[Replicas, ...]) -> None:
        """One renewal period: the clock moves, the given replicas run a round and take what is theirs."""
        self.clock.advance(DURATION / 5)
        for replica in rounds:
            await replica.round()
            await replica.acquire()
        self.check_no_app_writable_twice()

    def check_no_app_writable_twice(self) -> None:
        both = [app for app in APPS if self.a.fence.may_write(app) and self.b.fence.may_write(app)]
        assert both == []

    def writable(self, replica: Replicas) -> set[str]:
        return {app for app in APPS if replica.fence.may_write(app)}


@pytest.fixture
async def world(kube_cluster: Any, postgres_url: str) -> AsyncIterator[World]:
    namespace = f"gw-leases-{uuid.uuid4().hex[:6]}"
    kube_cluster.kubectl("create", "namespace", namespace)
    clock = FakeClock()
    stores = [Store.open(postgres_url, idle_in_transaction_timeout=DURATION) for _ in range(3)]

    def replica(name: str, store: Store) -> Replicas:
        settings = ReplicaSettings(
            replica_id=name, namespace=namespace, kubeconfig=kube_cluster.kubeconfig, lease_duration=DURATION
        )
        return Replicas(settings, clock=clock, store=store)

    a, b = replica("gw-a", stores[0]), replica("gw-b", stores[1])
    shard_a, shard_b = RecordingShard(stores[0]), RecordingShard(stores[1])
    await a.open(shard_a)
    await b.open(shard_b)
    try:
        yield World(clock, a, b, shard_a, shard_b, stores[2])
    finally:
        for r in (a, b):
            await r.stop()
        for store in stores:
            store.close()
        kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false")


async def test_apps_split_then_a_paused_replica_is_fenced_taken_over_and_rejoins(world: World) -> None:
    a, b = world.a, world.b
    await a.round()
    await b.round()
    assert world.writable(a) == world.writable(b) == set()  # nobody acts before its tenure settled
    for _ in range(7):
        await world.tick(rounds=(a, b))
    expected = shares(APPS, ["gw-a", "gw-b"])
    assert world.writable(a) == expected["gw-a"]
    assert world.writable(b) == expected["gw-b"]
    owners = world.store.app_owners()
    assert {app for app, holder in owners.items() if holder == a.identity} == expected["gw-a"]
    assert {app for app, holder in owners.items() if holder == b.identity} == expected["gw-b"]
    for _ in range(6):  # one of them is the leader once it has held the leader Lease for a duration
        await world.tick(rounds=(a, b))
    assert [a.leader, b.leader].count(True) == 1
    paused, other = (a, b) if a.leader else (b, a)  # pause the leader: the leadership must move too

    # SIGSTOP: the paused replica runs no round; its own fence closes before the other may take over.
    taken_at = None
    for tick in range(12):
        await world.tick(rounds=(other,))
        if taken_at is None and world.writable(other) == set(APPS):
            taken_at = tick
            assert world.writable(paused) == set()
    assert taken_at is not None
    assert set(world.store.app_owners().values()) == {other.identity}
    assert other.leader
    stale = sorted(paused.fence.owned)  # what the paused process still believes it owns
    assert stale
    with pytest.raises(Exception, match="write refused"):
        paused.fence.check(stale[0])

    # SIGCONT: its first round renews a lapsed Lease: a new tenure, so it drops everything at once.
    released_before = len((world.shard_a if paused is a else world.shard_b).released_names)
    await paused.round()
    assert paused.fence.owned == {}
    shard = world.shard_a if paused is a else world.shard_b
    assert set(shard.released_names[released_before:]) == set(stale)
    assert not paused.leader
    for _ in range(7):
        await world.tick(rounds=(paused, other))
    expected_paused = shares(APPS, [paused.replica_id, other.replica_id])[paused.replica_id]
    assert world.writable(paused) == expected_paused
    assert world.writable(other) == set(APPS) - expected_paused


async def test_a_replica_that_stops_releases_its_lease_and_the_other_takes_over_at_once(world: World) -> None:
    a, b = world.a, world.b
    for _ in range(8):
        await world.tick(rounds=(a, b))
    assert world.writable(a)
    await a.stop()
    assert world.writable(a) == set()
    await world.tick(rounds=(b,))  # one round, not a lease duration
    assert world.writable(b) == set(APPS)
