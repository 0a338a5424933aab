"""Health you can extend, on the real cluster: a HealthCheck's CEL rules, a plugin found through its
entry point, a raising plugin, and the generic fallback for a custom resource with no status."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap
from tests.integration.engine.healthsupport import (
    PLUGIN_GROUP,
    crd,
    custom,
    install_crds,
    lay_out_plugin,
    patch_status,
)

pytestmark = pytest.mark.integration


def row(harness: Harness, app: str, kind: str, name: str) -> dict[str, Any]:
    rows = [r for r in harness.app(app).get("resources") or [] if r["kind"] == kind and r["name"] == name]
    return rows[0] if rows else {}


@pytest.fixture
def health_plugin(tmp_path: Path) -> Iterator[Path]:
    """The plugin package installed on ``sys.path`` the way an installer lays it out: its module and a
    ``.dist-info`` declaring the ``gitward.health`` entry point, found by importlib.metadata."""
    site = lay_out_plugin(tmp_path / "site")
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("acme_widget_health", None)
        importlib.invalidate_caches()


async def test_a_declared_rule_takes_a_custom_resource_from_progressing_to_healthy(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    group = f"g{uuid.uuid4().hex[:8]}.health.example.com"
    install_crds(kube_cluster, crd(group, "Widget"))
    git_server.create_repo("apps", {"w/widget.yaml": custom(group, "Widget", "blue", size=2)})
    check = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "HealthCheck",
        "metadata": {"name": "widgets"},
        "spec": {
            "group": group,
            "kind": "Widget",
            "rules": [
                {
                    "health": "Healthy",
                    "when": "has(status.phase) && status.phase == 'Ready'",
                    "message": "{{ status.ready }} of {{ spec.size }} ready",
                },
                {"health": "Progressing", "message": "widget is {{ status.phase }}"},
            ],
        },
    }
    harness.configure(check, application("w", repo=git_server.url("apps"), path="w", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: row(harness, "w", "Widget", "blue").get("health") == "Progressing")
    assert row(harness, "w", "Widget", "blue")["message"] == "widget is <unset>"
    assert harness.app("w")["health"]["status"] == "Progressing"
    explained = engine.explain_health("w", kind="Widget", name="blue")
    assert explained["decidedBy"] == {
        "source": "HealthCheck",
        "name": "widgets",
        "rule": "rule 2",
        "expression": "(no matcher: always)",
    }
    assert explained["passed"] == []

    patch_status(kube_cluster, "Widget", group, "blue", namespace, {"phase": "Ready", "ready": 2})
    await harness.until(lambda: harness.app("w")["health"]["status"] == "Healthy")
    assert row(harness, "w", "Widget", "blue")["message"] == "2 of 2 ready"
    assert row(harness, "w", "Widget", "blue")["healthBy"] == "HealthCheck widgets, rule 1"
    [node] = await engine.app_tree("w")
    assert (node["health"], node["healthBy"]) == ("Healthy", "HealthCheck widgets, rule 1")
    explained = engine.explain_health("w", kind=f"Widget.{group}", name="blue", namespace=namespace)
    assert explained["health"] == {"status": "Healthy", "message": "2 of 2 ready"}
    assert explained["decidedBy"]["rule"] == "rule 1"
    assert explained["decidedBy"]["expression"] == "has(status.phase) && status.phase == 'Ready'"


async def test_a_custom_resource_without_status_is_healthy_by_the_generic_rules(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    group = f"g{uuid.uuid4().hex[:8]}.health.example.com"
    install_crds(kube_cluster, crd(group, "Widget"))
    git_server.create_repo("apps", {"w/widget.yaml": custom(group, "Widget", "plain", size=1)})
    harness.configure(application("w", repo=git_server.url("apps"), path="w", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy("w"))
    assert row(harness, "w", "Widget", "plain")["health"] == "Healthy"
    assert row(harness, "w", "Widget", "plain")["healthBy"] == "generic rules"
    explained = engine.explain_health("w", kind="Widget", name="plain")
    assert explained["decidedBy"]["source"] == "generic"

    # A HealthCheck added by a config reload decides at once: the owning app is assessed again.
    check = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "HealthCheck",
        "metadata": {"name": "strict-widgets"},
        "spec": {
            "group": group,
            "kind": "Widget",
            "rules": [{"health": "Degraded", "when": "!has(status.phase)", "message": "no phase"}],
        },
    }
    harness.configure(check, application("w", repo=git_server.url("apps"), path="w", namespace=namespace))
    changes = engine.reload()
    assert changes is not None
    assert changes.health_kinds == {(group, "Widget")}
    await harness.until(lambda: harness.app("w")["health"]["status"] == "Degraded")
    assert row(harness, "w", "Widget", "plain")["healthBy"] == "HealthCheck strict-widgets, rule 1"


async def test_an_installed_plugin_decides_its_kind(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, health_plugin: Path
) -> None:
    install_crds(kube_cluster, crd(PLUGIN_GROUP, "Gadget"))
    git_server.create_repo(
        "apps",
        {
            "g/held.yaml": custom(PLUGIN_GROUP, "Gadget", "held", hold=True),
            "g/free.yaml": custom(PLUGIN_GROUP, "Gadget", "free", hold=False),
        },
    )
    harness.configure(application("g", repo=git_server.url("apps"), path="g", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: row(harness, "g", "Gadget", "held").get("health") == "Suspended")
    assert row(harness, "g", "Gadget", "held")["message"] == "held by acme"
    assert row(harness, "g", "Gadget", "free")["health"] == "Healthy"
    assert row(harness, "g", "Gadget", "free")["healthBy"] == "plugin acme"
    assert harness.app("g")["health"]["status"] == "Suspended"
    explained = engine.explain_health("g", kind="Gadget", name="free")
    assert explained["decidedBy"] == {
        "source": "plugin",
        "name": "acme",
        "rule": "acme_widget_health:CHECKS",
        "expression": "",
    }


async def test_a_raising_plugin_leaves_its_object_unknown_and_the_app_reconciling(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, health_plugin: Path
) -> None:
    install_crds(kube_cluster, crd(PLUGIN_GROUP, "Gizmo"))
    repo = git_server.create_repo("apps", {"z/gizmo.yaml": custom(PLUGIN_GROUP, "Gizmo", "odd")})
    harness.configure(application("z", repo=git_server.url("apps"), path="z", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: row(harness, "z", "Gizmo", "odd").get("health") == "Unknown")
    assert row(harness, "z", "Gizmo", "odd")["message"] == (
        "health plugin acme: raised RuntimeError: acme cannot read gizmos"
    )
    assert harness.app("z")["sync"]["status"] == "Synced"

    repo.commit({"z/more.yaml": configmap("more", {"k": "v"})}, message="more")
    repo.push()
    await engine.refresh_app("z")
    await harness.until(lambda: row(harness, "z", "ConfigMap", "more").get("sync") == "Synced")
    assert kube_cluster.get_json("configmap", "more", "-n", namespace)["data"] == {"k": "v"}
    assert row(harness, "z", "Gizmo", "odd")["health"] == "Unknown"
