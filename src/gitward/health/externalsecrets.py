"""External Secrets Operator: ExternalSecret, ClusterExternalSecret, SecretStore and
ClusterSecretStore.

Each reports a ``Ready`` condition: True is Healthy (the Secret was synced, or the store can be
read); False is Degraded with the operator's reason (``SecretSyncedError``, ``InvalidProviderConfig``),
since it does not heal without a change; absent or Unknown is Progressing. An ExternalSecret whose
controller has not seen the latest spec is Progressing.
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


def external_secrets_health(obj: Mapping[str, Any]) -> Health:
    if generation_pending(obj):
        return progressing("waiting for the operator to observe the latest generation")
    ready = conditions(obj).get("Ready")
    if ready is None:
        return progressing("waiting for the operator to report Ready")
    if is_true(ready):
        return healthy(str(ready.get("message") or ""))
    if is_false(ready):
        return degraded(describe(ready, "not ready"))
    return progressing(describe(ready, "not ready yet"))
