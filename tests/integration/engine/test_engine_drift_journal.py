"""The drift journal tells others' changes only: one Drift event per out-of-band change, never gitward's.

``./dev demo`` scales podinfo with kubectl and gitward heals it: the journal must then say exactly
once that kubectl changed ``/spec/replicas``, and the watch events that follow the heal (its own
write, the controllers' status updates, an event of the change delivered late) must never read as a
second drift or cause a second write.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, deployment

from gitward.cluster.client import WatchEvent
from gitward.core.keys import ResourceKey
from gitward.reconcile.engine import Engine

pytestmark = pytest.mark.integration


def _events(engine: Engine, app: str, reason: str) -> list[dict[str, Any]]:
    return [e for e in engine.events(app, limit=500) if e["reason"] == reason]


async def _synced_deployment(
    harness: Harness, git_server: FileGitServer, namespace: str, *, replicas: int = 2
) -> tuple[Engine, str]:
    app = f"journal-{uuid4().hex[:6]}"
    git_server.create_repo(app, {"app/web.yaml": deployment(app, replicas=replicas)})
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    await harness.settle()
    return engine, app


async def _until_replicas(kube_cluster: Any, harness: Harness, name: str, namespace: str, n: int) -> None:
    await harness.until(
        lambda: kube_cluster.get_json("deployment", name, "-n", namespace)["spec"]["replicas"] == n
    )


async def _quiet(harness: Harness, app: str) -> None:
    """Synced and Healthy, the queue empty, and the controllers' status updates of the rollout in."""
    await harness.until(lambda: harness.is_synced_healthy(app))
    await harness.settle()
    await asyncio.sleep(1.0)
    await harness.settle()


async def test_a_kubectl_scale_healed_is_one_drift_event_naming_kubectl(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    engine, app = await _synced_deployment(harness, git_server, namespace)

    for scale in (5, 4, 6):
        kube_cluster.kubectl("scale", "deployment", app, "-n", namespace, f"--replicas={scale}")
        await _until_replicas(kube_cluster, harness, app, namespace, 2)
        await _quiet(harness, app)

    drift = _events(engine, app, "Drift")
    assert len(drift) == 3, [e["message"] for e in drift]  # one per scale, none for the heals
    assert all(e["manager"] == "kubectl" and e["fields"] == ["/spec/replicas"] for e in drift)
    assert not any("gitward" in e["message"] for e in drift)
    # One heal per scale: every successful sync writes one Synced event (the first one created it).
    assert len(_events(engine, app, "Synced")) == 1 + 3
    heals = [h for h in engine.history(app) if "drift" in h["trigger"].split(",")]
    assert sum(h["count"] for h in heals) == 3


async def test_a_patch_under_another_field_manager_healed_is_one_drift_event(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    engine, app = await _synced_deployment(harness, git_server, namespace)
    conn = engine.connections.get("local")
    assert conn is not None
    patch = {"spec": {"template": {"spec": {"containers": [{"name": app, "image": "nginx:1.26"}]}}}}

    await conn.client.patch("apps/v1", "Deployment", namespace, app, patch, field_manager="intruder")
    await harness.until(
        lambda: (
            kube_cluster.get_json("deployment", app, "-n", namespace)["spec"]["template"]["spec"][
                "containers"
            ][0]["image"]
            == "nginx:1.27"
        )
    )
    await _quiet(harness, app)

    drift = _events(engine, app, "Drift")
    assert [(e["manager"], e["fields"]) for e in drift] == [
        ("intruder", ["/spec/template/spec/containers/0/image"])
    ]
    assert len(_events(engine, app, "Synced")) == 2  # the create and the one heal


async def test_a_watch_event_of_the_change_delivered_after_the_heal_is_not_drift_again(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    """The cache may hold a copy older than gitward's last write (a watch event delivered late, or
    one that arrives after the write's answer was stored): the journal reads the server, finds
    nothing drifted, reports nothing and writes nothing."""
    engine, app = await _synced_deployment(harness, git_server, namespace)
    conn = engine.connections.get("local")
    assert conn is not None
    key = ResourceKey("apps", "Deployment", namespace, app)
    seen: list[dict[str, Any]] = []
    unsubscribe = conn.cache.on_change(
        lambda kind, k, obj: seen.append(copy.deepcopy(obj)) if k == key and kind == "MODIFIED" else None
    )
    kube_cluster.kubectl("scale", "deployment", app, "-n", namespace, "--replicas=5")
    await _until_replicas(kube_cluster, harness, app, namespace, 2)
    await _quiet(harness, app)
    while True:  # the controllers are done with the object: no watch event for 2 s
        heard = len(seen)
        await asyncio.sleep(2.0)
        if len(seen) == heard:
            break
    unsubscribe()
    scaled = next(o for o in seen if o["spec"]["replicas"] == 5)
    await harness.settle()
    writes = harness.writes()

    # The scale's own watch event, once more, after the heal: as a late delivery would bring it.
    watch = conn.cache._watches[("apps/v1", "Deployment")]  # white box: replay one watch event
    conn.cache._handle(watch, WatchEvent("MODIFIED", scaled))
    assert (conn.cache.get(key) or {})["spec"]["replicas"] == 5  # the cache is behind the server
    await harness.settle()
    await asyncio.sleep(0.5)
    await harness.settle()

    assert len(_events(engine, app, "Drift")) == 1
    assert harness.writes() == writes  # no second heal of a change already healed
    assert harness.app(app)["sync"]["status"] == "Synced"
