"""Service health: a LoadBalancer is Progressing until the cloud gives it an address; every other
type is Healthy as soon as it exists (endpoints are the workloads' health, not the Service's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import healthy, load_balancer_ready, progressing, spec


def service_health(obj: Mapping[str, Any]) -> Health:
    if spec(obj).get("type") == "LoadBalancer" and not load_balancer_ready(obj):
        return progressing("waiting for the load balancer address")
    return healthy()
