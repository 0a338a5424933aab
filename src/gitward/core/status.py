"""The states an app and an object can be in, with predicates instead of string comparisons."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SyncStatus(enum.StrEnum):
    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatus(enum.StrEnum):
    """Ordered from best to worst by ``severity``: an app's health is the worst of its objects."""

    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    UNKNOWN = "Unknown"
    MISSING = "Missing"
    DEGRADED = "Degraded"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def is_healthy(self) -> bool:
        return self is HealthStatus.HEALTHY

    @classmethod
    def worst(cls, statuses: list[HealthStatus]) -> HealthStatus:
        return max(statuses, key=lambda s: s.severity, default=cls.HEALTHY)


_SEVERITY = {
    HealthStatus.HEALTHY: 0,
    HealthStatus.SUSPENDED: 1,
    HealthStatus.PROGRESSING: 2,
    HealthStatus.UNKNOWN: 3,
    HealthStatus.MISSING: 4,
    HealthStatus.DEGRADED: 5,
}


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    message: str = ""


class OperationPhase(enum.StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"
    TERMINATED = "Terminated"  # stopped at a step boundary or a wait by ``gitward app terminate``

    @property
    def is_done(self) -> bool:
        return self is not OperationPhase.RUNNING
