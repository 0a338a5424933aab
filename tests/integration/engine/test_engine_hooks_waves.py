"""Hooks and waves against the real cluster, in the order the API server saw things happen.

kwok runs the pods: a Job's pod succeeds at once, so the Job completes; a pod labelled
``pod-container-running-failed.stage.kwok.x-k8s.io: "true"`` fails instead (the chaos stage in
``devtools/toolchain.py``), so its Job fails. Order is read from watches (``order_log``): etcd gives
every write one cluster-wide revision, so comparing resourceVersions orders events across objects.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap, deployment
from tests.integration.engine.order_log import OrderLog, added, available, condition, deleted

from gitward.cluster.lightkube_client import LightkubeClient

pytestmark = pytest.mark.integration

FAIL_LABEL = "pod-container-running-failed.stage.kwok.x-k8s.io"


def job(name: str, phase: str, *, policy: str = "", fail: bool = False, generate: bool = False) -> str:
    annotations = {"argocd.argoproj.io/hook": phase}
    if policy:
        annotations["argocd.argoproj.io/hook-delete-policy"] = policy
    labels = {FAIL_LABEL: "true"} if fail else {}
    metadata: dict[str, Any] = {"annotations": annotations}
    metadata["generateName" if generate else "name"] = name
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": metadata,
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
                },
            },
        }
    )


def in_wave(document: str, wave: int) -> str:
    obj = yaml.safe_load(document)
    obj["metadata"].setdefault("annotations", {})["argocd.argoproj.io/sync-wave"] = str(wave)
    return yaml.safe_dump(obj)


@pytest.fixture
async def kube(kube_cluster: Any) -> AsyncIterator[LightkubeClient]:
    client = await LightkubeClient.from_kubeconfig(kube_cluster.kubeconfig)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def log(kube: LightkubeClient, namespace: str) -> AsyncIterator[OrderLog]:
    found = OrderLog(kube, namespace)
    try:
        yield found
    finally:
        await found.close()


async def test_presync_runs_first_waves_wait_for_health_and_postsync_runs_last(
    harness: Harness, git_server: FileGitServer, namespace: str, log: OrderLog, kube_cluster: Any
) -> None:
    name = f"hooks-{uuid4().hex[:6]}"
    git_server.create_repo(
        name,
        {
            "app/migrate.yaml": job("migrate", "PreSync"),
            "app/db.yaml": in_wave(deployment("db"), 0),
            "app/web.yaml": in_wave(deployment("web"), 1),
            "app/after.yaml": in_wave(configmap("after", {"k": "v"}), 2),
            "app/smoke.yaml": job("smoke", "PostSync", policy="HookSucceeded"),
        },
    )
    await log.watch(("batch/v1", "Job"), ("apps/v1", "Deployment"), ("v1", "ConfigMap"))
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name) and log.count("Job", "smoke", "DELETED"))

    migrated = log.first("Job", "migrate", condition("Complete"))
    assert migrated < log.first("Deployment", "db", added)  # PreSync completed before any Sync object
    db_ready = log.first("Deployment", "db", available)
    assert db_ready < log.first("Deployment", "web", added)  # wave 1 only after wave 0 is healthy
    web_ready = log.first("Deployment", "web", available)
    assert web_ready < log.first("ConfigMap", "after", added)
    smoke = log.first("Job", "smoke", added)
    assert smoke > max(web_ready, log.first("ConfigMap", "after", added))  # PostSync after all healthy
    assert log.count("Job", "smoke", "DELETED") == 1  # HookSucceeded
    assert log.count("Job", "migrate", "DELETED") == 0  # BeforeHookCreation keeps it until the next run

    app = harness.app(name)
    assert {r["kind"] for r in app["resources"]} == {"Deployment", "ConfigMap"}  # hooks are no app objects
    migrate = kube_cluster.get_json("job", "migrate", "-n", namespace)
    assert "gitward.dev/tracking-id" not in migrate["metadata"]["annotations"]
    assert (
        migrate["metadata"]["annotations"]["gitward.dev/hook-of"] == f"{name}:batch/Job:{namespace}/migrate"
    )


async def test_a_failing_presync_hook_fails_the_sync_leaves_sync_objects_untouched_and_runs_syncfail(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = f"fail-{uuid4().hex[:6]}"
    git_server.create_repo(
        name,
        {
            "app/migrate.yaml": job("migrate", "PreSync", fail=True),
            "app/web.yaml": deployment("web"),
            "app/page.yaml": job("page", "SyncFail"),
        },
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: "PreSync hook" in harness.app(name)["message"])

    message = harness.app(name)["message"]
    assert f"PreSync hook Job.batch/{namespace}/migrate failed" in message
    assert kube_cluster.kubectl("get", "deployment", "web", "-n", namespace, check=False) == ""
    await harness.until(lambda: kube_cluster.kubectl("get", "job", "page", "-n", namespace, check=False))
    history = engine.history(name)
    assert history[0]["phase"] == "Failed"
    assert "PreSync hook" in history[0]["message"]


async def test_syncfail_runs_when_the_api_refuses_a_deployment(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = f"refused-{uuid4().hex[:6]}"
    bad = yaml.safe_load(deployment("web"))
    bad["spec"]["selector"]["matchLabels"] = {"app": "other"}  # does not select its own template
    git_server.create_repo(
        name, {"app/web.yaml": yaml.safe_dump(bad), "app/page.yaml": job("page", "SyncFail")}
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: "selector" in harness.app(name)["message"])
    assert f"Deployment.apps/{namespace}/web" in harness.app(name)["message"]
    page = kube_cluster.get_json("job", "page", "-n", namespace)  # the SyncFail hook ran, and finished
    assert any(c["type"] == "Complete" for c in page["status"]["conditions"])


async def test_before_hook_creation_replaces_a_hook_on_the_next_sync_and_hook_succeeded_deletes_one(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any, log: OrderLog
) -> None:
    name = f"policy-{uuid4().hex[:6]}"
    repo = git_server.create_repo(
        name,
        {
            "app/migrate.yaml": job("migrate", "PreSync"),
            "app/seed.yaml": job("seed", "PreSync", policy="HookSucceeded"),
            "app/report.yaml": job("report-", "PostSync", generate=True),
            "app/cfg.yaml": configmap("cfg", {"v": "1"}),
        },
    )
    await log.watch(("batch/v1", "Job"))
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    first = kube_cluster.get_json("job", "migrate", "-n", namespace)["metadata"]["uid"]
    assert kube_cluster.kubectl("get", "job", "seed", "-n", namespace, check=False) == ""

    repo.commit({"app/cfg.yaml": configmap("cfg", {"v": "2"})}, message="v2")
    repo.push()
    await engine.refresh_app(name)
    await harness.until(lambda: harness.is_synced_healthy(name) and log.count("Job", "report-", "ADDED") == 2)

    second = kube_cluster.get_json("job", "migrate", "-n", namespace)["metadata"]["uid"]
    assert second != first  # the earlier run was deleted and a new one created
    assert log.first("Job", "migrate", deleted) < max(
        s.rv for s in log.events if s.name == "migrate" and added(s)
    )
    reports = kube_cluster.kubectl("get", "jobs", "-n", namespace, "-o", "name").split()
    assert len([r for r in reports if r.startswith("job.batch/report-")]) == 1  # found by its label
    assert kube_cluster.kubectl("get", "job", "seed", "-n", namespace, check=False) == ""
