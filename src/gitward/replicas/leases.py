"""Leases: holding one, and judging the others, on this process's own monotonic clock.

A ``coordination.k8s.io/v1`` Lease names a holder and the time of its last renewal. Clocks of two
machines never agree, so no time written in a Lease is ever compared with this process's clock.
Instead (as Kubernetes' own leader election does):

- **Holding** (``LeaseClaim``). A write of our Lease (create, renew, take over) that the API server
  accepted proves we held it at some instant after we *sent* it. So we may act until ``sent +
  duration - margin`` on our monotonic clock (``deadline``); the margin covers a request still on
  its way to a server when the deadline passes and the rate at which two clocks drift apart. A
  renewal that starts after the deadline had passed may succeed, but others may have counted us
  dead meanwhile and taken our work: that is a new tenure, and everything restarts (the caller drops
  its apps). A new tenure acts only once ``duration`` has passed since the *answer* that began it
  (``settled``): whoever decided before our Lease existed that the work was theirs stops within
  that time (their own view of the members goes stale after ``duration - margin``).
- **Judging others** (``Members``). A Lease counts as renewed when its ``resourceVersion`` changes
  (every write changes it; the API server's clock makes it). A replica is alive until ``duration``
  has passed on *our* clock since we first saw its current version, the duration being the larger
  of its own ``leaseDurationSeconds`` and ours. By then its holder's own deadline (``sent +
  duration - margin`` of a renewal that the server applied before we first saw it) has passed.
  A Lease whose holder is empty was released: its replica stopped writing before releasing it, so it
  is gone at once. A Lease that vanished (deleted by hand) stays alive until its time runs out, as
  if it had stopped renewing: its holder may not know yet.

Deliberately not here: requests (``reconcile/replicas.py``), which apps a replica owns
(``rendezvous``), and the write check itself (``fence``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Label on every replica's Lease, so members are listed with one label selector.
ROLE_LABEL = "gitward.dev/role"
REPLICA_ROLE = "replica"
LEADER_ROLE = "leader"
#: Label naming the replica (its id) on its Lease.
REPLICA_LABEL = "gitward.dev/replica"
#: Annotation with the replica's API address, for people and tools (``gitward`` itself routes
#: through the state store: docs/architecture.md).
ADDRESS_ANNOTATION = "gitward.dev/address"

LEASE_PREFIX = "gitward-replica-"
LEADER_LEASE = "gitward-leader"


@dataclass(frozen=True)
class LeaseTerms:
    """How long a Lease lasts and what follows from it: renewed every fifth of its duration, and
    acted on until a fifth before it would run out."""

    duration: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.duration) or self.duration < 1:
            raise ValueError(f"a lease duration must be at least 1 second, got {self.duration!r}")

    @property
    def renew_every(self) -> float:
        return self.duration / 5

    @property
    def margin(self) -> float:
        return self.duration / 5

    @property
    def seconds(self) -> int:
        """``leaseDurationSeconds`` as the API wants it (whole seconds, rounded up: others wait longer)."""
        return math.ceil(self.duration)


class LeaseStep(enum.Enum):
    """What to send for a Lease this round."""

    CREATE = "create"  # it does not exist
    RENEW = "renew"  # ours: write it again
    TAKE = "take"  # released, or its holder stopped renewing long enough ago
    WAIT = "wait"  # another holder, still alive


def holder_of(lease: Mapping[str, Any]) -> str:
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


def version_of(lease: Mapping[str, Any]) -> str:
    return str((lease.get("metadata") or {}).get("resourceVersion") or "")


def duration_of(lease: Mapping[str, Any]) -> float:
    value = (lease.get("spec") or {}).get("leaseDurationSeconds")
    return float(value) if isinstance(value, int | float) and value > 0 else 0.0


def micro_time(epoch: float) -> str:
    """A Kubernetes MicroTime (RFC 3339 with microseconds, UTC)."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseClaim:
    """One Lease this process holds or waits to hold: what to send next, and until when it may act."""

    def __init__(self, name: str, identity: str, terms: LeaseTerms) -> None:
        self.name = name
        self.identity = identity  # unique per process: a restart is another holder
        self.terms = terms
        self.deadline = -math.inf  # monotonic: acting is allowed while now < deadline
        self.held_since: float | None = None  # monotonic: the answer that began this tenure
        self.acquired_at = 0.0  # wall clock of this tenure's start, for ``acquireTime``
        self.transitions = 0  # ``leaseTransitions`` as we last wrote it
        self._other: tuple[str, float] | None = None  # another holder's version, first seen at
        self._wrote = (0.0, 0)  # (acquireTime, leaseTransitions) of the last body made

    def next_step(self, lease: Mapping[str, Any] | None, *, now: float) -> LeaseStep:
        """Decide from the Lease as just read (None: it does not exist)."""
        if lease is None:
            self._lose()
            return LeaseStep.CREATE
        holder = holder_of(lease)
        transitions = (lease.get("spec") or {}).get("leaseTransitions")
        self.transitions = int(transitions) if isinstance(transitions, int) else 0
        if holder == self.identity:
            return LeaseStep.RENEW
        self._lose()
        if not holder:
            return LeaseStep.TAKE
        version = version_of(lease)
        if self._other is None or self._other[0] != version:
            self._other = (version, now)
        waited = now - self._other[1]
        return LeaseStep.TAKE if waited >= max(duration_of(lease), self.terms.duration) else LeaseStep.WAIT

    def written(self, step: LeaseStep, *, sent_at: float, answered_at: float) -> bool:
        """The server accepted our write of ``step`` (the last ``body``), sent at ``sent_at`` and
        answered at ``answered_at`` (monotonic). True when a new tenure began: the caller drops
        whatever it held and waits ``duration`` (``settled``) before acting again."""
        new_tenure = step is not LeaseStep.RENEW or self.held_since is None or sent_at >= self.deadline
        if new_tenure:
            self.held_since = answered_at
        self.acquired_at, self.transitions = self._wrote
        self.deadline = sent_at + self.terms.duration - self.terms.margin
        self._other = None
        return new_tenure

    def refused(self) -> None:
        """Our write was refused (409: someone else wrote the Lease; 404: it was deleted): lost."""
        self._lose()

    def _lose(self) -> None:
        self.deadline = -math.inf
        self.held_since = None

    def valid(self, now: float) -> bool:
        return now < self.deadline

    def settled(self, now: float) -> bool:
        """Held, and for long enough that nobody else can still be acting on what we now own."""
        return (
            self.held_since is not None and now >= self.held_since + self.terms.duration and self.valid(now)
        )

    def body(
        self,
        *,
        namespace: str,
        wall: float,
        labels: Mapping[str, str],
        annotations: Mapping[str, str],
        version: str | None,
        step: LeaseStep,
    ) -> dict[str, Any]:
        """The Lease to write for ``step`` (``version``: the one read, as a precondition)."""
        if step is LeaseStep.RENEW and self.held_since is not None:
            acquired, transitions = self.acquired_at, self.transitions
        elif step is LeaseStep.CREATE:
            acquired, transitions = wall, 0
        else:  # taken over, or ours again after a lapse
            acquired, transitions = wall, self.transitions + (1 if step is LeaseStep.TAKE else 0)
        self._wrote = (acquired, transitions)
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": dict(annotations),
        }
        if version:
            metadata["resourceVersion"] = version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.terms.seconds,
                "acquireTime": micro_time(acquired),
                "renewTime": micro_time(wall),
                "leaseTransitions": transitions,
            },
        }

    def released(self, lease: Mapping[str, Any]) -> dict[str, Any]:
        """``lease`` (ours, as last written) with no holder: the others may take our work at once."""
        spec = dict(lease.get("spec") or {})
        spec["holderIdentity"] = None
        spec["leaseDurationSeconds"] = 1
        return {**lease, "spec": spec}


@dataclass
class _Seen:
    version: str
    since: float  # monotonic: when we first saw this version
    duration: float
    released: bool


class Members:
    """The other replicas, judged alive or not from their Leases as listed round after round."""

    def __init__(self, terms: LeaseTerms, *, me: str) -> None:
        self._terms = terms
        self._me = me
        self._seen: dict[str, _Seen] = {}

    def observe(self, leases: Iterable[Mapping[str, Any]], *, now: float) -> None:
        """One successful list of the replicas' Leases, answered at ``now`` (monotonic)."""
        for lease in leases:
            replica = replica_of(lease)
            if not replica or replica == self._me:
                continue
            version = version_of(lease)
            seen = self._seen.get(replica)
            if seen is None or seen.version != version:
                self._seen[replica] = _Seen(
                    version, now, max(duration_of(lease), self._terms.duration), not holder_of(lease)
                )

    def alive(self, now: float) -> frozenset[str]:
        """The other replicas that may still be acting now."""
        return frozenset(
            replica
            for replica, seen in self._seen.items()
            if not seen.released and now < seen.since + seen.duration
        )

    def forget_dead(self, now: float) -> list[str]:
        """Drop what is known of replicas dead for a long time (ten durations); their names."""
        gone = [r for r, s in self._seen.items() if now >= s.since + 10 * s.duration]
        for replica in gone:
            del self._seen[replica]
        return gone


def replica_of(lease: Mapping[str, Any]) -> str:
    """The replica id a member Lease stands for (its label; else its name without the prefix)."""
    metadata = lease.get("metadata") or {}
    labelled = (metadata.get("labels") or {}).get(REPLICA_LABEL)
    if labelled:
        return str(labelled)
    name = str(metadata.get("name") or "")
    return name.removeprefix(LEASE_PREFIX) if name.startswith(LEASE_PREFIX) else ""
