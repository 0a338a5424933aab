"""The field-manager conflict rule against the real API server (docs/architecture.md, "Safety rules").

A sync takes back the fields Git sets from managers that changed them with an update (``kubectl set
image``, ``kubectl scale``, a merge patch), whether the sync was asked for or automatic; a field that
another server-side applier claims stops the sync naming that manager, unless the sync forces.
"""

from __future__ import annotations

from typing import Any

import pytest

from gitward.apply import VerdictCache, apply_one
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.changes import Action
from gitward.core.marks import with_marks

pytestmark = pytest.mark.integration

APP = "conflicts"


def deployment(ns: str, image: str) -> dict[str, Any]:
    labels = {"app": "web"}
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }
    return with_marks(manifest, APP)


async def image_of(client: LightkubeClient, ns: str) -> str:
    live = await client.get("apps/v1", "Deployment", ns, "web")
    assert live is not None
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


async def _synced(client: LightkubeClient, ns: str) -> dict[str, Any]:
    change = await apply_one(client, deployment(ns, "web:1"), live=None, verdicts=VerdictCache())
    assert change.action is Action.CREATED, change.message
    live = await client.get("apps/v1", "Deployment", ns, "web")
    assert live is not None
    return live


async def test_a_sync_takes_back_a_field_changed_by_kubectl_set_image(
    client: LightkubeClient, ns: str
) -> None:
    await _synced(client, ns)
    strategic = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:hotfix"}]}}}}
    await client.patch(
        "apps/v1", "Deployment", ns, "web", strategic, patch_type="strategic", field_manager="kubectl-set"
    )
    live = await client.get("apps/v1", "Deployment", ns, "web")
    assert live is not None
    assert await image_of(client, ns) == "web:hotfix"

    change = await apply_one(client, deployment(ns, "web:1"), live=live, verdicts=VerdictCache())

    assert change.action is Action.CONFIGURED, change.message
    assert await image_of(client, ns) == "web:1"


async def test_a_field_another_applier_claims_stops_the_sync_unless_forced(
    client: LightkubeClient, ns: str
) -> None:
    await _synced(client, ns)
    theirs = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web:theirs"}]}}},
    }
    await client.apply(theirs, field_manager="other-gitops", force=True)
    live = await client.get("apps/v1", "Deployment", ns, "web")

    refused = await apply_one(client, deployment(ns, "web:1"), live=live, verdicts=VerdictCache())

    assert refused.action is Action.FAILED
    assert "other-gitops" in refused.message
    assert "force" in refused.message
    assert await image_of(client, ns) == "web:theirs"

    forced = await apply_one(client, deployment(ns, "web:1"), live=live, verdicts=VerdictCache(), force=True)

    assert forced.action is Action.CONFIGURED, forced.message
    assert await image_of(client, ns) == "web:1"
