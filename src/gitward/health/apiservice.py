"""APIService health: Available. Not available is Progressing, not Degraded: the usual cause is a
backend that is still starting, and the wait step's timeout turns a lasting one into a failure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import conditions, describe, healthy, is_true, progressing


def apiservice_health(obj: Mapping[str, Any]) -> Health:
    available = conditions(obj).get("Available")
    if available is not None and is_true(available):
        return healthy()
    if available is not None:
        return progressing(describe(available, "API service not available"))
    return progressing("waiting for the API service to become available")
