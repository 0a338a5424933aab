"""Each kind of failure shows its own reason, step and message on the app; history keeps operations.

kwok runs the pods: a pod labelled ``pod-container-running-failed.stage.kwok.x-k8s.io: "true"`` fails
(the chaos stage in ``devtools/toolchain.py``), so a Job whose pod carries it fails. kwok pulls no
image, so a bad image is played by pods no node accepts: the Deployment never becomes available and
the deployment controller marks the rollout ``ProgressDeadlineExceeded`` after
``progressDeadlineSeconds``, as it does for pods stuck in ImagePullBackOff.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, deployment

pytestmark = pytest.mark.integration

FAIL_LABEL = "pod-container-running-failed.stage.kwok.x-k8s.io"


def job(name: str, *, hook: str = "", fail: bool = False, image: str = "busybox:1.36") -> str:
    metadata: dict[str, Any] = {"name": name}
    if hook:
        metadata["annotations"] = {"argocd.argoproj.io/hook": hook}
    labels = {FAIL_LABEL: "true"} if fail else {}
    return yaml.safe_dump(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": metadata,
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": image}]},
                },
            },
        }
    )


def rolling(name: str, *, image: str, unschedulable: bool = False, **spec: Any) -> str:
    labels = {"app": name}
    pod: dict[str, Any] = {"containers": [{"name": name, "image": image}]}
    if unschedulable:  # no node matches: no pod ever runs, as with an image that cannot be pulled
        pod["nodeSelector"] = {"gitward.dev/no-such-node": "true"}
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": spec.pop("replicas", 1),
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": pod,
                },
                **spec,
            },
        }
    )


def row(app: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    return next(r for r in app["resources"] if r["kind"] == kind and r["name"] == name)


async def test_a_failing_presync_hook_names_the_hook_and_leaves_never_applied_objects_out_of_sync(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    name = f"hookfail-{uuid4().hex[:6]}"
    git_server.create_repo(
        name,
        {"app/migrate.yaml": job("migrate", hook="PreSync", fail=True), "app/web.yaml": deployment("web")},
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: harness.app(name).get("reason") == "HookFailed")

    app = harness.app(name)
    assert app["step"] == "hook"
    assert app["stepDetail"] == f"hook PreSync Job.batch/{namespace}/migrate"
    assert app["statusMessage"].startswith(f"PreSync hook Job.batch/{namespace}/migrate failed: ")
    assert "does not exist" not in app["statusMessage"]
    web = row(app, "Deployment", "web")  # never applied: the hook failed first
    assert (web["sync"], web["health"]) == ("OutOfSync", "Missing")
    assert app["sync"]["status"] == "OutOfSync"
    ready = next(c for c in app["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "HookFailed")


async def test_an_immutable_job_field_changed_in_git_names_the_wave_and_the_server_message(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    name = f"immutable-{uuid4().hex[:6]}"
    repo = git_server.create_repo(name, {"app/task.yaml": job("task", image="busybox:1.36")})
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.app(name)["sync"]["status"] == "Synced")

    repo.commit({"app/task.yaml": job("task", image="busybox:1.37")}, message="new image")
    await engine.refresh_app(name)
    await harness.until(lambda: harness.app(name).get("reason") == "ApplyFailed")
    app = harness.app(name)
    assert (app["step"], app["stepDetail"]) == ("wave", "wave 0")
    assert f"Job.batch/{namespace}/task" in app["statusMessage"]
    assert "field is immutable" in app["statusMessage"]
    assert row(app, "Job", "task")["sync"] == "OutOfSync"


async def test_a_deployment_that_never_becomes_available_says_progress_deadline_exceeded(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    name = f"badimage-{uuid4().hex[:6]}"
    stuck = rolling(
        "api", image="registry.invalid/api:missing", unschedulable=True, progressDeadlineSeconds=2
    )
    git_server.create_repo(name, {"app/api.yaml": stuck})
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    await harness.start()
    await harness.until(lambda: harness.app(name).get("reason") == "ProgressDeadlineExceeded")

    app = harness.app(name)
    assert (app["step"], app["stepDetail"]) == ("health", f"Deployment {namespace}/api")
    assert app["statusMessage"].startswith(f"Deployment {namespace}/api is Degraded: ")
    assert app["sync"]["status"] == "Synced"
    assert app["health"]["status"] == "Degraded"


async def test_a_rollout_of_several_status_updates_leaves_one_history_entry(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    """Status updates of a rolling Deployment wake the app many times; the passes that only find
    health changing record status, not history. ``deployedAt`` is set on the deployment."""
    name = f"rollout-{uuid4().hex[:6]}"
    slow = rolling(
        "web",
        image="nginx:1.27",
        replicas=4,
        minReadySeconds=4,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
    )
    git_server.create_repo(name, {"app/web.yaml": slow})
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.app(name)["health"]["status"] == "Progressing")
    await harness.until(lambda: harness.is_synced_healthy(name), within=120.0)
    await harness.settle()

    history = engine.history(name)
    assert len(history) == 1, [(h["trigger"], h["message"]) for h in history]
    assert history[0]["phase"] == "Succeeded"
    assert history[0]["deployed"] is True
    assert history[0]["deployedAt"] is not None
    assert harness.app(name)["reason"] == "Reconciled"
