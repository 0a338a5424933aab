"""Deployment health: rolled out when the controller has observed the spec and every replica is new
and available; Degraded once the progress deadline passed; Suspended while paused."""

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
    number,
    progressing,
    spec,
    status,
    suspended,
)


def deployment_health(obj: Mapping[str, Any]) -> Health:
    if spec(obj).get("paused") is True:
        return suspended("deployment is paused")
    if generation_pending(obj):
        return progressing("waiting for the rollout to be observed by the controller")
    progress = conditions(obj).get("Progressing")
    if progress is not None and progress.get("reason") == "ProgressDeadlineExceeded":
        return degraded(f"ProgressDeadlineExceeded: {describe(progress, 'progress deadline exceeded')}")
    st = status(obj)
    want = desired_replicas(obj)
    updated = number(st.get("updatedReplicas"))
    total = number(st.get("replicas"))
    available = number(st.get("availableReplicas"))
    if updated < want:
        return progressing(f"{updated} of {want} replicas updated")
    if total > updated:
        return progressing(f"{total - updated} old replicas pending termination")
    if available < updated:
        return progressing(f"{available} of {updated} updated replicas available")
    return healthy()
