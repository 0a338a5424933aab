"""cert-manager: Certificate, Issuer and ClusterIssuer.

A Certificate is Healthy when its ``Ready`` condition is True. While ``Issuing`` is True a new
certificate is being requested (Progressing), whatever Ready says; Ready False without an issuance
under way means the certificate is not usable (Degraded: expired, or the issuer refused it). An
Issuer or ClusterIssuer is Ready True when it can sign; False is Degraded with its reason. Before the
controller writes a Ready condition, either is Progressing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.core.status import Health
from gitward.health.common import (
    conditions,
    degraded,
    describe,
    generation_pending,
    healthy,
    is_false,
    is_true,
    progressing,
)


def certificate_health(obj: Mapping[str, Any]) -> Health:
    conds = conditions(obj)
    issuing = conds.get("Issuing")
    if is_true(issuing):
        return progressing(describe(issuing or {}, "issuing the certificate"))
    if generation_pending(obj):
        return progressing("waiting for cert-manager to observe the latest generation")
    ready = conds.get("Ready")
    if ready is None:
        return progressing("waiting for cert-manager to report Ready")
    if is_true(ready):
        return healthy(str(ready.get("message") or ""))
    if is_false(ready):
        return degraded(describe(ready, "certificate is not ready"))
    return progressing(describe(ready, "certificate is not ready yet"))


def issuer_health(obj: Mapping[str, Any]) -> Health:
    ready = conditions(obj).get("Ready")
    if ready is None:
        return progressing("waiting for cert-manager to report Ready")
    if is_true(ready):
        return healthy(str(ready.get("message") or ""))
    if is_false(ready):
        return degraded(describe(ready, "issuer is not ready"))
    return progressing(describe(ready, "issuer is not ready yet"))
