"""The engine over time: rollback and resume, restarts, a lost state database, app-of-apps.

Each test drives the in-process engine against the real cluster and a real Git repository, and checks
what a user would see (live objects, status, history) plus the API request counters where the promise
is "no writes".
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap, deployment

from gitward.reconcile.service import AppNotFound

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def service(name: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
        }
    )


def live_data(kube_cluster: Any, name: str, namespace: str) -> Any:
    return kube_cluster.get_json("configmap", name, "-n", namespace).get("data")


def exists(kube_cluster: Any, kind: str, name: str, namespace: str) -> bool:
    out = kube_cluster.kubectl("get", kind, name, "-n", namespace, "--ignore-not-found", "-o", "name")
    return bool(out.strip())


def counts(harness: Harness) -> dict[str, int]:
    assert harness.engine is not None
    conn = harness.engine.connections.get("local")
    assert conn is not None
    return dict(conn.client.request_counts())


async def _commit(harness: Harness, repo: Any, name: str, files: dict[str, str], message: str) -> str:
    repo.commit(files, message=message)
    repo.push()
    assert harness.engine is not None
    await harness.engine.refresh_app(name)
    return str(repo.head())


async def test_rollback_pins_the_old_commit_until_a_sync_to_the_branch_resumes_automation(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("roll")
    repo = git_server.create_repo(name, {"app/cfg.yaml": configmap("cfg", {"v": "1"})})
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    first = repo.head()
    for version in ("2", "3"):
        await _commit(harness, repo, name, {"app/cfg.yaml": configmap("cfg", {"v": version})}, version)
        await harness.until(lambda: live_data(kube_cluster, "cfg", namespace) == {"v": version})  # noqa: B023
    newest = repo.head()

    entries = engine.history(name)
    assert len(entries) >= 3
    assert {e["commit"] for e in entries} >= {first, newest}
    first_entry = min((e for e in entries if e["commit"] == first), key=lambda e: int(e["id"]))

    operation = await engine.rollback(name, int(first_entry["id"]))
    assert operation["phase"] == "Succeeded"
    assert live_data(kube_cluster, "cfg", namespace) == {"v": "1"}
    summary = harness.app(name)
    assert summary["suspended"] is True
    assert f"history {first_entry['id']}" in summary["suspendReason"]
    assert summary["revision"] == first
    assert summary["sync"]["revision"] == first

    # Automation must not undo the rollback: a refresh (fetch + reconcile) keeps the pinned commit.
    await engine.refresh_app(name)
    await harness.settle()
    assert live_data(kube_cluster, "cfg", namespace) == {"v": "1"}
    assert harness.app(name)["sync"]["revision"] == first
    assert harness.app(name)["suspended"] is True

    resumed = await engine.sync_app(name)
    assert resumed["phase"] == "Succeeded"
    assert resumed["commit"] == newest
    assert live_data(kube_cluster, "cfg", namespace) == {"v": "3"}
    summary = harness.app(name)
    assert summary["suspended"] is False
    assert summary["sync"]["revision"] == newest
    assert summary["revision"] == "main"


async def test_restart_on_the_same_state_makes_no_writes_and_no_dry_runs(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("restart")
    files: dict[str, str | bytes | None] = {
        "app/cfg.yaml": configmap("cfg", {"color": "blue"}),
        "app/svc.yaml": service("web"),
        "app/deploy.yaml": deployment("web", replicas=2),
    }
    git_server.create_repo(name, files)
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()
    await harness.stop()

    engine = await harness.start()
    await harness.until(lambda: engine.reconciles >= 1)
    await harness.settle()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()
    seen = counts(harness)
    assert seen["apply"] == 0, seen
    assert seen["dryrun"] == 0, seen
    assert seen["delete"] == 0, seen
    assert seen["other"] == 0, seen
    kinds = {r["kind"] for r in harness.app(name)["resources"]}
    assert kinds >= {"ConfigMap", "Service", "Deployment"}


def _remove_state(state: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = state.with_name(state.name + suffix)
        path.unlink(missing_ok=True)


async def test_lost_state_database_rebuilds_the_inventory_from_owner_marks(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("lost")
    repo = git_server.create_repo(
        name,
        {
            "app/a.yaml": configmap("a", {"k": "a"}),
            "app/b.yaml": configmap("b", {"k": "b"}),
            "app/deploy.yaml": deployment("web"),
        },
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()
    await harness.stop()
    _remove_state(harness.state)

    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()
    assert counts(harness)["delete"] == 0
    listed = {(r["kind"], r["name"]) for r in harness.app(name)["resources"]}
    assert listed == {("ConfigMap", "a"), ("ConfigMap", "b"), ("Deployment", "web")}
    for kind, obj in (("configmap", "a"), ("configmap", "b"), ("deployment", "web")):
        assert exists(kube_cluster, kind, obj, namespace)

    # The database is lost again while an object leaves Git: only the rebuilt inventory knows it.
    await harness.stop()
    _remove_state(harness.state)
    repo.commit({"app/b.yaml": None}, message="drop b")
    repo.push()
    engine = await harness.start()
    await harness.until(lambda: not exists(kube_cluster, "configmap", "b", namespace))
    await harness.settle()
    assert counts(harness)["delete"] == 1
    assert exists(kube_cluster, "configmap", "a", namespace)
    assert exists(kube_cluster, "deployment", "web", namespace)
    assert harness.is_synced_healthy(name)
    assert engine.get_app(name)["sync"]["revision"] == repo.head()


async def test_app_of_apps_syncs_children_and_drops_a_child_that_leaves_the_render(
    harness: Harness, git_server: FileGitServer, kube_cluster: Any
) -> None:
    parent = unique("parent")
    children = [unique("child"), unique("child")]
    namespaces = {c: f"gw-{c}" for c in children}
    apps_url = git_server.url(parent)

    def child_doc(child: str) -> str:
        doc = application(child, repo=apps_url, path=f"workloads/{child}", namespace=namespaces[child])
        return yaml.safe_dump(doc)

    files: dict[str, str | bytes | None] = {f"apps/{c}.yaml": child_doc(c) for c in children}
    files.update({f"workloads/{c}/cfg.yaml": configmap("cfg", {"app": c}) for c in children})
    repo = git_server.create_repo(parent, files)
    harness.configure(application(parent, repo=apps_url, path="apps", namespace="default"))
    engine = await harness.start()
    await harness.until(lambda: all(c in {a["name"] for a in engine.list_apps()} for c in children))
    for child in children:
        await harness.until(lambda: harness.is_synced_healthy(child))  # noqa: B023
        assert live_data(kube_cluster, "cfg", namespaces[child]) == {"app": child}
        assert harness.app(child)["parent"] == parent
    await harness.until(lambda: harness.is_synced_healthy(parent))

    gone, kept = children
    repo.commit({f"apps/{gone}.yaml": None}, message="drop child")
    repo.push()
    await engine.refresh_app(parent)
    await harness.settle()
    assert gone not in {a["name"] for a in engine.list_apps()}
    with pytest.raises(AppNotFound):
        engine.get_app(gone)
    assert harness.is_synced_healthy(kept)
    assert any(e["reason"] == "ChildRemoved" and gone in e["message"] for e in engine.events(parent))


async def test_lost_state_database_still_prunes_a_kind_that_left_git_entirely(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("lostkind")
    repo = git_server.create_repo(
        name, {"app/cfg.yaml": configmap("cfg", {"k": "v"}), "app/svc.yaml": service("web")}
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()
    await harness.stop()
    _remove_state(harness.state)

    # The only Service leaves Git while the database is gone: no kind in the render names it.
    repo.commit({"app/svc.yaml": None}, message="drop the service")
    await harness.start()
    await harness.until(lambda: not exists(kube_cluster, "service", "web", namespace))
    await harness.settle()
    assert counts(harness)["delete"] == 1
    assert exists(kube_cluster, "configmap", "cfg", namespace)
    assert {(r["kind"], r["name"]) for r in harness.app(name)["resources"]} == {("ConfigMap", "cfg")}
