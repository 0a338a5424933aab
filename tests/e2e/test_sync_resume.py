"""``gitward run`` killed with SIGKILL between two waves resumes the same operation after a restart,
without running its completed PreSync hook again (docs/reliability.md, F3).

Wave 0 is a LoadBalancer Service: no controller of the local cluster gives it an address, so the
sync waits there ("Sync wave 0: waiting for Service...") until the test writes the address into its
status. The process is killed during that wait, the address written, the process started again: the
operation goes on at wave 0 and applies wave 1, under the same operation id, and the PreSync Job is
the one the killed process created.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools.gitservers import FileGitServer
from tests.e2e.process import configmap, unique
from tests.e2e.test_sync_crash import Server

pytestmark = pytest.mark.e2e


def _in_wave(document: dict[str, Any], wave: int) -> str:
    document["metadata"].setdefault("annotations", {})["argocd.argoproj.io/sync-wave"] = str(wave)
    return yaml.safe_dump(document)


def _files(app: str) -> dict[str, str]:
    migrate = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}
            },
        },
    }
    gate = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "gate"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "gate"}, "ports": [{"port": 80}]},
    }
    return {
        f"{app}/migrate.yaml": yaml.safe_dump(migrate),
        f"{app}/gate.yaml": _in_wave(gate, 0),
        f"{app}/after.yaml": _in_wave(yaml.safe_load(configmap("after", {"k": "v"})), 1),
    }


@pytest.fixture
def server(tmp_path: Path, kube_cluster: Any) -> Iterator[Server]:
    (tmp_path / "config").mkdir()
    found = Server(root=tmp_path, config=tmp_path / "config" / "gitward.yaml", cluster=kube_cluster)
    try:
        yield found
    finally:
        found.kill()


def _summary(server: Server, app: str) -> dict[str, Any]:
    result = server.cli().cli("app", "get", app, "-o", "json")
    return dict(result.json()) if result.code == 0 else {}


async def _until(server: Server, check: Any, what: str) -> Any:
    for _ in range(600):
        if server.process is not None and server.process.poll() is not None:
            raise AssertionError(f"gitward run exited: {server.log_tail()}")
        found = check()
        if found:
            return found
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what} did not happen: {server.log_tail()}")


async def test_a_sync_killed_between_waves_resumes_without_running_its_presync_hook_again(
    server: Server, tmp_path: Path, kube_cluster: Any
) -> None:
    app = unique("resume")
    namespace = f"gw-{app}"
    with FileGitServer(tmp_path / "git") as git:
        git.create_repo(app, _files(app))
        server.configure(app, repo=git.url(app), namespace=namespace)
        server.launch()

        def waiting() -> dict[str, Any] | None:
            running = _summary(server, app).get("running") or {}
            return running if "Sync wave 0: waiting for Service" in str(running.get("message")) else None

        running = await _until(server, waiting, "the wait for wave 0")
        job = kube_cluster.get_json("job", "migrate", "-n", namespace)
        server.kill()

        assert any(c["type"] == "Complete" for c in job["status"]["conditions"])  # PreSync done
        assert kube_cluster.kubectl("get", "configmap", "after", "-n", namespace, check=False) == ""
        address = json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}})
        kube_cluster.kubectl(
            "patch", "service", "gate", "-n", namespace, "--subresource=status", "--type=merge", "-p", address
        )
        server.launch()

        def synced() -> bool:
            summary = _summary(server, app)
            return (
                bool(summary)
                and summary["sync"]["status"] == "Synced"
                and summary["health"]["status"] == "Healthy"
            )

        await _until(server, synced, "Synced and Healthy after the restart")
        history = server.cli().cli("app", "history", app, "-o", "json").json()
        events = server.cli().cli("app", "events", app, "-o", "json").json()

    assert (
        kube_cluster.get_json("job", "migrate", "-n", namespace)["metadata"]["uid"] == job["metadata"]["uid"]
    )
    assert kube_cluster.get_json("configmap", "after", "-n", namespace)["data"] == {"k": "v"}
    assert history[0]["id"] == running["id"]  # the same operation, resumed, not a new one
    assert history[0]["phase"] == "Succeeded"
    assert any(
        e["reason"] == "SyncResumed" and f"operation {running['id']} resumed" in e["message"] for e in events
    )
    kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false")
