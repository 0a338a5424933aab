"""Crossplane managed resources (and composite resources and claims), which report two conditions:
``Synced`` (the last reconcile of the external resource succeeded) and ``Ready`` (the external
resource is available).

Synced False is Degraded (the provider could not create, update or observe it), unless its reason
is ``ReconcilePaused`` (the ``crossplane.io/paused`` annotation: Suspended). Ready True is Healthy;
Ready False or not yet reported is Progressing (Creating, Deleting...), except ``Unavailable``,
which means the resource exists but does not work (Degraded).

Which objects: any kind of a group ending in ``crossplane.io`` or ``upbound.io``, and any object
with a ``spec.forProvider`` (what every managed resource has), whatever its provider's group.
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
    spec,
    suspended,
)

_GROUP_SUFFIXES = ("crossplane.io", "upbound.io")


def is_crossplane_resource(group: str, obj: Mapping[str, Any]) -> bool:
    if group.endswith(_GROUP_SUFFIXES) and not group.startswith(("apiextensions.", "pkg.")):
        return True
    return isinstance(spec(obj).get("forProvider"), Mapping)


def crossplane_health(obj: Mapping[str, Any]) -> Health:
    conds = conditions(obj)
    synced = conds.get("Synced")
    if synced is not None and is_false(synced):
        if synced.get("reason") == "ReconcilePaused":
            return suspended(describe(synced, "reconciliation is paused"))
        return degraded(describe(synced, "not synced with the external resource"))
    ready = conds.get("Ready")
    if ready is None:
        return progressing("waiting for the provider to report Ready")
    if is_true(ready):
        return healthy(str(ready.get("message") or ""))
    if ready.get("reason") == "Unavailable":
        return degraded(describe(ready, "the external resource is unavailable"))
    return progressing(describe(ready, "the external resource is not ready yet"))
