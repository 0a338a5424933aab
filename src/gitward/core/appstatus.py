"""An app's status, typed (``AppStatus``), and the marks a pass puts on it.

The status is persisted by the store and read back at start as the same camelCase JSON document it
always was (``AppStatus.to_dict`` / ``from_dict``; the shape users know from the README). A field is
None when the document does not have its key, so a status reads back and writes out with the keys it
had; a cleared pin is left out where older versions wrote ``null``, which reads the same. The marks
are pure functions of the status (no I/O, no clock: the caller passes ``now``), so unit tests reach
every rule without an engine. The per-object rows and the app's health (``reconcile/outcome.py``)
need the health checks and stay with the pass that reads the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gitward.core.conditions import Condition, ConditionType, set_condition
from gitward.core.status import HealthStatus, SyncStatus
from gitward.core.steps import Step


@dataclass(slots=True)
class SyncState:
    status: SyncStatus = SyncStatus.UNKNOWN
    revision: str = ""  # the commit compared or applied

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status.value, "revision": self.revision}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncState:
        return cls(_enum(SyncStatus, data.get("status")), str(data.get("revision") or ""))


@dataclass(slots=True)
class HealthState:
    status: HealthStatus = HealthStatus.UNKNOWN
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status.value, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthState:
        return cls(_enum(HealthStatus, data.get("status")), str(data.get("message") or ""))


@dataclass(slots=True)
class WindowBlock:
    """A sync window holds automation back: why, which windows, until when (epoch seconds)."""

    message: str
    windows: list[str]
    until: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "windows": self.windows, "until": self.until}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WindowBlock:
        until = data.get("until")
        return cls(str(data.get("message") or ""), list(data.get("windows") or []), until)


@dataclass(slots=True)
class AppStatus:
    """What gitward knows and shows about one app; None: not known yet (the key is left out)."""

    sync: SyncState | None = None
    health: HealthState | None = None
    conditions: list[Condition] = field(default_factory=list)  # Ready, Reconciling, Stalled
    resources: list[dict[str, Any]] | None = None  # one row per owned object (``outcome.resource_rows``)
    operation: dict[str, Any] | None = None  # the last finished operation, as the store records it
    error: str | None = None  # why the last pass failed; "" after one that succeeded
    commit: str | None = None  # the commit of the last pass that reached the cluster
    tree: str | None = None  # that pass's input key (``triggers``, ``resync``)
    last_synced_digest: str | None = None  # of the desired state last applied in full
    last_synced_commit: str | None = None
    last_sync_failed: bool | None = None
    last_error_event: str | None = None  # the error last recorded as an event (one event per error)
    suspended: bool | None = None
    suspend_reason: str | None = None
    suspended_by: str | None = None  # spec | user | rollback | revision ("" when not suspended)
    pinned_revision: str | None = None  # a rollback or a sync to another revision keeps the app here
    sync_window: WindowBlock | None = None
    cluster_unreachable: str | None = None  # the outage message this module showed (to take it back)
    # The app's one current reason and message (the Ready condition's, kept at the top for readers),
    # and the step that failed (``core/steps.py``) with the wave or hook in it; "" when none failed.
    reason: str | None = None
    message: str | None = None
    step: str | None = None
    step_detail: str | None = None
    # Fields whose self-heal a drift fight paused (``reconcile/fights.py``): object, field, manager,
    # heals, since, pausedUntil, strikes and the suggested ``ignoreDifferences`` entry; None: none.
    drift_fights: list[dict[str, Any]] | None = None
    # Objects no app manages in the app's namespaces, when its Project lists them
    # (``reconcile/orphans.py``): {count, resources: [{group, kind, namespace, name}] (at most 100)}.
    orphaned: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON document, with the keys of the fields that are set."""
        out: dict[str, Any] = {}
        for key, name in _KEYS:
            value = getattr(self, name)
            if value is None:
                continue
            if name in _NESTED:
                value = value.to_dict()
            elif name == "conditions":
                if not value:
                    continue
                value = [c.to_dict() for c in value]
            out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppStatus:
        """A stored status, as any version of gitward wrote it (unknown keys are dropped)."""
        status = cls()
        for key, name in _KEYS:
            value = data.get(key)
            if value is None:
                continue
            if name == "sync":
                status.sync = SyncState.from_dict(value)
            elif name == "health":
                status.health = HealthState.from_dict(value)
            elif name == "sync_window":
                status.sync_window = WindowBlock.from_dict(value)
            elif name == "conditions":
                status.conditions = _conditions_of(value)
            else:
                setattr(status, name, value)
        return status

    @property
    def sync_status(self) -> SyncStatus:
        return self.sync.status if self.sync is not None else SyncStatus.UNKNOWN

    @property
    def health_status(self) -> HealthStatus:
        return self.health.status if self.health is not None else HealthStatus.UNKNOWN

    @property
    def synced_and_healthy(self) -> bool:
        return self.sync_status is SyncStatus.SYNCED and self.health_status is HealthStatus.HEALTHY


_KEYS = (
    ("sync", "sync"),
    ("health", "health"),
    ("conditions", "conditions"),
    ("resources", "resources"),
    ("operation", "operation"),
    ("error", "error"),
    ("commit", "commit"),
    ("tree", "tree"),
    ("lastSyncedDigest", "last_synced_digest"),
    ("lastSyncedCommit", "last_synced_commit"),
    ("lastSyncFailed", "last_sync_failed"),
    ("lastErrorEvent", "last_error_event"),
    ("suspended", "suspended"),
    ("suspendReason", "suspend_reason"),
    ("suspendedBy", "suspended_by"),
    ("pinnedRevision", "pinned_revision"),
    ("syncWindow", "sync_window"),
    ("clusterUnreachable", "cluster_unreachable"),
    ("reason", "reason"),
    ("message", "message"),
    ("step", "step"),
    ("stepDetail", "step_detail"),
    ("driftFights", "drift_fights"),
    ("orphanedResources", "orphaned"),
)
_NESTED = frozenset({"sync", "health", "sync_window"})


_E = TypeVar("_E", SyncStatus, HealthStatus)


def _enum(kind: type[_E], value: Any) -> _E:
    try:
        return kind(value)
    except ValueError:
        return kind("Unknown")


def _conditions_of(rows: Any) -> list[Condition]:
    return [
        Condition(
            type=ConditionType(c["type"]),
            status=c["status"] == "True",
            reason=str(c.get("reason", "")),
            message=str(c.get("message", "")),
            last_transition=float(c.get("lastTransitionTime", 0.0)),
        )
        for c in rows
    ]


def with_condition(status: AppStatus, condition: Condition) -> None:
    status.conditions = list(set_condition(status.conditions, condition))
    if condition.type is ConditionType.READY:  # the app's one current reason and message
        status.reason, status.message = condition.reason, condition.message
        status.step, status.step_detail = "", ""


def mark_orphaned(status: AppStatus, *, now: float, message: str) -> None:
    """The orphaned-objects warning ("" takes it away): a condition of its own, never Ready's."""
    if message:
        cond = Condition(ConditionType.ORPHANED_RESOURCES, True, "OrphanedResources", message, now)
        status.conditions = list(set_condition(status.conditions, cond))
    else:
        status.conditions = [c for c in status.conditions if c.type is not ConditionType.ORPHANED_RESOURCES]


def mark_reconciling(status: AppStatus, *, now: float, message: str) -> None:
    with_condition(status, Condition(ConditionType.RECONCILING, True, "Progressing", message, now))


def mark_result(
    status: AppStatus,
    *,
    now: float,
    ready: bool,
    reason: str,
    message: str,
    stalled: bool,
    step: Step | None = None,
    where: str = "",
) -> None:
    """Ready / Reconciling / Stalled after a pass: exactly what a user needs to know what to do;
    ``step`` (and ``where`` in it: "wave 2", "hook PreSync Job/db/migrate") names what failed."""
    with_condition(status, Condition(ConditionType.READY, ready, reason, message, now))
    status.step = step.value if step is not None else ""
    status.step_detail = where if step is not None else ""
    with_condition(status, Condition(ConditionType.RECONCILING, False, reason, "", now))
    with_condition(
        status,
        Condition(ConditionType.STALLED, stalled, reason if stalled else "", message if stalled else "", now),
    )


UNREACHABLE_REASON = "ClusterUnreachable"


def mark_cluster_unreachable(status: AppStatus, *, message: str, now: float) -> bool:
    """Sync and health Unknown with ``message``, Ready False: what the app looks like while its
    cluster cannot answer (its last comparison may no longer hold). False if already shown."""
    if status.cluster_unreachable == message:
        return False
    status.cluster_unreachable = message
    revision = status.sync.revision if status.sync is not None else ""
    status.sync = SyncState(SyncStatus.UNKNOWN, revision)
    status.health = HealthState(HealthStatus.UNKNOWN, message)
    status.error = message
    mark_result(status, now=now, ready=False, reason=UNREACHABLE_REASON, message=message, stalled=False)
    return True


def clear_cluster_unreachable(status: AppStatus, *, message: str, now: float) -> bool:
    """Take back what ``mark_cluster_unreachable`` showed, saying why the app is still Unknown
    (``message``: its comparison is under way). False if nothing was shown."""
    shown, status.cluster_unreachable = status.cluster_unreachable, None
    if shown is None:
        return False
    if status.error == shown:
        status.error = ""
    health = status.health or HealthState()
    if health.message == shown:
        status.health = HealthState(health.status, message)
    with_condition(status, Condition(ConditionType.READY, False, "ClusterReachable", message, now))
    return True


def forget_cluster_unreachable(status: AppStatus) -> None:
    """A pass that reached the cluster replaces whatever an outage showed."""
    status.cluster_unreachable = None


# -- what holds automation back: suspension, sync windows, a terminate request ------------------------
# One shape for every suspension (``spec.suspend``, ``gitward app suspend``, a rollback or a sync to
# another revision), so the user reads one field whatever suspended the app: ``suspended``,
# ``suspendReason``, ``suspendedBy`` (spec | user | rollback | revision) and ``pinnedRevision``.


def mark_suspended(status: AppStatus, *, by: str, reason: str, pinned: str | None = None) -> None:
    """Suspended by ``by``; ``pinned`` keeps the app at that revision (a rollback), else the pin stays."""
    status.suspended, status.suspend_reason, status.suspended_by = True, reason, by
    if pinned is not None:
        status.pinned_revision = pinned


def clear_suspended(status: AppStatus) -> None:
    """Automation on again, following the tracked revision."""
    status.suspended, status.suspend_reason, status.suspended_by = False, "", ""
    status.pinned_revision = None


def suspended_by(status: AppStatus) -> str:
    """Who suspended the app ("" when not suspended); a status written before ``suspendedBy`` existed
    was suspended by a rollback or a sync to another revision."""
    if not status.suspended:
        return ""
    return str(status.suspended_by or "rollback")


def mark_window_blocked(status: AppStatus, *, message: str, windows: list[str], until: float | None) -> bool:
    """Show that a window holds the automated sync back; False if it was shown already."""
    shown = WindowBlock(message, windows, until)
    if status.sync_window == shown:
        return False
    status.sync_window = shown
    return True


def clear_window_blocked(status: AppStatus) -> bool:
    """Take the window's message back (the window opened, or nothing waits any more)."""
    shown, status.sync_window = status.sync_window, None
    return shown is not None


def mark_terminating(status: AppStatus, *, now: float, by: str) -> None:
    """The running operation was asked to stop; the executor's record of it replaces this."""
    message = f"terminating (asked by {by})" if by else "terminating"
    with_condition(status, Condition(ConditionType.RECONCILING, True, "Terminating", message, now))
