"""DaemonSet health: the pod on every eligible node is updated and available."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import generation_pending, healthy, number, progressing, spec, status


def daemonset_health(obj: Mapping[str, Any]) -> Health:
    if generation_pending(obj):
        return progressing("waiting for the update to be observed by the controller")
    st = status(obj)
    want = number(st.get("desiredNumberScheduled"))
    if (spec(obj).get("updateStrategy") or {}).get("type") != "OnDelete":
        updated = number(st.get("updatedNumberScheduled"))
        if updated < want:
            return progressing(f"{updated} of {want} pods updated")
    available = number(st.get("numberAvailable"))
    if available < want:
        return progressing(f"{available} of {want} pods available")
    return healthy()
