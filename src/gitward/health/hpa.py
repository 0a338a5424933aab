"""HorizontalPodAutoscaler health from its conditions.

Reasons starting with ``Failed`` (metrics or scale subresource unreadable) and ``AbleToScale`` False
are Degraded; scaling disabled (target scaled to zero) is Suspended; no conditions yet is
Progressing (the controller has not evaluated it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import conditions, degraded, describe, healthy, is_false, progressing, suspended


def hpa_health(obj: Mapping[str, Any]) -> Health:
    conds = conditions(obj)
    if not conds:
        return progressing("waiting for the autoscaler to be evaluated")
    for cond in conds.values():
        if str(cond.get("reason") or "").startswith("Failed"):
            return degraded(describe(cond, "autoscaler failed"))
    able = conds.get("AbleToScale")
    if able is not None and is_false(able):
        return degraded(describe(able, "autoscaler is not able to scale"))
    active = conds.get("ScalingActive")
    if active is not None and is_false(active) and active.get("reason") == "ScalingDisabled":
        return suspended(describe(active, "scaling is disabled"))
    return healthy()
