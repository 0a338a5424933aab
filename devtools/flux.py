"""Flux (source-controller + kustomize-controller) as a benchmark peer on a local cluster.

Why: gitward's benchmarks compare it with Flux doing the same job on the same machine. Both controllers
are built from the Go module proxy by ``toolchain.build_flux`` and run here as plain processes bound to
127.0.0.1, the way ``localcluster`` runs Kubernetes: source-controller serves its artifacts on a free
loopback port (``--storage-adv-addr`` points at it, so kustomize-controller downloads from there), leader
election is off, metrics and health listen on free loopback ports, and ``KUBECONFIG`` is the cluster's.
Flux's CRDs are read at run time from the pinned controller modules in the Go module cache
(``config/crd/bases``), never copied into this repository.

``run_flux`` is the one call a benchmark needs: CRDs, controllers, one GitRepository, one Kustomization
per app path (prune on, interval 10m, a target namespace each), wait until every Kustomization is Ready,
then the wall time and the two controller processes' CPU seconds and peak RSS (from ``/proc``).
Deliberately not here: building (``toolchain``), the cluster (``localcluster``), the Git server
(``gitservers.HttpGitServer``; Flux's GitRepository speaks HTTP(S) and SSH, not ``git://``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lightkube import AsyncClient, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Namespace
from lightkube.types import on_error_retry

from devtools import toolchain
from devtools.gitservers import free_port
from devtools.lifecycle import StartStop
from devtools.peerproc import (
    Child,
    ProcessUsage,
    counter_by_label,
    http_ok,
    http_text,
    minus,
    requests_by_verb,
    stop_all,
)

FLUX_NAMESPACE = "flux-system"
SOURCE_NAME = "bench"
STARTUP_TIMEOUT = 60.0
# The controller (in controller-runtime's sense) of each binary that must be running before timing starts.
MAIN_CONTROLLER = {"source-controller": "gitrepository", "kustomize-controller": "kustomization"}
CRD_FOLDER = "config/crd/bases"

GitRepository = create_namespaced_resource(
    "source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories"
)
Kustomization = create_namespaced_resource(
    "kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations"
)


class FluxError(RuntimeError):
    """A Flux step failed; the message names the step and, where there is one, the log to read."""


def available() -> str | None:
    """None when both controllers are built, else why Flux cannot run (for a benchmark to print)."""
    missing = [
        f"{name} {version}"
        for name, (_, version) in toolchain.FLUX_CONTROLLERS.items()
        if not toolchain.Tool(name, version).is_built()
    ]
    if not missing:
        return None
    return f"Flux is not built ({', '.join(missing)}); run `python -m devtools.toolchain flux`"


def crd_manifests() -> str:
    """Flux's CRDs (every source kind and Kustomization), read from the pinned controller modules."""
    docs: list[str] = []
    for module, version in toolchain.FLUX_CONTROLLERS.values():
        folder = toolchain.module_dir(module, version) / CRD_FOLDER
        files = sorted(folder.glob("*.yaml"))
        if not files:
            raise FluxError(f"no CRDs in {folder}")
        docs += [f.read_text() for f in files]
    return "\n---\n".join(docs)


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(toolchain.tool_path("kubectl")), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise FluxError(f"kubectl {' '.join(args[:2])} failed: {done.stderr.strip()[:500]}")
    return done.stdout


def install_crds(kubeconfig: Path) -> list[str]:
    """Server-side apply Flux's CRDs and wait until the API serves them; returns their names."""
    manifests = crd_manifests()
    names = re.findall(r"^  name: (\S+)$", manifests, re.M)
    _kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifests)
    _kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", *[f"crd/{n}" for n in names])
    return names


REQUEST_METRIC = "rest_client_requests_total"  # client-go's counter, served by controller-runtime


@dataclass(frozen=True)
class Tuning:
    """Flags of the two controllers; ``None`` keeps a controller's own default.

    Flux's defaults: kustomize-controller ``--concurrent=4 --concurrent-ssa=4``, source-controller
    ``--concurrent=2``, both ``--kube-api-qps=50 --kube-api-burst=300``."""

    label: str = "default settings"
    concurrent: int | None = None  # both controllers' --concurrent
    concurrent_ssa: int | None = None  # kustomize-controller's --concurrent-ssa
    qps: float | None = None  # both controllers' --kube-api-qps
    burst: int | None = None  # both controllers' --kube-api-burst

    def args(self, controller: str) -> list[str]:
        out: list[str] = []
        if self.concurrent is not None:
            out.append(f"--concurrent={self.concurrent}")
        if self.concurrent_ssa is not None and controller == "kustomize-controller":
            out.append(f"--concurrent-ssa={self.concurrent_ssa}")
        if self.qps is not None:
            out.append(f"--kube-api-qps={self.qps:g}")
        if self.burst is not None:
            out.append(f"--kube-api-burst={self.burst}")
        return out

    def describe(self) -> str:
        flags = " ".join(self.args("kustomize-controller"))
        return f"{self.label}: {flags}" if flags else self.label


def tuned(*, concurrency: int, qps: float, burst: int) -> Tuning:
    """Flux on another contender's budget, as Flux's scaling advice goes (more workers, a higher client
    rate limit): ``concurrency`` Kustomizations reconciled at once and as many objects applied at once
    within one, the same client QPS and burst, in both controllers."""
    return Tuning("tuned", concurrent=concurrency, concurrent_ssa=concurrency, qps=qps, burst=burst)


@dataclass
class Controller:
    """One controller process and the ports it serves on."""

    child: Child
    health_port: int
    metrics_port: int

    @property
    def name(self) -> str:
        return self.child.name

    def workers_started(self, controller: str) -> bool:
        """controller-runtime logs "Starting workers" for a controller once its caches have synced; the
        health probe answers long before that (about 2 s on a small cluster)."""
        return self.child.log_contains(f'"msg":"Starting workers","controller":"{controller}"')

    def ready(self) -> bool:
        healthy = http_ok(f"http://127.0.0.1:{self.health_port}/readyz")
        return healthy and self.workers_started(MAIN_CONTROLLER[self.name])

    def requests(self) -> dict[str, float]:
        text = http_text(f"http://127.0.0.1:{self.metrics_port}/metrics")
        return counter_by_label(text, REQUEST_METRIC, "method")


@dataclass
class FluxControllers(StartStop):
    """source-controller and kustomize-controller as child processes against one cluster.

    A context manager: exit stops both (SIGTERM, then SIGKILL after 10 s). State (artifacts, logs)
    lives in ``workdir``, which the caller owns."""

    kubeconfig: Path
    workdir: Path
    tuning: Tuning = field(default_factory=Tuning)
    controllers: dict[str, Controller] = field(default_factory=dict)
    storage_port: int = 0

    def _argv(self, name: str, health: int, metrics: int) -> list[str]:
        argv = [
            str(toolchain.tool_path(name)),
            f"--metrics-addr=127.0.0.1:{metrics}",
            f"--health-addr=127.0.0.1:{health}",
            "--enable-leader-election=false",
            "--watch-all-namespaces=true",
            "--events-addr=",
            "--log-level=info",
            "--log-encoding=json",
        ]
        if name == "source-controller":
            self.storage_port = free_port()
            storage = self.workdir / "storage"
            storage.mkdir(parents=True, exist_ok=True)
            argv += [
                f"--storage-path={storage}",
                f"--storage-addr=127.0.0.1:{self.storage_port}",
                f"--storage-adv-addr=127.0.0.1:{self.storage_port}",
            ]
        return argv + self.tuning.args(name)

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {"KUBECONFIG": str(self.kubeconfig), "RUNTIME_NAMESPACE": FLUX_NAMESPACE}
        try:
            for name in toolchain.FLUX_CONTROLLERS:
                health, metrics = free_port(), free_port()
                child = Child(name, self._argv(name, health, metrics), self.workdir / f"{name}.log", env)
                self.controllers[name] = Controller(child, health, metrics)
                child.start()
            for ctl in self.controllers.values():
                ctl.child.wait_until(ctl.ready, STARTUP_TIMEOUT, FluxError)
        except BaseException:
            self.stop()
            raise

    def usage(self) -> dict[str, ProcessUsage]:
        """CPU seconds and peak RSS of each running controller so far."""
        return {name: u for name, ctl in self.controllers.items() if (u := ctl.child.usage()) is not None}

    def requests(self) -> dict[str, float]:
        """Both controllers' Kubernetes requests so far, by HTTP method (client-go's own counter)."""
        total: dict[str, float] = {}
        for ctl in self.controllers.values():
            for method, value in ctl.requests().items():
                total[method] = total.get(method, 0.0) + value
        return total

    def stop(self) -> None:
        stop_all(ctl.child for ctl in self.controllers.values())


def git_repository(
    url: str, *, name: str = SOURCE_NAME, branch: str = "main", interval: str = "10m"
) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
        "spec": {"url": url, "interval": interval, "ref": {"branch": branch}},
    }


def kustomization(
    name: str,
    path: str,
    target_namespace: str,
    *,
    source: str = SOURCE_NAME,
    interval: str = "10m",
    prune: bool = True,
    wait: bool = False,
) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
        "spec": {
            "interval": interval,
            "path": f"./{path.strip('/')}",
            "prune": prune,
            "wait": wait,
            "sourceRef": {"kind": "GitRepository", "name": source},
            "targetNamespace": target_namespace,
        },
    }


def target_namespace(namespace_prefix: str, index: int) -> str:
    """The namespace the Kustomization of ``paths[index]`` applies into."""
    return f"{namespace_prefix}{index}"


def is_ready(obj: dict[str, Any]) -> bool:
    """Ready=True for the object's current generation."""
    status = obj.get("status") or {}
    if status.get("observedGeneration") != (obj.get("metadata") or {}).get("generation"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


async def _ensure_namespaces(client: AsyncClient, names: list[str]) -> None:
    existing = {ns.metadata.name async for ns in client.list(Namespace) if ns.metadata is not None}
    for name in names:
        if name not in existing:
            await client.create(Namespace.from_dict({"metadata": {"name": name}}))


async def wait_ready(client: AsyncClient, names: set[str], within: float) -> tuple[int, dict[str, str]]:
    """Watch the Kustomizations in ``names`` until all are Ready or ``within`` seconds pass; returns the
    number Ready and, for the others, their last Ready message."""
    ready: set[str] = set()
    last: dict[str, str] = {}

    def observe(obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if name not in names:
            return
        if is_ready(obj):
            ready.add(name)
            last.pop(name, None)
            return
        ready.discard(name)
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready":
                last[name] = f"{cond.get('reason')}: {cond.get('message')}"

    async def watch() -> None:
        listing = client.list(Kustomization, namespace=FLUX_NAMESPACE)
        async for obj in listing:
            observe(obj.to_dict())
        if ready >= names:
            return
        watcher = client.watch(
            Kustomization,
            namespace=FLUX_NAMESPACE,
            resource_version=listing.resourceVersion,
            on_error=on_error_retry,
        )
        async for _, obj in watcher:
            observe(obj.to_dict())
            if ready >= names:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watch(), within)
    return len(ready), {n: last.get(n, "no status yet") for n in sorted(names - ready)}


async def run_flux(
    kubeconfig: Path,
    repo_url: str,
    paths: list[str],
    namespace_prefix: str,
    *,
    branch: str = "main",
    wait: bool = False,
    ready_within: float = 600.0,
    workdir: Path | None = None,
    tuning: Tuning | None = None,
) -> dict[str, Any]:
    """Flux's cold sync of ``paths`` (one Kustomization each) from ``repo_url`` into namespaces
    ``<namespace_prefix><i>``, on a cluster where Flux has not run yet.

    Setup (CRDs, namespaces, both controllers up and ready) is not timed. The clock starts when the
    GitRepository and the Kustomizations are created and stops when every Kustomization is Ready.
    ``cpu_seconds`` is the two controllers' CPU (user + system) during that window, ``peak_rss_mb`` the sum
    of their peak resident sizes (VmHWM) over their whole life; per-controller numbers and start-up cost
    are in ``controllers`` and ``startup_seconds``. ``wait=True`` sets ``spec.wait`` (Ready only once the
    applied objects are healthy), like gitward's health wait. ``tuning``: the controllers' flags (their
    defaults when None). ``requests``: the Kubernetes requests both controllers sent in the window, by
    verb, as their client counted them."""
    reason = available()
    if reason is not None:
        raise FluxError(reason)
    work = workdir or toolchain.cache_root() / "flux" / f"run-{os.getpid()}-{int(time.time())}"
    work.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(install_crds, kubeconfig)
    client = AsyncClient(config=KubeConfig.from_file(kubeconfig), field_manager="gitward-bench")
    try:
        namespaces = [target_namespace(namespace_prefix, i) for i in range(len(paths))]
        await _ensure_namespaces(client, [FLUX_NAMESPACE, *namespaces])
        controllers = FluxControllers(kubeconfig, work, tuning or Tuning())
        started = time.perf_counter()
        await asyncio.to_thread(controllers.start)
        try:
            startup = time.perf_counter() - started
            before = controllers.usage()
            requests_before = controllers.requests()
            names = {f"app-{i}" for i in range(len(paths))}
            t0 = time.perf_counter()
            await client.create(GitRepository.from_dict(git_repository(repo_url, branch=branch)))
            for i, path in enumerate(paths):
                obj = kustomization(f"app-{i}", path, namespaces[i], wait=wait)
                await client.create(Kustomization.from_dict(obj))
            ready, pending = await wait_ready(client, names, ready_within)
            wall = time.perf_counter() - t0
            after = controllers.usage()
            requests = requests_by_verb(minus(controllers.requests(), requests_before))
        finally:
            await asyncio.to_thread(controllers.stop)
    finally:
        await client.close()
    per = {
        name: {
            "cpu_seconds": round(after[name].cpu_seconds - before[name].cpu_seconds, 3),
            "cpu_seconds_total": round(after[name].cpu_seconds, 3),
            "peak_rss_mb": round(after[name].peak_rss_mb, 1),
        }
        for name in after
    }
    return {
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(sum(p["cpu_seconds"] for p in per.values()), 3),
        "peak_rss_mb": round(sum(p["peak_rss_mb"] for p in per.values()), 1),
        "ready": ready,
        "total": len(paths),
        "pending": pending,
        "requests": requests,
        "settings": (tuning or Tuning()).describe(),
        "startup_seconds": round(startup, 3),
        "controllers": per,
        "versions": {name: version for name, (_, version) in toolchain.FLUX_CONTROLLERS.items()},
        "logs": str(work),
    }


def app_files(count: int) -> dict[str, str]:
    """``count`` app folders (``apps/app-<i>/``), each a Deployment, Service, ConfigMap and ServiceAccount."""
    files: dict[str, str] = {}
    for i in range(count):
        name = f"app-{i}"
        labels = {"app": name}
        docs: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"index": str(i)}},
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name},
                "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
            },
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": name,
                            "containers": [{"name": "web", "image": "nginx"}],
                        },
                    },
                },
            },
        ]
        files[f"apps/{name}/app.yaml"] = yaml.safe_dump_all(docs)
    return files


def main(argv: list[str]) -> int:
    """``python -m devtools.flux [COUNT] [--wait]``: a fresh cluster named ``flux-dev``, a smart-HTTP Git
    server with COUNT apps, ``run_flux``, the objects counted, everything stopped; prints the result."""
    import json
    import tempfile

    from devtools import localcluster
    from devtools.gitservers import HttpGitServer

    count = int(next((a for a in argv if a.isdigit()), "10"))
    toolchain.build_all(["kubernetes", "etcd", "kwok", "flux"])
    cluster = localcluster.up("flux-dev")
    try:
        with tempfile.TemporaryDirectory() as tmp, HttpGitServer(Path(tmp)) as server:
            server.create_repo("apps", app_files(count))
            paths = [f"apps/app-{i}" for i in range(count)]
            result = asyncio.run(
                run_flux(cluster.kubeconfig, server.url("apps"), paths, "flux-app-", wait="--wait" in argv)
            )
            listed = _kubectl(
                cluster.kubeconfig,
                "get",
                "deployments,services,configmaps,serviceaccounts",
                "-A",
                "-l",
                "kustomize.toolkit.fluxcd.io/namespace=" + FLUX_NAMESPACE,
                "-o",
                "name",
            ).split()
            result["objects_applied"] = len(listed)
            result["git_requests"] = server.requests
            print(json.dumps(result, indent=2))
            return 0 if result["ready"] == count and len(listed) == 4 * count else 1
    finally:
        localcluster.down("flux-dev")


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
