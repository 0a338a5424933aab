"""``gitward run`` under a flood of signed push webhooks, over real HTTP on loopback.

A thousand distinct GitHub-style deliveries (each its own delivery id and body) announce the newest
commit of a repository served over smart HTTP. What must hold, read from ``/metrics`` and the API as
an operator would: at most a handful of Git fetches, the app converged to that commit, and only a
handful of reconciles queued by webhooks (an app of the same repository whose revision does not exist
is not queued by any of them). A delivery sent again afterwards is answered as a duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from devtools import toolchain
from devtools.gitservers import HttpGitServer, WorkRepo
from prometheus_client.parser import text_string_to_metric_families
from tests.e2e.process import GitwardProcess, configmap, free_port, unique

pytestmark = pytest.mark.e2e

SECRET = "flood-secret-0123456789abcdef"
DELIVERIES = 1000
IN_FLIGHT = 50  # concurrent requests; the host sends them as fast as the server takes them


@dataclass(frozen=True)
class FloodWorld:
    gitward: GitwardProcess
    repo: WorkRepo
    url: str
    app: str
    missing: str
    namespace: str
    receiver: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.gitward.port}"


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
    env["XDG_STATE_HOME"] = str(root / "xdg")
    env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
    env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
    return env


def _application(name: str, *, url: str, revision: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "source": {"repoURL": url, "revision": revision, "path": "app"},
            "destination": {"cluster": "local", "namespace": namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "interval": "1h",
                "options": ["CreateNamespace=true"],
                "retry": {"limit": -1, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "30s"}},
            },
        },
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[FloodWorld]:
    root = tmp_path_factory.mktemp("flood")
    app, missing, receiver = unique("flood"), unique("flood-missing"), unique("github")
    namespace = f"gw-{app}"
    with HttpGitServer(root / "git") as git:
        repo = git.create_repo("apps", {"app/cfg.yaml": configmap("cfg", {"n": "0"})})
        url = git.url("apps")
        config = root / "config"
        config.mkdir()
        (config / "github.secret").write_text(SECRET + "\n")
        documents = [
            {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Cluster",
                "metadata": {"name": "local"},
                "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
            },
            _application(app, url=url, revision="main", namespace=namespace),
            _application(missing, url=url, revision="no-such-branch", namespace=namespace),
            {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Receiver",
                "metadata": {"name": receiver},
                "spec": {"type": "github", "secretFile": "github.secret"},
            },
        ]
        (config / "gitward.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
        process = GitwardProcess(root=root, env=_environment(root), port=free_port())
        process.start(config)
        try:
            yield FloodWorld(process, repo, url, app, missing, namespace, receiver)
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found")


def _push_delivery(world: FloodWorld, number: int, commit: str) -> tuple[bytes, dict[str, str]]:
    """A GitHub push delivery for ``commit``; each one distinct (id and body), as separate pushes'
    deliveries are, so none of them is a replay of another."""
    payload = {
        "ref": "refs/heads/main",
        "after": commit,
        "repository": {"clone_url": world.url},
        "hook_id": number,
    }
    body = json.dumps(payload).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": f"flood-{number}",
        "X-Hub-Signature-256": f"sha256={signature}",
    }
    return body, headers


async def _flood(world: FloodWorld, commit: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    gate = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=world.base, limits=limits, timeout=120) as client:

        async def deliver(number: int) -> httpx.Response:
            body, headers = _push_delivery(world, number, commit)
            async with gate:
                return await client.post(f"/api/v1/webhooks/{world.receiver}", content=body, headers=headers)

        return await asyncio.gather(*(deliver(n) for n in range(DELIVERIES)))


def _metrics(world: FloodWorld) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    headers = {"Authorization": f"Bearer {world.gitward.token()}"}
    response = httpx.get(f"{world.base}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


def _app(world: FloodWorld, name: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {world.gitward.token()}"}
    response = httpx.get(f"{world.base}/api/v1/apps/{name}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    summary: dict[str, Any] = response.json()
    return summary


def test_a_flood_of_signed_webhooks_costs_a_handful_of_fetches_and_converges(
    world: FloodWorld, kube_cluster: Any
) -> None:
    gw = world.gitward
    gw.until(lambda: _app(world, world.app)["sync"]["status"] == "Synced")
    gw.until(lambda: "no-such-branch" in _app(world, world.missing)["message"])
    newest = world.repo.commit({"app/cfg.yaml": configmap("cfg", {"n": "1"})}, message="before the flood")
    before = _metrics(world)

    responses = asyncio.run(_flood(world, newest))

    assert {r.status_code for r in responses} <= {200, 202}
    assert not [r for r in responses if r.json().get("duplicate")]
    gw.until(lambda: _app(world, world.app)["sync"]["revision"] == newest)
    assert kube_cluster.get_json("configmap", "cfg", "-n", world.namespace)["data"] == {"n": "1"}
    after = _metrics(world)
    fetches = _total(after, "gitward_git_fetches_total") - _total(before, "gitward_git_fetches_total")
    assert 1 <= fetches <= 3, f"{fetches:g} fetches for {DELIVERIES} webhooks"
    queued = _total(after, "gitward_queue_wait_seconds_count", priority="webhook") - _total(
        before, "gitward_queue_wait_seconds_count", priority="webhook"
    )
    assert queued <= 3, f"{queued:g} reconciles queued by {DELIVERIES} webhooks"
    assert "no-such-branch" in _app(world, world.missing)["message"]


def test_a_delivery_sent_again_is_answered_as_a_duplicate(world: FloodWorld) -> None:
    body, headers = _push_delivery(world, DELIVERIES + 1, world.repo.head())
    url = f"{world.base}/api/v1/webhooks/{world.receiver}"
    first = httpx.post(url, content=body, headers=headers, timeout=30)
    assert first.status_code == 200
    assert "duplicate" not in first.json()
    before = _metrics(world)
    again = httpx.post(url, content=body, headers=headers, timeout=30)
    assert again.status_code == 200
    assert again.json() == {"repositories": [world.url], "triggered": [], "duplicate": True}
    assert _total(_metrics(world), "gitward_git_fetches_total") == _total(before, "gitward_git_fetches_total")
