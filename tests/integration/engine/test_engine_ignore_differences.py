"""ignoreDifferences by field manager and by jq path expression, on the real cluster.

A field the rules name is not drift (no event, no heal, the app stays Synced, ``app diff`` shows
nothing), while the same object's other fields still heal; with RespectIgnoreDifferences a heal or a
new commit sends the ignored fields with their live values, so the other manager keeps them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, deployment

from gitward.reconcile.engine import Engine

pytestmark = pytest.mark.integration


def _drift(engine: Engine, app: str) -> list[dict[str, Any]]:
    return [e for e in engine.events(app, limit=500) if e["reason"] == "Drift"]


def _containers(kube_cluster: Any, name: str, namespace: str) -> dict[str, str]:
    live = kube_cluster.get_json("deployment", name, "-n", namespace)
    return {c["name"]: c["image"] for c in live["spec"]["template"]["spec"]["containers"]}


async def _calm(harness: Harness) -> None:
    await harness.settle()
    await asyncio.sleep(1.0)
    await harness.settle()


async def test_fields_an_autoscaler_manages_are_left_to_it(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = f"hpa-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {"app/web.yaml": deployment("web", replicas=1)})
    rule = [{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["autoscaler"]}]
    harness.configure(
        application(
            app,
            repo=git_server.url(app),
            path="app",
            namespace=namespace,
            options=("CreateNamespace=true", "RespectIgnoreDifferences=true"),
            ignoreDifferences=rule,
        )
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    conn = engine.connections.get("local")
    assert conn is not None
    await harness.settle()

    scale = {"spec": {"replicas": 3}}
    await conn.client.patch("apps/v1", "Deployment", namespace, "web", scale, field_manager="autoscaler")
    writes = harness.writes()  # the patch itself went through the engine's client
    await _calm(harness)
    assert kube_cluster.get_json("deployment", "web", "-n", namespace)["spec"]["replicas"] == 3
    assert harness.writes() == writes  # not healed
    assert _drift(engine, app) == []  # and not drift
    assert harness.app(app)["sync"]["status"] == "Synced"
    views = await engine.diff_app(app)
    assert all(view["action"] == "none" for view in views)

    # Another manager's change of the same object heals; the autoscaler's field stays.
    image = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}}
    await conn.client.patch("apps/v1", "Deployment", namespace, "web", image, field_manager="intruder")
    await harness.until(lambda: _containers(kube_cluster, "web", namespace)["web"] == "nginx:1.27")
    [event] = _drift(engine, app)
    assert event["manager"] == "intruder"
    assert event["fields"] == ["/spec/template/spec/containers/0/image"]

    # A new commit syncs; RespectIgnoreDifferences sends the replicas the autoscaler set.
    repo.commit({"app/web.yaml": deployment("web", replicas=1, image="nginx:1.28")}, message="new image")
    repo.push()
    await engine.refresh_app(app)
    await harness.until(lambda: _containers(kube_cluster, "web", namespace)["web"] == "nginx:1.28")
    await _calm(harness)
    assert kube_cluster.get_json("deployment", "web", "-n", namespace)["spec"]["replicas"] == 3
    assert harness.app(app)["sync"]["status"] == "Synced"


def _with_sidecar(name: str) -> str:
    doc = yaml.safe_load(deployment(name))
    doc["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.36"})
    return yaml.safe_dump(doc)


async def test_a_jq_path_expression_ignores_one_list_element_by_its_name(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = f"jq-{uuid4().hex[:6]}"
    git_server.create_repo(app, {"app/web.yaml": _with_sidecar("web")})
    expression = '.spec.template.spec.containers[] | select(.name == "sidecar") | .image'
    rule = [{"group": "apps", "kind": "Deployment", "jqPathExpressions": [expression]}]
    harness.configure(
        application(
            app,
            repo=git_server.url(app),
            path="app",
            namespace=namespace,
            options=("CreateNamespace=true", "RespectIgnoreDifferences=true"),
            ignoreDifferences=rule,
        )
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    await harness.settle()

    def set_image(container: str, image: str) -> None:  # a strategic merge: the list merged by name
        patch = {"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}
        kube_cluster.kubectl(
            "patch", "deployment", "web", "-n", namespace, "-p", json.dumps(patch), "--field-manager=intruder"
        )

    writes = harness.writes()
    set_image("sidecar", "busybox:1.37")
    await _calm(harness)
    assert _containers(kube_cluster, "web", namespace)["sidecar"] == "busybox:1.37"  # left alone
    assert harness.writes() == writes
    assert _drift(engine, app) == []
    assert harness.app(app)["sync"]["status"] == "Synced"

    set_image("web", "nginx:1.26")
    await harness.until(lambda: _containers(kube_cluster, "web", namespace)["web"] == "nginx:1.27")
    [event] = _drift(engine, app)
    assert event["fields"] == ["/spec/template/spec/containers/0/image"]  # the sidecar is not drift
    await _calm(harness)
    # RespectIgnoreDifferences: the heal sent the sidecar's image as live had it.
    assert _containers(kube_cluster, "web", namespace)["sidecar"] == "busybox:1.37"
