"""ApplicationSets in the engine, against a real cluster and a real Git server (``git daemon``).

A set over a Git directory of 50 folders makes 50 apps that sync like any other; a new folder adds
one at the next push. A folder removed from Git deletes its app only with ``create-delete`` (its
objects follow its deletionPolicy), never with ``create-update`` or ``create-only``, which keep the
app running (also across a restart). While the Git server is down a generation fails and deletes
nothing, whatever the policy; once it is back the deletion goes through. An Argo CD ApplicationSet
is read as written.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.gitservers import GitDaemonServer
from tests.integration.engine.harness import Harness, configmap

from gitward.cluster.lightkube_client import LightkubeClient
from gitward.reconcile.engine import Engine
from gitward.reconcile.registry import generated_by

pytestmark = pytest.mark.integration


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[GitDaemonServer]:
    with GitDaemonServer(tmp_path / "daemon") as server:
        yield server


@pytest.fixture
async def kube(kube_cluster: Any) -> AsyncIterator[LightkubeClient]:
    client = await LightkubeClient.from_kubeconfig(kube_cluster.kubeconfig)
    try:
        yield client
    finally:
        await client.close()


def folders(names: list[str]) -> dict[str, str | bytes | None]:
    return {f"apps/{name}/cm.yaml": configmap(name, {"app": name}) for name in names}


def appset(name: str, *, repo: str, namespace: str, policy: str, **template_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name},
        "spec": {
            "generators": [
                {"git": {"repoURL": repo, "revision": "main", "directories": [{"path": "apps/*"}]}}
            ],
            "template": {
                "metadata": {"name": "{{path.basename}}", "labels": {"set": name}},
                "spec": {
                    "source": {"repoURL": repo, "revision": "main", "path": "{{path}}"},
                    "destination": {"cluster": "local", "namespace": namespace},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "interval": "1h",
                        "options": ["CreateNamespace=true"],
                        "retry": {
                            "limit": -1,
                            "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"},
                        },
                    },
                    **template_spec,
                },
            },
            "syncPolicy": {"applicationsSync": policy},
        },
    }


def synced(harness: Harness, *names: str) -> bool:
    """Every one of ``names`` is an app, Synced and Healthy."""
    assert harness.engine is not None
    return all(n in harness.engine.runtimes and harness.is_synced_healthy(n) for n in names)


def made_by(engine: Engine, name: str) -> list[str]:
    return sorted(n for n, rt in engine.runtimes.items() if rt.parent == generated_by(name))


async def generated(harness: Harness, engine: Engine, push: str | None = None) -> dict[str, Any]:
    """Run one more generation (after a push to ``push``, as a webhook would) and its outcome."""
    before = engine.appsets.generations
    if push is not None:
        await engine.trigger_repository(push)
    await harness.until(lambda: engine.appsets.generations > before)
    return engine.appsets.list_appsets()[0]


async def test_a_set_over_fifty_folders_makes_fifty_apps_and_a_new_folder_one_more(
    harness: Harness, daemon: GitDaemonServer, namespace: str, kube: LightkubeClient
) -> None:
    names = [f"app-{i:02d}" for i in range(50)]
    repo = daemon.create_repo("fifty", folders(names))
    url = daemon.url("fifty")
    harness.configure(appset("fifty", repo=url, namespace=namespace, policy="create-update"))
    engine = await harness.start()

    await harness.until(lambda: len(made_by(engine, "fifty")) == 50, within=120)
    assert made_by(engine, "fifty") == names
    await harness.until(lambda: synced(harness, *names), within=240)
    assert await kube.get("v1", "ConfigMap", namespace, "app-37") is not None
    summary = harness.app("app-37")
    assert summary["parent"] == "ApplicationSet/fifty"
    assert summary["path"] == "apps/app-37"

    repo.commit(folders(["app-50"]), message="one more")
    state = await generated(harness, engine, push=url)
    assert state["apps"] == 51
    assert state["error"] == ""
    await harness.until(lambda: synced(harness, "app-50"))
    assert await kube.get("v1", "ConfigMap", namespace, "app-50") is not None


@pytest.mark.parametrize(
    ("policy", "deletes"), [("create-delete", True), ("create-update", False), ("create-only", False)]
)
async def test_a_removed_folder_deletes_its_app_only_with_create_delete(
    harness: Harness,
    daemon: GitDaemonServer,
    namespace: str,
    kube: LightkubeClient,
    policy: str,
    deletes: bool,
) -> None:
    repo = daemon.create_repo("three", folders(["one", "two", "three"]))
    url = daemon.url("three")
    harness.configure(
        appset("trio", repo=url, namespace=namespace, policy=policy, deletionPolicy="foreground")
    )
    engine = await harness.start()
    await harness.until(lambda: synced(harness, "one", "two", "three"))

    repo.commit({"apps/three": None}, message="three leaves")
    state = await generated(harness, engine, push=url)
    assert state["error"] == ""
    if deletes:
        await harness.until(lambda: engine.store.removed_apps().get("three"))
        assert made_by(engine, "trio") == ["one", "two"]
        await _until_gone(kube, namespace, "three")
        return
    assert made_by(engine, "trio") == ["one", "three", "two"]
    assert engine.appsets.get_appset("trio")["kept"] == ["three"]
    assert await kube.get("v1", "ConfigMap", namespace, "three") is not None

    # kept across a restart too: the app runs from what the set made, and is not removed
    await harness.stop()
    engine = await harness.start()
    assert "three" in made_by(engine, "trio")
    await generated(harness, engine)
    assert made_by(engine, "trio") == ["one", "three", "two"]
    assert "three" not in engine.store.removed_apps()
    await harness.until(lambda: synced(harness, "three"))


async def _until_gone(kube: LightkubeClient, namespace: str, name: str, *, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while await kube.get("v1", "ConfigMap", namespace, name) is not None:
        assert time.monotonic() < deadline, f"ConfigMap {namespace}/{name} is still there"
        await asyncio.sleep(0.2)


async def test_a_failing_fetch_deletes_nothing_and_the_deletion_follows_once_git_is_back(
    harness: Harness, daemon: GitDaemonServer, namespace: str
) -> None:
    repo = daemon.create_repo("flaky", folders(["a", "b"]))
    url = daemon.url("flaky")
    harness.configure(appset("flaky", repo=url, namespace=namespace, policy="create-delete"))
    engine = await harness.start()
    await harness.until(lambda: made_by(engine, "flaky") == ["a", "b"])

    daemon.stop()
    repo.commit({"apps/a": None, "apps/b": None}, message="both leave while the server is down")
    state = await generated(harness, engine, push=url)
    assert "flaky" in state["error"]  # names the repository that could not be fetched
    assert made_by(engine, "flaky") == ["a", "b"]
    assert engine.store.removed_apps() == {}

    daemon.start()
    state = await generated(harness, engine, push=url)
    assert state["error"] == ""
    await harness.until(lambda: made_by(engine, "flaky") == [])
    await harness.until(lambda: {"a", "b"} <= set(engine.store.removed_apps()))


async def test_an_argo_cd_application_set_is_read_as_written(
    harness: Harness, daemon: GitDaemonServer, namespace: str, kube: LightkubeClient
) -> None:
    daemon.create_repo("argo", folders(["web", "api"]))
    url = daemon.url("argo")
    argo = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "argo-set", "namespace": "argocd"},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [
                {
                    "matrix": {
                        "generators": [
                            {"list": {"elements": [{"cluster": "local"}]}},
                            {
                                "git": {
                                    "repoURL": url,
                                    "revision": "main",
                                    "directories": [{"path": "apps/*"}],
                                }
                            },
                        ]
                    }
                }
            ],
            "template": {
                "metadata": {"name": "argo-{{.path.basename}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": url, "targetRevision": "main", "path": "{{.path.path}}"},
                    "destination": {"name": "{{.cluster}}", "namespace": namespace},
                    "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }
    harness.configure(argo)
    engine = await harness.start()
    await harness.until(lambda: made_by(engine, "argo-set") == ["argo-api", "argo-web"])
    await harness.until(lambda: synced(harness, "argo-web"))
    assert await kube.get("v1", "ConfigMap", namespace, "web") is not None
    app = engine.runtimes["argo-web"].app
    assert app.spec.deletion_policy == "foreground"  # Argo CD's resources finalizer, as Argo CD adds it
    assert app.spec.source.directory is not None
    assert app.spec.source.directory.recurse is False


async def test_a_clusters_generator_follows_the_clusters_of_the_config(
    harness: Harness, daemon: GitDaemonServer, namespace: str
) -> None:
    daemon.create_repo("edge", folders(["web"]))
    url = daemon.url("edge")

    def config(labels: dict[str, str]) -> None:
        edge = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "edge", "labels": labels},
            "spec": {"kubeconfig": str(harness.kubeconfig)},
        }
        clusters_set = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "fleet"},
            "spec": {
                "generators": [{"clusters": {"selector": {"matchLabels": {"tier": "edge"}}}}],
                "template": {
                    "metadata": {"name": "web-{{name}}"},
                    "spec": {
                        "source": {"repoURL": url, "revision": "main", "path": "apps/web"},
                        "destination": {"cluster": "{{name}}", "namespace": namespace},
                    },
                },
            },
        }
        harness.configure(edge, clusters_set)

    config({})
    engine = await harness.start()
    await harness.until(lambda: engine.appsets.generations >= 1)
    assert made_by(engine, "fleet") == []  # no Cluster has the label; in-cluster is never selected

    config({"tier": "edge"})
    before = engine.appsets.generations
    assert engine.reload() is not None
    await harness.until(lambda: engine.appsets.generations > before)
    assert made_by(engine, "fleet") == ["web-edge"]
    assert engine.runtimes["web-edge"].app.spec.destination.cluster == "edge"

    config({"tier": "core"})  # the label goes: create-update keeps the app
    before = engine.appsets.generations
    assert engine.reload() is not None
    await harness.until(lambda: engine.appsets.generations > before)
    assert made_by(engine, "fleet") == ["web-edge"]
    assert engine.appsets.get_appset("fleet")["kept"] == ["web-edge"]
