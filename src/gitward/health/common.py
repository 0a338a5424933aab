"""Small readers shared by the per-kind health checks: status, conditions, generations, replicas.

They never raise on odd shapes (a controller may not have written status yet, or a CRD may use
strings where numbers are expected): missing means "not there yet", and the dispatcher turns any
remaining surprise into Unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitward.core.status import Health, HealthStatus

#: A health check for one kind: live object in, health out. Custom checks have the same shape.
HealthCheck = Callable[[Mapping[str, Any]], Health]


def healthy(message: str = "") -> Health:
    return Health(HealthStatus.HEALTHY, message)


def progressing(message: str) -> Health:
    return Health(HealthStatus.PROGRESSING, message)


def degraded(message: str) -> Health:
    return Health(HealthStatus.DEGRADED, message)


def suspended(message: str) -> Health:
    return Health(HealthStatus.SUSPENDED, message)


def unknown(message: str) -> Health:
    return Health(HealthStatus.UNKNOWN, message)


def spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, Mapping) else {}


def status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, Mapping) else {}


def conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Conditions by type; a later duplicate wins, as controllers append."""
    found = status(obj).get("conditions")
    if not isinstance(found, list):
        return {}
    return {str(c.get("type")): c for c in found if isinstance(c, Mapping)}


def is_true(condition: Mapping[str, Any] | None) -> bool:
    return condition is not None and str(condition.get("status")) == "True"


def is_false(condition: Mapping[str, Any] | None) -> bool:
    return condition is not None and str(condition.get("status")) == "False"


def describe(condition: Mapping[str, Any], default: str) -> str:
    """The condition's message, else its reason, else ``default``."""
    return str(condition.get("message") or condition.get("reason") or default)


def number(value: Any, default: int = 0) -> int:
    """An integer from a status or spec field that may be absent, ``None`` or a numeric string."""
    if value is None or isinstance(value, bool):
        return default
    return int(value)


def generation_pending(obj: Mapping[str, Any]) -> bool:
    """The controller has not yet seen the latest spec (``status.observedGeneration < generation``).

    Only when both are present: a manifest has no generation, and some controllers never report
    ``observedGeneration``.
    """
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status(obj).get("observedGeneration")
    if generation is None or observed is None:
        return False
    return number(observed) < number(generation)


def desired_replicas(obj: Mapping[str, Any]) -> int:
    """``spec.replicas``, defaulting to 1 as the API server does."""
    return number(spec(obj).get("replicas"), default=1)


def load_balancer_ready(obj: Mapping[str, Any]) -> bool:
    ingress = (status(obj).get("loadBalancer") or {}).get("ingress")
    return isinstance(ingress, list) and len(ingress) > 0
