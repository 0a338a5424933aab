"""Istio networking objects (VirtualService, DestinationRule, Gateway, ServiceEntry...).

Istio writes status only when its status feature is on: ``validationMessages`` from its analyzers
(``level`` Error, Warning or Info) and a ``Reconciled`` condition while the configuration spreads to
the proxies. An analyzer error is Degraded (the route does not do what it says); Reconciled False is
Progressing; anything else, no status included, is Healthy: Istio accepts the object as soon as the
API server stores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import conditions, degraded, describe, healthy, is_false, progressing, status


def istio_health(obj: Mapping[str, Any]) -> Health:
    messages = status(obj).get("validationMessages")
    errors = [
        m
        for m in (messages if isinstance(messages, list) else [])
        if isinstance(m, Mapping) and str(m.get("level") or "").lower() == "error"
    ]
    if errors:
        first = errors[0]
        code = (
            (first.get("type") or {}).get("code") if isinstance(first.get("type"), Mapping) else None
        ) or (first.get("code") or "")
        text = str(first.get("message") or "analyzer error")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return degraded(f"{code}: {text}{more}" if code else f"{text}{more}")
    reconciled = conditions(obj).get("Reconciled")
    if reconciled is not None and is_false(reconciled):
        return progressing(describe(reconciled, "configuration still reaching the proxies"))
    return healthy()
