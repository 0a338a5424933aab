"""``gitward app terminate`` against the real cluster: a sync that waits for a wave stops at its next
step, is recorded Terminated, and the next wave is never applied."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

pytestmark = pytest.mark.integration


def live(kube_cluster: Any, name: str, namespace: str) -> Any:
    found = kube_cluster.kubectl("get", "configmap", name, "-n", namespace, "-o", "json", check=False)
    return json.loads(found).get("data") if found else None


def _load_balancer(name: str) -> str:
    """A Service no controller of the local cluster ever gives an address: Progressing for good."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "annotations": {"argocd.argoproj.io/sync-wave": "0"}},
            "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"port": 80}]},
        }
    )


async def test_terminate_stops_a_sync_that_waits_for_a_wave(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = f"stuck-{uuid.uuid4().hex[:6]}"
    late = yaml.safe_load(configmap("late", {"k": "v"}))
    late["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": "1"}
    git_server.create_repo(name, {"app/lb.yaml": _load_balancer("lb"), "app/late.yaml": yaml.safe_dump(late)})
    harness.configure(
        application(name, repo=git_server.url(name), path="app", namespace=namespace, automated=False)
    )
    engine = await harness.start()
    sync = asyncio.create_task(engine.sync_app(name, initiator="alice"))
    await harness.until(lambda: harness.app(name)["running"])
    answer = engine.terminate_app(name, initiator="alice")
    assert answer["terminating"] is True
    assert harness.app(name)["terminating"] is True
    reconciling = next(c for c in harness.app(name)["conditions"] if c["type"] == "Reconciling")
    assert reconciling["message"] == "terminating (asked by alice)"

    operation = await asyncio.wait_for(sync, timeout=120)
    assert operation["phase"] == "Terminated"
    assert live(kube_cluster, "late", namespace) is None  # wave 1 never started
    assert engine.runtimes[name].terminate_requested is False
    assert harness.app(name)["terminating"] is False
    assert engine.history(name)[0]["phase"] == "Terminated"
