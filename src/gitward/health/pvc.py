"""PersistentVolumeClaim health: Bound is Healthy, Pending Progressing, Lost Degraded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import degraded, healthy, progressing, status, unknown


def pvc_health(obj: Mapping[str, Any]) -> Health:
    phase = str(status(obj).get("phase") or "Pending")
    if phase == "Bound":
        return healthy()
    if phase == "Pending":
        return progressing("claim is waiting to be bound")
    if phase == "Lost":
        return degraded("claim lost its volume")
    return unknown(f"claim phase {phase}")
