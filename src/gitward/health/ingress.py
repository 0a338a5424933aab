"""Ingress health: Progressing until the ingress controller publishes a load balancer address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import healthy, load_balancer_ready, progressing


def ingress_health(obj: Mapping[str, Any]) -> Health:
    if not load_balancer_ready(obj):
        return progressing("waiting for the ingress controller to publish an address")
    return healthy()
