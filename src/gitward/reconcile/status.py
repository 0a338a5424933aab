"""Building the status document of an app: sync, health, conditions, resources, operation.

The status is a plain JSON document (persisted by the store, served by the API as is), written in the
camelCase shape of the Application status users know from DESIGN §1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gitward.core.conditions import Condition, ConditionType, set_condition
from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.core.status import Health, HealthStatus, SyncStatus
from gitward.health import aggregate, health_of


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


def resource_rows(
    entries: Iterable[InventoryEntry],
    *,
    live: Callable[[ResourceKey], Mapping[str, Any] | None],
    out_of_sync: set[ResourceKey],
    messages: Mapping[ResourceKey, str],
) -> tuple[list[dict[str, Any]], Health]:
    """One row per owned object with its own sync and health, and the app's health (the worst)."""
    rows: list[dict[str, Any]] = []
    healths: list[Health] = []
    for entry in entries:
        key = entry.key
        obj = live(key)
        health = health_of(obj)
        healths.append(health)
        rows.append(
            {
                "id": key.id,
                "group": key.group,
                "kind": key.kind,
                "namespace": key.namespace,
                "name": key.name,
                "version": entry.version,
                "sync": (SyncStatus.OUT_OF_SYNC if key in out_of_sync else SyncStatus.SYNCED).value,
                "health": health.status.value,
                "message": messages.get(key) or health.message,
            }
        )
    app_health = aggregate(healths) if healths else Health(HealthStatus.HEALTHY)
    return rows, app_health
