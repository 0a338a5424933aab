"""Several gitward replicas sharing the apps: Leases, who owns what, the leader, and the write fence.

Each replica holds a Lease of its own, ``gitward-replica-<id>`` in the Lease namespace, labelled so
one list finds them all (``replicas/leases.py``). Every fifth of the lease duration a round lists
the Leases, renews ours, and recomputes the apps this replica owns: rendezvous hashing of every app
name over the live replicas (``replicas/rendezvous.py``). Then:

- an app that is no longer ours leaves the fence at once (``WriteFence.owned``), before anything
  else runs, so no later write for it is sent; the engine forgets its schedule (``Shard.released``);
- an app that became ours is started only when our tenure has settled (a duration after our Lease
  was created or regained, so whoever owned it before provably stopped), and then in this order:
  taken in the state store with a new epoch (``store/owners.py``: waits for the previous owner's
  last transaction), its rows read afresh, and only then put in the fence and queued (``Shard``).
  An app whose earlier pass still runs here waits for the next round.

The fence's deadline is the round's list time plus ``duration - margin``, and no later than our
Lease's own deadline: a replica that cannot renew, or cannot see the members, stops writing by
itself before anyone may count it dead. A renewal that comes after our deadline passed (the process
was paused, or cut off) begins a new tenure: every app is dropped first, and taken again only after
the new tenure settles.

One Lease, ``gitward-leader``, elects the leader among the replicas the same way (held, renewed,
taken over once unrenewed for its duration, a duration after which the new leader acts). The
leader alone does what concerns no app: the status of refused objects (``Shard.leading``), deleting
the Leases of replicas dead for ten durations, and trimming old requests (``reconcile/pushes.py``).

On stop the fence closes first; once the engine has stopped, the margin passes (requests already
on the wire land) and the Leases are released (no holder), so the others take over at once.
Deliberately not here: what the engine does when apps come and go (``reconcile/shards.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from gitward.cluster.lightkube_client import LightkubeClient
from gitward.cluster.senders import USER_AGENT
from gitward.core.clock import Clock
from gitward.core.errors import ClusterError, GitwardError
from gitward.core.logfields import fields
from gitward.core.marks import FIELD_MANAGER
from gitward.reconcile import metrics
from gitward.reconcile.settings import ReplicaSettings
from gitward.replicas import LeaseClaim, LeaseStep, LeaseTerms, Members, WriteFence, owner
from gitward.replicas.leases import (
    ADDRESS_ANNOTATION,
    LEADER_LEASE,
    LEADER_ROLE,
    LEASE_PREFIX,
    REPLICA_LABEL,
    REPLICA_ROLE,
    ROLE_LABEL,
    holder_of,
    version_of,
)
from gitward.store import Store
from gitward.store.owners import OwnerCheck

log = logging.getLogger("gitward.replicas")

LEASE_API = "coordination.k8s.io/v1"
#: Rounds between the leader's housekeeping (dead Leases, old pushes).
HOUSEKEEPING_ROUNDS = 25
#: Requests older than this are forgotten by the leader (every replica read them long before).
REQUESTS_KEPT_SECONDS = 600.0


class Shard(Protocol):
    """What the engine does as apps come to this replica and leave it (``reconcile/shards.py``)."""

    def names(self) -> Mapping[str, str]:
        """Every app name the engine knows (declared, invalid, or still to be removed), with the
        key it is placed by (a child of an app-of-apps goes with its root parent)."""
        ...

    def busy(self, name: str) -> bool:
        """An earlier pass of ``name`` still runs in this process."""
        ...

    async def load(self, names: Collection[str]) -> Mapping[str, Any]:
        """The stored rows of ``names``, read off the event loop."""
        ...

    def acquired(self, names: Collection[str], rows: Mapping[str, Any]) -> None:
        """These apps are ours now (their rows as ``load`` read them): reload and queue them."""
        ...

    def released(self, names: Collection[str]) -> None:
        """These apps are no longer ours (the fence already refuses their writes)."""
        ...

    def leading(self, leader: bool) -> None:
        """This replica became (or stopped being) the leader."""
        ...


class Replicas:
    """Membership, ownership and leadership of one replica; ``fence`` answers every write."""

    def __init__(self, settings: ReplicaSettings, *, clock: Clock, store: Store) -> None:
        self.settings = settings
        self.replica_id = settings.replica_id
        self.identity = f"{settings.replica_id}/{uuid.uuid4().hex[:12]}"  # this process
        self.terms = LeaseTerms(settings.lease_duration)
        self.user_agent = f"{USER_AGENT} replica/{settings.replica_id}"  # every request it sends
        self.fence = WriteFence(monotonic=clock.monotonic, replica=settings.replica_id)
        self.shard: Shard | None = None
        self.view: frozenset[str] = frozenset()  # live replica ids, ours included while we hold
        self.leader = False
        self._clock = clock
        self._store = store
        self._own = LeaseClaim(LEASE_PREFIX + settings.replica_id, self.identity, self.terms)
        self._leadership = LeaseClaim(LEADER_LEASE, self.identity, self.terms)
        self._members = Members(self.terms, me=settings.replica_id)
        self._written: dict[str, dict[str, Any]] = {}  # our Leases as last written (for release)
        self._view_deadline = float("-inf")
        self._client: LightkubeClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._rounds = 0
        self._fenced_reported = 0
        store.owner_check = OwnerCheck(
            holder=self.identity, epochs=self.fence.owned, may_write=self.fence.check
        )

    # -- the transport's fence ----------------------------------------------------------------------

    def time_left(self) -> float:
        """For ``cluster/transport.py``: seconds a write may still take to leave, or ``Fenced``."""
        self.fence.check()
        return self.fence.deadline - self._clock.monotonic()

    def owns(self, name: str) -> bool:
        return name in self.fence.owned

    def owner_of(self, name: str) -> str | None:
        """The replica that owns ``name`` in our current view."""
        key = self.shard.names().get(name, name) if self.shard is not None else name
        return owner(key, self.view)

    # -- life cycle -----------------------------------------------------------------------------------

    async def start(self, shard: Shard) -> None:
        """Connect, run the first round (our Lease is created), then keep going in the background."""
        await self.open(shard)
        await self.round()
        self._tasks = [
            asyncio.create_task(self._rounds_forever(), name="replicas:rounds"),
            asyncio.create_task(self._keeper(), name="replicas:keeper"),
        ]

    async def open(self, shard: Shard) -> None:
        """Connect to the management cluster (rounds are then run by ``start``, or by hand)."""
        self.shard = shard
        self._client = await LightkubeClient.from_kubeconfig(
            self.settings.kubeconfig, user_agent=self.user_agent
        )
        log.info(
            "replica %s joining (lease %s/%s, duration %ss)",
            self.replica_id,
            self.settings.namespace,
            self._own.name,
            self.terms.seconds,
            extra=fields(replica=self.replica_id, identity=self.identity),
        )

    def close_fence(self) -> None:
        """No write from now on (the engine is stopping)."""
        self.fence.deadline = float("-inf")
        self.fence.owned.clear()

    async def stop(self) -> None:
        """After the engine stopped: let requests on the wire land, then release our Leases."""
        self.close_fence()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is None:
            return
        try:
            if self._written:
                await asyncio.sleep(self.terms.margin)
            for claim in (self._leadership, self._own):
                last = self._written.get(claim.name)
                if last is not None and claim.held_since is not None:
                    with contextlib.suppress(GitwardError):
                        await self._client.replace(claim.released(last), field_manager=FIELD_MANAGER)
            log.info(
                "replica %s left (leases released)", self.replica_id, extra=fields(replica=self.replica_id)
            )
        finally:
            await self._client.close()
            self._client = None

    async def _rounds_forever(self) -> None:
        while True:
            await asyncio.sleep(self.terms.renew_every)
            try:
                await self.round()
            except Exception:
                log.exception("replica round failed")

    # -- one round --------------------------------------------------------------------------------------

    async def round(self) -> None:
        """List the Leases, renew ours, judge the others; then who owns what, and the leader."""
        assert self._client is not None
        self._rounds += 1
        listed_from = self._clock.monotonic()
        try:
            leases, _ = await self._client.list(
                LEASE_API, "Lease", namespace=self.settings.namespace, label_selector=ROLE_LABEL
            )
        except GitwardError as error:
            log.warning("replica %s: leases not listed: %s", self.replica_id, error)
            leases = None
        listed_at = self._clock.monotonic()
        by_name = {str(lease["metadata"]["name"]): lease for lease in leases or []}
        if leases is not None:
            if await self._hold(self._own, by_name.get(self._own.name), listed_at, role=REPLICA_ROLE):
                self._new_tenure()
            members = [lease for lease in leases if _role(lease) == REPLICA_ROLE]
            self._members.observe(members, now=listed_at)
            self._view_deadline = listed_from + self.terms.duration - self.terms.margin
        self.fence.deadline = min(self._own.deadline, self._view_deadline)
        self._rebalance()
        if leases is not None:
            await self._lead(by_name.get(LEADER_LEASE), listed_at)
        self._report()

    async def _hold(
        self, claim: LeaseClaim, lease: Mapping[str, Any] | None, listed_at: float, *, role: str
    ) -> bool:
        """Send what ``claim`` needs this round; True when a new tenure began."""
        assert self._client is not None
        step = claim.next_step(lease, now=listed_at)
        if step is LeaseStep.WAIT:
            return False
        labels = {ROLE_LABEL: role}
        annotations = {}
        if role == REPLICA_ROLE:
            labels[REPLICA_LABEL] = self.replica_id
            if self.settings.address:
                annotations[ADDRESS_ANNOTATION] = self.settings.address
        body = claim.body(
            namespace=self.settings.namespace,
            wall=self._clock.now(),
            labels=labels,
            annotations=annotations,
            version=version_of(lease) if lease is not None else None,
            step=step,
        )
        sent = self._clock.monotonic()
        write = self._client.create if step is LeaseStep.CREATE else self._client.replace
        try:
            written = await write(body, field_manager=FIELD_MANAGER)
        except ClusterError as error:
            if error.status in (404, 409):
                claim.refused()
                log.warning("replica %s: lease %s lost: %s", self.replica_id, claim.name, error)
            else:
                log.warning("replica %s: lease %s not renewed: %s", self.replica_id, claim.name, error)
            return False
        self._written[claim.name] = written
        return claim.written(step, sent_at=sent, answered_at=self._clock.monotonic())

    def _new_tenure(self) -> None:
        """Our Lease was created, taken, or renewed after it had lapsed: start from nothing."""
        metrics.REPLICA_TENURES.inc()
        if self.fence.owned:
            log.warning(
                "replica %s: its lease had lapsed; dropping its %d apps until the new tenure settles",
                self.replica_id,
                len(self.fence.owned),
                extra=fields(replica=self.replica_id),
            )
        self._release(set(self.fence.owned))

    def _rebalance(self) -> None:
        """Drop at once what is no longer ours; wake the keeper to take what became ours."""
        now = self._clock.monotonic()
        if not self._own.valid(now) or self.fence.deadline <= now:
            self.view = frozenset()
            self._release(set(self.fence.owned))
            return
        view = self._members.alive(now) | {self.replica_id}
        if view != self.view:
            log.info("replica %s sees %d replicas: %s", self.replica_id, len(view), ", ".join(sorted(view)))
            self.view = view
        names = self.shard.names() if self.shard is not None else {}
        mine = {name for name, key in names.items() if owner(key, view) == self.replica_id}
        self._release({name for name in self.fence.owned if name not in mine})
        if self._own.settled(now) and any(name not in self.fence.owned for name in mine):
            self._wake.set()

    def _release(self, names: set[str]) -> None:
        if not names:
            return
        for name in names:
            self.fence.owned.pop(name, None)
        if self.shard is not None:
            self.shard.released(sorted(names))
        log.info(
            "replica %s released %d apps", self.replica_id, len(names), extra=fields(replica=self.replica_id)
        )

    # -- taking apps ---------------------------------------------------------------------------------------

    async def _keeper(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.acquire()
            except Exception:
                log.exception("replica %s: apps not taken; tried again next round", self.replica_id)

    async def acquire(self) -> None:
        """Take what is ours and not yet taken: in the store, read afresh, then fenced-in and queued."""
        shard = self.shard
        if shard is None:
            return
        wanted = self._wanted(shard)
        if not wanted:
            return
        epochs = await asyncio.to_thread(
            self._store.take_apps,
            wanted,
            holder=self.identity,
            now=self._clock.now(),
            lock_timeout=self.terms.margin / 2,
        )
        rows = await shard.load(wanted)
        still = set(self._wanted(shard)) & set(epochs)  # the view may have moved while we waited
        if not still:
            return
        self.fence.owned.update({name: epochs[name] for name in still})
        shard.acquired(sorted(still), rows)
        metrics.REPLICA_APPS_TAKEN.inc(len(still))
        log.info(
            "replica %s took %d apps (%d owned)",
            self.replica_id,
            len(still),
            len(self.fence.owned),
            extra=fields(replica=self.replica_id),
        )

    def _wanted(self, shard: Shard) -> list[str]:
        """Apps ours by the current view, not taken yet, not running here, while our tenure is settled."""
        now = self._clock.monotonic()
        if not self._own.settled(now) or self.fence.deadline <= now:
            return []
        return sorted(
            name
            for name in shard.names()
            if name not in self.fence.owned
            and owner(name, self.view) == self.replica_id
            and not shard.busy(name)
        )

    # -- the leader ------------------------------------------------------------------------------------------

    async def _lead(self, lease: Mapping[str, Any] | None, listed_at: float) -> None:
        now = self._clock.monotonic()
        if self._own.settled(now):
            await self._hold(self._leadership, lease, listed_at, role=LEADER_ROLE)
        elif lease is not None and holder_of(lease) == self.identity:
            self._leadership.refused()  # not settled as a member: not the leader either
        leader = self._leadership.settled(self._clock.monotonic()) and self.fence.deadline > now
        if leader != self.leader:
            self.leader = leader
            log.info("replica %s %s the leader", self.replica_id, "is" if leader else "is no longer")
            if self.shard is not None:
                self.shard.leading(leader)
        if leader and self._rounds % HOUSEKEEPING_ROUNDS == 0:
            await self._housekeeping()

    async def _housekeeping(self) -> None:
        """The leader's chores: Leases of replicas dead for ten durations, requests long read."""
        assert self._client is not None
        for replica in self._members.forget_dead(self._clock.monotonic()):
            with contextlib.suppress(GitwardError):
                await self._client.delete(LEASE_API, "Lease", self.settings.namespace, LEASE_PREFIX + replica)
                log.info("replica %s: deleted the lease of dead replica %s", self.replica_id, replica)
        await asyncio.to_thread(self._store.trim_requests, before=self._clock.now() - REQUESTS_KEPT_SECONDS)

    def _report(self) -> None:
        metrics.REPLICA_APPS.set(len(self.fence.owned))
        metrics.REPLICA_LEADER.set(1 if self.leader else 0)
        fenced = self.fence.refused
        if fenced > self._fenced_reported:
            metrics.REPLICA_WRITES_FENCED.inc(fenced - self._fenced_reported)
            self._fenced_reported = fenced


def _role(lease: Mapping[str, Any]) -> str:
    return str(((lease.get("metadata") or {}).get("labels") or {}).get(ROLE_LABEL) or "")
