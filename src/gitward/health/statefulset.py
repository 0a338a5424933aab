"""StatefulSet health: every replica ready and, for rolling updates, every replica (above the
partition) on the update revision. ``OnDelete`` sets only need their replicas ready: pods are
replaced by hand, so an old revision is not a rollout gitward could wait for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    desired_replicas,
    generation_pending,
    healthy,
    number,
    progressing,
    spec,
    status,
)


def statefulset_health(obj: Mapping[str, Any]) -> Health:
    if generation_pending(obj):
        return progressing("waiting for the update to be observed by the controller")
    st = status(obj)
    want = desired_replicas(obj)
    ready = number(st.get("readyReplicas"))
    if ready < want:
        return progressing(f"{ready} of {want} replicas ready")
    strategy = spec(obj).get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return healthy("update strategy OnDelete: pods are replaced manually")
    partition = number((strategy.get("rollingUpdate") or {}).get("partition"))
    updated = number(st.get("updatedReplicas"))
    if partition > 0:
        if updated < want - partition:
            return progressing(f"{updated} of {want - partition} replicas above the partition updated")
        return healthy(f"partitioned rollout: {updated} replicas updated")
    if updated < want:
        return progressing(f"{updated} of {want} replicas updated")
    if st.get("updateRevision") and st.get("currentRevision") != st.get("updateRevision"):
        return progressing("rolling update in progress")
    return healthy()
