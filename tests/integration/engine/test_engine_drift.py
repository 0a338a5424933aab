"""Out-of-band changes to managed objects: healed with selfHeal, only reported without it.

Every change is made the way an operator would make it (``kubectl patch``, an edit-style
get/modify/replace, ``kubectl delete``) under the field manager ``intruder``, and the test asserts
the live object, the app's sync status and the Drift event naming the object, the changed field
paths and the manager who changed them.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap, deployment

pytestmark = pytest.mark.integration


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:6]}"


def _drift_events(harness: Harness, app: str, object_id: str) -> list[dict[str, Any]]:
    assert harness.engine is not None
    return [
        e
        for e in harness.engine.events(app)
        if e["reason"] == "Drift" and e["object"] == object_id and e["type"] == "Warning"
    ]


def _patch_color(kube_cluster: Any, name: str, namespace: str, color: str) -> None:
    body = json.dumps({"data": {"color": color}})
    kube_cluster.kubectl(
        "patch", "configmap", name, "-n", namespace, "--type=merge", "-p", body, "--field-manager=intruder"
    )


async def _synced_app(
    harness: Harness, git_server: FileGitServer, namespace: str, *, self_heal: bool
) -> tuple[str, str]:
    app = _name("drift")
    git_server.create_repo(app, {"app/config.yaml": configmap(app, {"color": "blue", "size": "m"})})
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace, self_heal=self_heal)
    )
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    return app, f"{namespace}_{app}__ConfigMap"


async def test_self_heal_reverts_a_patch_and_records_who_changed_which_field(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app, object_id = await _synced_app(harness, git_server, namespace, self_heal=True)
    assert _drift_events(harness, app, object_id) == []

    _patch_color(kube_cluster, app, namespace, "red")

    await harness.until(lambda: _drift_events(harness, app, object_id))
    await harness.until(
        lambda: (
            kube_cluster.get_json("configmap", app, "-n", namespace)["data"] == {"color": "blue", "size": "m"}
        )
    )
    event = _drift_events(harness, app, object_id)[0]
    assert event["fields"] == ["/data/color"]
    assert event["manager"] == "intruder"
    assert "intruder" in event["message"]
    assert "/data/color" in event["message"]
    await harness.settle()
    assert harness.is_synced_healthy(app)


async def test_self_heal_reverts_an_edit_style_replace_of_a_deployment(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = _name("edit")
    git_server.create_repo(app, {"app/deploy.yaml": deployment(app, replicas=2)})
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    object_id = f"{namespace}_{app}_apps_Deployment"

    # What ``kubectl edit`` does: read the whole object, change it, PUT it back.
    live = kube_cluster.get_json("deployment", app, "-n", namespace)
    live["spec"]["replicas"] = 5
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    kube_cluster.kubectl("replace", "--field-manager=intruder", "-f", "-", stdin=json.dumps(live))

    await harness.until(lambda: _drift_events(harness, app, object_id))
    await harness.until(
        lambda: kube_cluster.get_json("deployment", app, "-n", namespace)["spec"]["replicas"] == 2
    )
    healed = kube_cluster.get_json("deployment", app, "-n", namespace)
    assert healed["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    event = _drift_events(harness, app, object_id)[0]
    assert set(event["fields"]) == {"/spec/replicas", "/spec/template/spec/containers/0/image"}
    assert event["manager"] == "intruder"


async def test_without_self_heal_a_patch_is_reported_and_left_alone(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app, object_id = await _synced_app(harness, git_server, namespace, self_heal=False)
    await harness.settle()
    writes_before = harness.writes()

    _patch_color(kube_cluster, app, namespace, "red")

    await harness.until(lambda: harness.app(app)["sync"]["status"] == "OutOfSync")
    await harness.until(lambda: _drift_events(harness, app, object_id))
    await harness.settle()
    assert kube_cluster.get_json("configmap", app, "-n", namespace)["data"]["color"] == "red"
    assert harness.writes() == writes_before
    event = _drift_events(harness, app, object_id)[0]
    assert event["fields"] == ["/data/color"]
    assert event["manager"] == "intruder"
    status = harness.app(app)
    row = next(r for r in status["resources"] if r["name"] == app)
    assert row["sync"] == "OutOfSync"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "OutOfSync"

    # A manual sync takes back a field an out-of-band update changed, by the same rule as self-heal.
    assert harness.engine is not None
    synced = await harness.engine.sync_app(app)
    assert synced["phase"] == "Succeeded", synced["message"]
    assert kube_cluster.get_json("configmap", app, "-n", namespace)["data"]["color"] == "blue"
    assert harness.app(app)["sync"]["status"] == "Synced"


async def test_self_heal_recreates_an_object_deleted_out_of_band(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app, object_id = await _synced_app(harness, git_server, namespace, self_heal=True)
    first_uid = kube_cluster.get_json("configmap", app, "-n", namespace)["metadata"]["uid"]

    kube_cluster.kubectl("delete", "configmap", app, "-n", namespace)

    def recreated() -> bool:
        out = kube_cluster.kubectl("get", "configmap", app, "-n", namespace, "-o", "json", check=False)
        return bool(out) and json.loads(out)["metadata"]["uid"] != first_uid

    await harness.until(recreated)
    assert kube_cluster.get_json("configmap", app, "-n", namespace)["data"] == {"color": "blue", "size": "m"}
    events = _drift_events(harness, app, object_id)
    assert events
    assert "deleted out of band" in events[0]["message"]
    await harness.until(lambda: harness.is_synced_healthy(app))
