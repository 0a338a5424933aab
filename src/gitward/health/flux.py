"""Flux's own kinds: Kustomization, HelmRelease, GitRepository, OCIRepository, HelmRepository,
HelmChart and Bucket, which gitward may apply like any other object.

Flux follows kstatus: ``spec.suspend`` stops reconciliation (Suspended), ``observedGeneration``
behind ``metadata.generation`` means the controller has not seen the change yet (Progressing),
``Stalled`` True means it gave up until the spec changes (Degraded), ``Reconciling`` True means it is
at work (Progressing, as is Ready False with the reason ``Progressing`` or ``ProgressingWithRetry``),
and ``Ready`` decides otherwise. An OCI HelmRepository is static (the
controller writes no status for it), so it is Healthy once it exists.
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
    is_true,
    progressing,
    spec,
    suspended,
)


def flux_health(obj: Mapping[str, Any]) -> Health:
    if spec(obj).get("suspend") is True:
        return suspended("reconciliation is suspended (spec.suspend)")
    conds = conditions(obj)
    if obj.get("kind") == "HelmRepository" and spec(obj).get("type") == "oci" and not conds:
        return healthy("OCI Helm repositories are not reconciled")
    if generation_pending(obj):
        return progressing("waiting for the controller to observe the latest generation")
    stalled = conds.get("Stalled")
    if is_true(stalled):
        return degraded(describe(stalled or {}, "stalled"))
    ready = conds.get("Ready")
    if ready is None:
        return progressing("waiting for the controller to report Ready")
    if is_true(ready):
        return healthy(str(ready.get("message") or ""))
    reconciling = conds.get("Reconciling")
    under_way = str(ready.get("reason") or "") in ("Progressing", "ProgressingWithRetry")
    if is_true(reconciling) or under_way or str(ready.get("status")) == "Unknown":
        return progressing(describe(ready, "reconciling"))
    return degraded(describe(ready, "not ready"))
