"""Gateway API: routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) and Gateways.

A route's status is per parent (``status.parents[]``, one entry per Gateway that considered it,
with that Gateway's ``controllerName``): ``Accepted`` (the Gateway took the route) and
``ResolvedRefs`` (every backend it names exists and may be used). A parent whose Accepted or
ResolvedRefs is False makes the route Degraded, naming the parent; a route no Gateway has reported
on yet, or whose parents' conditions are not yet True, is Progressing; every parent Accepted and
ResolvedRefs True is Healthy. Conditions older than the route's generation count as not reported.

A Gateway is Healthy when ``Programmed`` is True (its data plane is configured), Degraded when
``Accepted`` or ``Programmed`` is False with a final reason, and Progressing otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    conditions,
    degraded,
    healthy,
    is_false,
    is_true,
    number,
    progressing,
    status,
)

ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")
_WAITING_REASONS = ("Pending", "Unknown")


def route_health(obj: Mapping[str, Any]) -> Health:
    parents = status(obj).get("parents")
    if not isinstance(parents, list) or not parents:
        return progressing("no Gateway has accepted the route yet")
    generation = (obj.get("metadata") or {}).get("generation")
    waiting = ""
    for parent in parents:
        if not isinstance(parent, Mapping):
            continue
        conds = _conditions_of(parent, generation)
        name = _parent_name(parent)
        for kind in ("Accepted", "ResolvedRefs"):
            cond = conds.get(kind)
            if cond is not None and is_false(cond) and cond.get("reason") not in _WAITING_REASONS:
                return degraded(f"{name}: {kind} False: {_reason_and_message(cond)}")
            if not is_true(cond) and not waiting:
                waiting = f"{name}: waiting for {kind}"
    return progressing(waiting) if waiting else healthy()


def _conditions_of(parent: Mapping[str, Any], generation: Any) -> dict[str, Mapping[str, Any]]:
    """The parent's conditions that speak of the current generation (older ones say nothing now)."""
    found = parent.get("conditions")
    out: dict[str, Mapping[str, Any]] = {}
    for cond in found if isinstance(found, list) else []:
        if not isinstance(cond, Mapping):
            continue
        observed = cond.get("observedGeneration")
        if generation is not None and observed is not None and number(observed) < number(generation):
            continue
        out[str(cond.get("type"))] = cond
    return out


def _reason_and_message(cond: Mapping[str, Any]) -> str:
    reason, message = str(cond.get("reason") or ""), str(cond.get("message") or "")
    return f"{reason}: {message}" if reason and message else reason or message or "no reason given"


def _parent_name(parent: Mapping[str, Any]) -> str:
    ref = parent.get("parentRef") or {}
    name = str(ref.get("name") or "?") if isinstance(ref, Mapping) else "?"
    namespace = str(ref.get("namespace") or "") if isinstance(ref, Mapping) else ""
    return f"parent {namespace + '/' if namespace else ''}{name}"


def gateway_health(obj: Mapping[str, Any]) -> Health:
    conds = conditions(obj)
    for kind in ("Accepted", "Programmed"):
        cond = conds.get(kind)
        if cond is not None and is_false(cond) and cond.get("reason") not in _WAITING_REASONS:
            return degraded(f"{kind} False: {_reason_and_message(cond)}")
    if is_true(conds.get("Programmed")):
        return healthy()
    return progressing("waiting for the Gateway to be programmed")
