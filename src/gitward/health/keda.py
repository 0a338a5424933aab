"""KEDA's ScaledObject and ScaledJob.

KEDA reports ``Ready`` (the scalers and the HPA it manages work), ``Active`` (a trigger is active),
``Fallback`` (the scalers fail and the fallback replica count is used) and ``Paused``. Paused True,
or the ``autoscaling.keda.sh/paused`` annotation, is Suspended; Ready False is Degraded; Fallback
True is Degraded too (scaling runs blind on the fallback count); Ready True is Healthy whether a
trigger is active or not. No Ready yet is Progressing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    conditions,
    degraded,
    describe,
    healthy,
    is_false,
    is_true,
    progressing,
    suspended,
)

PAUSED_ANNOTATION = "autoscaling.keda.sh/paused"


def keda_health(obj: Mapping[str, Any]) -> Health:
    conds = conditions(obj)
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    paused = conds.get("Paused")
    if is_true(paused) or str(annotations.get(PAUSED_ANNOTATION, "")).lower() == "true":
        return suspended(describe(paused or {}, "autoscaling is paused"))
    ready = conds.get("Ready")
    if ready is None:
        return progressing("waiting for KEDA to report Ready")
    if is_false(ready):
        return degraded(describe(ready, "not ready"))
    fallback = conds.get("Fallback")
    if is_true(fallback):
        return degraded(describe(fallback or {}, "scalers failing: using the fallback replica count"))
    if is_true(ready):
        return healthy(str(ready.get("message") or ""))
    return progressing(describe(ready, "not ready yet"))
