"""Health of any other kind (custom resources above all), from the conventions most controllers
follow, as kstatus reads them: ``status.observedGeneration`` against ``metadata.generation``, the
``Stalled`` and ``Reconciling`` conditions, then ``Ready``, then ``Available``.

Ready False is Degraded unless its reason says the work is under way (``Progressing``,
``Reconciling``, ``Pending``...), which many operators report while they converge. Available False
is Progressing (not available yet). An object with no status, or with a status but none of these
conditions, is Healthy once it exists: most custom resources have nothing to wait for, and one whose
controller never writes a condition must not stay Unknown or Progressing forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    conditions,
    degraded,
    describe,
    generation_pending,
    healthy,
    is_false,
    is_true,
    progressing,
    status,
)

_UNDER_WAY = ("progress", "reconcil", "pending", "creat", "initializ", "waiting", "deploying", "updating")


def generic_health(obj: Mapping[str, Any]) -> Health:
    if not status(obj):
        return healthy()
    if generation_pending(obj):
        return progressing("waiting for the controller to observe the latest generation")
    conds = conditions(obj)
    stalled = conds.get("Stalled")
    if stalled is not None and is_true(stalled):
        return degraded(describe(stalled, "stalled"))
    ready = conds.get("Ready")
    if ready is not None:
        if is_true(ready):
            return healthy(str(ready.get("message") or ""))
        if is_false(ready) and not _under_way(str(ready.get("reason") or "")):
            return degraded(describe(ready, "not ready"))
        return progressing(describe(ready, "not ready yet"))
    reconciling = conds.get("Reconciling")
    if reconciling is not None and is_true(reconciling):
        return progressing(describe(reconciling, "reconciling"))
    available = conds.get("Available")
    if available is not None and not is_true(available):
        return progressing(describe(available, "not available yet"))
    return healthy()


def _under_way(reason: str) -> bool:
    lowered = reason.lower()
    return any(word in lowered for word in _UNDER_WAY)
