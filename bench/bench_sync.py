"""One app of N objects: gitward's cold sync against ``kubectl apply --server-side`` of the same
objects in the same run, then the cost of a no-op reconcile (time and API requests).

The objects are a mix a real app has (ConfigMaps, ServiceAccounts, Services, Deployments, a quarter
each), rendered from plain YAML in a local Git repository. gitward and kubectl write into separate
namespaces of one fresh local cluster, so neither sees the other's objects.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from devtools import localcluster, toolchain
from devtools.gitservers import create_repo

from gitward.reconcile.engine import Engine
from gitward.reconcile.runtime import SyncRequest
from gitward.reconcile.settings import EngineSettings


def objects(count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(count):
        name, kind = f"obj-{i:04d}", ("ConfigMap", "ServiceAccount", "Service", "Deployment")[i % 4]
        meta = {"name": name, "labels": {"bench": "sync"}}
        if kind == "ConfigMap":
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "data": {"key": f"value-{i}"}})
        elif kind == "ServiceAccount":
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta})
        elif kind == "Service":
            spec = {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}
            out.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec})
        else:
            template = {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            }
            spec = {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": template}
            out.append({"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec})
    return out


def kubectl_baseline(kubeconfig: Path, manifests: list[dict[str, Any]], work: Path) -> float:
    namespace = "bench-kubectl"
    kubectl = str(toolchain.tool_path("kubectl"))
    subprocess.run(
        [kubectl, "--kubeconfig", str(kubeconfig), "create", "namespace", namespace],
        check=True,
        capture_output=True,
    )
    file = work / "kubectl.yaml"
    file.write_text(yaml.safe_dump_all(manifests))
    start = time.perf_counter()
    subprocess.run(
        [
            kubectl,
            "--kubeconfig",
            str(kubeconfig),
            "apply",
            "--server-side",
            "-n",
            namespace,
            "-f",
            str(file),
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def config(kubeconfig: Path, repo: str) -> str:
    docs = [
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "bench"},
            "spec": {"kubeconfig": str(kubeconfig)},
        },
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "bench-app"},
            "spec": {
                "source": {"repoURL": repo, "revision": "main", "path": "app"},
                "destination": {"cluster": "bench", "namespace": "bench-gitward"},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "interval": "1h",
                    "options": ["CreateNamespace=true"],
                },
            },
        },
    ]
    return yaml.safe_dump_all(docs)


async def gitward_cold_sync(
    kubeconfig: Path, manifests: list[dict[str, Any]], work: Path
) -> tuple[Engine, float]:
    repo_dir = work / "git"
    files = {"app/objects.yaml": yaml.safe_dump_all(manifests)}
    create_repo(repo_dir / "apps.git", repo_dir / "work", files)
    (work / "config").mkdir()
    (work / "config" / "gitward.yaml").write_text(config(kubeconfig, f"file://{repo_dir / 'apps.git'}"))
    os.environ["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
    os.environ["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
    settings = EngineSettings(config_path=work / "config", state_path=work / "state" / "state.db")
    start = time.perf_counter()
    engine = await Engine.start(settings)
    while True:
        app = engine.get_app("bench-app")
        operation = app.get("operation") or {}
        if app["sync"]["status"] == "Synced" and operation.get("phase") == "Succeeded":
            return engine, time.perf_counter() - start
        if time.perf_counter() - start > 600:
            raise RuntimeError(f"bench app did not sync: {app.get('message')}")
        await _sleep(0.02)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def noop_reconciles(engine: Engine, runs: int) -> tuple[list[float], dict[str, int]]:
    await engine.queue.wait_idle()
    conn = engine.connections.get("bench")
    assert conn is not None
    before = dict(conn.client.request_counts())
    rt = engine.runtimes["bench-app"]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await engine.reconcile(rt, SyncRequest(trigger="bench"))
        samples.append(time.perf_counter() - start)
    after = conn.client.request_counts()
    return samples, {verb: after.get(verb, 0) - before.get(verb, 0) for verb in after}


async def run(*, objects: int = 500, noop_runs: int = 20) -> str:
    manifests = globals()["objects"](objects)
    name = f"bench-{os.getpid()}"
    cluster = localcluster.up(name)
    try:
        with tempfile.TemporaryDirectory(prefix="gitward-bench-") as tmp:
            work = Path(tmp)
            kubectl_seconds = kubectl_baseline(cluster.kubeconfig, manifests, work)
            engine, cold = await gitward_cold_sync(cluster.kubeconfig, manifests, work)
            try:
                samples, requests = await noop_reconciles(engine, noop_runs)
                status = engine.get_app("bench-app")
            finally:
                await engine.stop()
    finally:
        localcluster.down(name)
    return report(objects, kubectl_seconds, cold, samples, requests, status)


def report(
    count: int,
    kubectl_s: float,
    cold_s: float,
    samples: list[float],
    requests: dict[str, int],
    status: dict[str, Any],
) -> str:
    writes = requests.get("apply", 0) + requests.get("delete", 0) + requests.get("other", 0)
    ms = [s * 1000 for s in samples]
    ratio = cold_s / kubectl_s
    median, worst = statistics.median(ms), max(ms)
    resources = len(status["resources"])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join(
        [
            f"### One app of {count} objects (`./dev bench sync --objects {count}`)",
            "",
            f"Machine: {machine}; local cluster {toolchain.KUBERNETES_VERSION} (kwok nodes).",
            "",
            "| measure | value |",
            "|---|---|",
            f"| `kubectl apply --server-side` of the same objects (baseline) | {kubectl_s:.2f} s |",
            f"| gitward cold sync (engine start -> app Synced) | {cold_s:.2f} s ({ratio:.2f}x kubectl) |",
            f"| no-op reconcile, median of {len(ms)} | {median:.1f} ms (max {worst:.1f} ms) |",
            f"| no-op reconcile API requests (all runs) | {sum(requests.values())} total, {writes} writes, "
            f"{requests.get('dryrun', 0)} dry-runs |",
            f"| app status after the runs | {status['sync']['status']}, {resources} resources |",
            "",
        ]
    )
