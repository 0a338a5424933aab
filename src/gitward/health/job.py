"""Job health: Complete is Healthy, Failed is Degraded, suspended is Suspended, else running."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    conditions,
    degraded,
    describe,
    healthy,
    is_true,
    number,
    progressing,
    spec,
    status,
    suspended,
)


def job_health(obj: Mapping[str, Any]) -> Health:
    conds = conditions(obj)
    failed = conds.get("Failed")
    if failed is not None and is_true(failed):
        return degraded(describe(failed, "job failed"))
    complete = conds.get("Complete")
    if is_true(complete):
        return healthy("job completed")
    if spec(obj).get("suspend") is True or is_true(conds.get("Suspended")):
        return suspended("job is suspended")
    active = number(status(obj).get("active"))
    return progressing(f"job is running ({active} active)")
