"""CustomResourceDefinition health: Established, and its names accepted (a name clash with another
CRD is Degraded: it will never establish without a human)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import conditions, degraded, describe, healthy, is_false, is_true, progressing


def crd_health(obj: Mapping[str, Any]) -> Health:
    conds = conditions(obj)
    names = conds.get("NamesAccepted")
    if names is not None and is_false(names):
        return degraded(describe(names, "names not accepted"))
    if is_true(conds.get("Established")):
        return healthy()
    return progressing("waiting for the CRD to be established")
