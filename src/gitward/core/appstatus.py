"""Marks on an app's status document: conditions, cluster outages, suspension, sync windows, terminate.

The status is a plain JSON document (persisted by the store, served by the API as is), written in the
camelCase shape of the Application status users know from the README. These marks are pure
functions of the document (no I/O, no clock: the caller passes ``now``), so unit tests reach every
rule without an engine. The per-object rows and the app's health (``reconcile/outcome.py``) need the
health checks and stay with the pass that reads the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.conditions import Condition, ConditionType, set_condition
from gitward.core.status import HealthStatus, SyncStatus


def conditions_of(status: Mapping[str, Any]) -> list[Condition]:
    out = []
    for c in status.get("conditions") or []:
        out.append(
            Condition(
                type=ConditionType(c["type"]),
                status=c["status"] == "True",
                reason=str(c.get("reason", "")),
                message=str(c.get("message", "")),
                last_transition=float(c.get("lastTransitionTime", 0.0)),
            )
        )
    return out


def with_condition(status: dict[str, Any], condition: Condition) -> None:
    status["conditions"] = [c.to_dict() for c in set_condition(conditions_of(status), condition)]


def mark_reconciling(status: dict[str, Any], *, now: float, message: str) -> None:
    with_condition(status, Condition(ConditionType.RECONCILING, True, "Progressing", message, now))


def mark_result(
    status: dict[str, Any], *, now: float, ready: bool, reason: str, message: str, stalled: bool
) -> None:
    """Ready / Reconciling / Stalled after a pass: exactly what a user needs to know what to do."""
    with_condition(status, Condition(ConditionType.READY, ready, reason, message, now))
    with_condition(status, Condition(ConditionType.RECONCILING, False, reason, "", now))
    with_condition(
        status,
        Condition(ConditionType.STALLED, stalled, reason if stalled else "", message if stalled else "", now),
    )


UNREACHABLE_REASON = "ClusterUnreachable"
_UNREACHABLE_KEY = "clusterUnreachable"  # the message this module showed, so only it is taken back


def mark_cluster_unreachable(status: dict[str, Any], *, message: str, now: float) -> bool:
    """Sync and health Unknown with ``message``, Ready False: what the app looks like while its
    cluster cannot answer (its last comparison may no longer hold). False if already shown."""
    if status.get(_UNREACHABLE_KEY) == message:
        return False
    status[_UNREACHABLE_KEY] = message
    revision = (status.get("sync") or {}).get("revision", "")
    status["sync"] = {"status": SyncStatus.UNKNOWN.value, "revision": revision}
    status["health"] = {"status": HealthStatus.UNKNOWN.value, "message": message}
    status["error"] = message
    mark_result(status, now=now, ready=False, reason=UNREACHABLE_REASON, message=message, stalled=False)
    return True


def clear_cluster_unreachable(status: dict[str, Any], *, message: str, now: float) -> bool:
    """Take back what ``mark_cluster_unreachable`` showed, saying why the app is still Unknown
    (``message``: its comparison is under way). False if nothing was shown."""
    shown = status.pop(_UNREACHABLE_KEY, None)
    if shown is None:
        return False
    if status.get("error") == shown:
        status["error"] = ""
    health = status.get("health") or {}
    if health.get("message") == shown:
        status["health"] = {"status": health.get("status", HealthStatus.UNKNOWN.value), "message": message}
    with_condition(status, Condition(ConditionType.READY, False, "ClusterReachable", message, now))
    return True


def forget_cluster_unreachable(status: dict[str, Any]) -> None:
    """A pass that reached the cluster replaces whatever an outage showed."""
    status.pop(_UNREACHABLE_KEY, None)


# -- what holds automation back: suspension, sync windows, a terminate request ------------------------
# One shape for every suspension (``spec.suspend``, ``gitward app suspend``, a rollback or a sync to
# another revision), so the user reads one field whatever suspended the app: ``suspended``,
# ``suspendReason``, ``suspendedBy`` (spec | user | rollback | revision) and ``pinnedRevision``.


def mark_suspended(status: dict[str, Any], *, by: str, reason: str, pinned: str | None = None) -> None:
    """Suspended by ``by``; ``pinned`` keeps the app at that revision (a rollback), else the pin stays."""
    status.update(suspended=True, suspendReason=reason, suspendedBy=by)
    if pinned is not None:
        status["pinnedRevision"] = pinned


def clear_suspended(status: dict[str, Any]) -> None:
    """Automation on again, following the tracked revision."""
    status.update(suspended=False, suspendReason="", suspendedBy="", pinnedRevision=None)


def suspended_by(status: Mapping[str, Any]) -> str:
    """Who suspended the app ("" when not suspended); a status written before ``suspendedBy`` existed
    was suspended by a rollback or a sync to another revision."""
    if not status.get("suspended"):
        return ""
    return str(status.get("suspendedBy") or "rollback")


WINDOW_KEY = "syncWindow"  # {message, windows, until}: automation held back by a sync window


def mark_window_blocked(
    status: dict[str, Any], *, message: str, windows: list[str], until: float | None
) -> bool:
    """Show that a window holds the automated sync back; False if it was shown already."""
    shown = {"message": message, "windows": windows, "until": until}
    if status.get(WINDOW_KEY) == shown:
        return False
    status[WINDOW_KEY] = shown
    return True


def clear_window_blocked(status: dict[str, Any]) -> bool:
    """Take the window's message back (the window opened, or nothing waits any more)."""
    return status.pop(WINDOW_KEY, None) is not None


def mark_terminating(status: dict[str, Any], *, now: float, by: str) -> None:
    """The running operation was asked to stop; the executor's record of it replaces this."""
    message = f"terminating (asked by {by})" if by else "terminating"
    with_condition(status, Condition(ConditionType.RECONCILING, True, "Terminating", message, now))
