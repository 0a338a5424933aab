"""A minimal live-object -> Health check, used by ``wait`` when no richer check is supplied.

``gitward.health`` holds the full per-kind checks; ``wait_healthy`` accepts any such function. This
fallback knows the common rollout kinds and the generic ``Ready`` condition, so waiting works on its
own. Deliberately not here: custom checks, hooks, aggregated app health.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health, HealthStatus

_ROLLOUT_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == kind:
            return cond
    return None


def _rollout(obj: Mapping[str, Any]) -> Health:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    if generation is not None and status.get("observedGeneration", 0) < generation:
        return Health(HealthStatus.PROGRESSING, "waiting for the controller to observe the new spec")
    if obj.get("kind") == "DaemonSet":
        want, ready = status.get("desiredNumberScheduled", 0), status.get("numberAvailable", 0)
    else:
        want = spec.get("replicas", 1)
        ready = status.get("availableReplicas", 0)
        updated = status.get("updatedReplicas", want if obj.get("kind") == "ReplicaSet" else 0)
        if updated < want:
            return Health(HealthStatus.PROGRESSING, f"{updated} of {want} replicas updated")
    if ready < want:
        return Health(HealthStatus.PROGRESSING, f"{ready} of {want} replicas available")
    return Health(HealthStatus.HEALTHY)


def _pod(obj: Mapping[str, Any]) -> Health:
    phase = (obj.get("status") or {}).get("phase", "")
    if phase == "Failed":
        return Health(HealthStatus.DEGRADED, "pod failed")
    if phase == "Succeeded":
        return Health(HealthStatus.HEALTHY)
    ready = _condition(obj, "Ready")
    if phase == "Running" and ready is not None and ready.get("status") == "True":
        return Health(HealthStatus.HEALTHY)
    return Health(HealthStatus.PROGRESSING, f"pod {phase or 'pending'}")


def default_health(obj: Mapping[str, Any] | None) -> Health:
    """Health of one live object; ``None`` means it does not exist (Missing)."""
    if obj is None:
        return Health(HealthStatus.MISSING, "object does not exist")
    kind = obj.get("kind")
    if kind in _ROLLOUT_KINDS:
        return _rollout(obj)
    if kind == "Pod":
        return _pod(obj)
    if kind == "CustomResourceDefinition":
        est = _condition(obj, "Established")
        ok = est is not None and est.get("status") == "True"
        return Health(HealthStatus.HEALTHY) if ok else Health(HealthStatus.PROGRESSING, "not established")
    ready = _condition(obj, "Ready")
    if ready is not None and ready.get("status") == "False":
        return Health(HealthStatus.PROGRESSING, str(ready.get("message") or "not ready"))
    return Health(HealthStatus.HEALTHY)
