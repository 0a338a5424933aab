"""A tiny health plugin, as a user's package would ship one (test_engine_health_rules.py installs it
with a .dist-info declaring the ``gitward.health`` entry point ``acme``).

``Gadget``: Suspended while ``spec.hold`` is true, else Healthy with a message saying who decided.
``Gizmo``: raises, as a buggy plugin would.
"""

from __future__ import annotations

from typing import Any

from gitward.health import Health, HealthStatus

GROUP = "plugins.health.example.com"


def gadget_health(obj: dict[str, Any]) -> Health:
    if (obj.get("spec") or {}).get("hold"):
        return Health(HealthStatus.SUSPENDED, "held by acme")
    return Health(HealthStatus.HEALTHY, "checked by acme")


def gizmo_health(obj: dict[str, Any]) -> Health:
    raise RuntimeError("acme cannot read gizmos")


CHECKS = {f"Gadget.{GROUP}": gadget_health, f"Gizmo.{GROUP}": gizmo_health}
