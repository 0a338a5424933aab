"""ReplicaSet (and ReplicationController) health: all replicas available; Degraded when the
controller reports it cannot create pods (``ReplicaFailure``, e.g. a quota)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    conditions,
    degraded,
    describe,
    desired_replicas,
    generation_pending,
    healthy,
    is_true,
    number,
    progressing,
    status,
)


def replicaset_health(obj: Mapping[str, Any]) -> Health:
    if generation_pending(obj):
        return progressing("waiting for the update to be observed by the controller")
    failure = conditions(obj).get("ReplicaFailure")
    if failure is not None and is_true(failure):
        return degraded(describe(failure, "replica failure"))
    want = desired_replicas(obj)
    available = number(status(obj).get("availableReplicas"))
    if available < want:
        return progressing(f"{available} of {want} replicas available")
    return healthy()
