"""The other contenders of the scale benchmarks: Flux (``devtools/flux.py``) and Argo CD
(``devtools/argocd.py``), each on a fresh cluster, on the same Git repository served the same way.

Why here and not in ``bench_scale``: how each peer is set up, timed and read differs (Flux: one
Kustomization per app, Ready with or without ``spec.wait``; Argo CD: one Application per app, Synced
after a succeeded operation, then Healthy); what a table row holds is the same for every contender.

The budget: "tuned" peers get gitward's own limits (apps worked on at once, client QPS and burst), set
the way their documentation advises for scale; "default settings" rows run them as installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools import toolchain
from devtools.gitservers import HttpGitServer, WorkRepo, git
from devtools.localcluster import LocalCluster
from devtools.peerproc import minus, requests_by_verb, total_usage

from bench import workload
from bench.kube import Kube

FLUX_PREFIX = "fx-"
ARGO_PREFIX = "ar-"


@dataclass(frozen=True)
class Budget:
    """What every tuned contender may use: apps worked on at once, and the Kubernetes client's limit."""

    concurrency: int = 8
    qps: float = 500.0
    burst: int = 1000

    def describe(self) -> str:
        return f"{self.concurrency} apps at once, {self.qps:g} QPS / burst {self.burst}"


def load_average() -> str:
    import os

    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


@dataclass
class Served:
    """A copy of the fleet's repository behind the smart-HTTP Git server, and a clone to push from."""

    server: HttpGitServer
    repo: WorkRepo

    @property
    def url(self) -> str:
        return self.server.url("apps")


@contextmanager
def served(repo: WorkRepo, root: Path) -> Iterator[Served]:
    """Serve a copy of ``repo`` over HTTP (every contender reads the same commit the same way; pushes to
    the copy reach only the contender that reads it)."""
    server = HttpGitServer(root)
    server.repos_dir.mkdir(parents=True, exist_ok=True)
    bare = server.repos_dir / "apps.git"
    git("clone", "-q", "--bare", str(repo.bare), str(bare))
    (bare / "git-daemon-export-ok").touch()
    work = root / "work"
    git("clone", "-q", str(bare), str(work))
    git("checkout", "-q", "-B", repo.branch, cwd=work)
    server.start()
    try:
        yield Served(server, WorkRepo(bare=bare, work=work, branch=repo.branch))
    finally:
        server.stop()


def ensure_built(names: list[str], log: Callable[[str], None]) -> dict[str, str]:
    """Build the peers' binaries when missing (only the benchmarks need them); returns, for each that
    could not be built, why not."""
    refused: dict[str, str] = {}
    for name in names:
        try:
            if name == "argocd":
                from devtools import argocd

                if not toolchain.Tool(toolchain.ARGOCD_BINARY, toolchain.ARGOCD_VERSION).is_built():
                    log(f"building Argo CD {toolchain.ARGOCD_VERSION} (about 20 minutes on 2 cores)")
                toolchain.build_all(["argocd"])
                argocd.ensure_redis()
            elif name == "flux":
                if any(
                    not toolchain.Tool(n, v).is_built() for n, (_, v) in toolchain.FLUX_CONTROLLERS.items()
                ):
                    log("building Flux's controllers (about 7 minutes on 2 cores)")
                toolchain.build_all(["flux"])
        except Exception as err:  # a peer that cannot be built is reported, not fatal
            refused[name] = str(err)
            log(f"{name} cannot run: {err}")
    return refused


# -- Flux -----------------------------------------------------------------------------------------


async def flux_cold(
    kubeconfig: Path,
    repo_url: str,
    apps: int,
    work: Path,
    *,
    tuning: Any,
    wait: bool,
    within: float,
) -> dict[str, Any]:
    """One Flux cold sync: Kustomizations Ready after apply (``wait=False``: the "applied" figure) or
    after their objects are healthy (``wait=True``: the "ready" figure)."""
    from devtools import flux

    load_before = load_average()
    paths = [workload.app_path(i) for i in range(apps)]
    result = await flux.run_flux(
        kubeconfig,
        repo_url,
        paths,
        FLUX_PREFIX,
        wait=wait,
        ready_within=within,
        workdir=work,
        tuning=tuning,
    )
    seconds = result.get("wall_seconds")
    return {
        "contender": "flux" if tuning.label == "default settings" else f"flux ({tuning.label})",
        "settings": tuning.describe() + (", wait on" if wait else ", wait off"),
        "apps": apps,
        "mode": "ready" if wait else "applied",
        "wall_seconds": None if wait else seconds,
        "ready_seconds": seconds if wait else None,
        "cpu_seconds": result.get("cpu_seconds"),
        "peak_rss_mb": result.get("peak_rss_mb"),
        "ready": f"{result.get('ready')}/{result.get('total')}",
        "requests": result.get("requests", {}),
        "load": {"before": load_before, "after": load_average()},
        "pending": dict(list((result.get("pending") or {}).items())[:5]),
    }


# -- Argo CD --------------------------------------------------------------------------------------


@dataclass
class ArgoFleet:
    """Argo CD over a synced fleet: what the latency and idle benchmarks need to drive and read it."""

    argo: Any  # devtools.argocd.ArgoCD
    repo: WorkRepo
    apps: int
    kubes: list[Kube]
    contender: str = "argocd"
    kinds: tuple[str, ...] = workload.KINDS
    cold: dict[str, Any] = field(default_factory=dict)

    def kube_of(self, index: int) -> Kube:
        return self.kubes[index % len(self.kubes)]

    def namespace(self, index: int) -> str:
        return argocd_namespace(index)

    def announce(self, index: int) -> float:
        """After a push: the refresh Argo CD's webhook handler requests for the app the push touched."""
        start = time.perf_counter()
        self.argo.refresh(workload.app_name(index))
        return time.perf_counter() - start

    def settle(self, quiet: float, timeout: float) -> None:
        """Argo CD exposes no queue depth to wait on: give it ``quiet`` seconds (at most ``timeout``)."""
        self.argo.check_alive()
        time.sleep(min(quiet, timeout))

    def counters(self) -> dict[str, float]:
        git_calls = self.argo.git_requests()
        return {"fetches": git_calls.get("fetch", 0.0), "ls_remotes": git_calls.get("ls-remote", 0.0)}


def argocd_namespace(index: int) -> str:
    return workload.namespace(index, ARGO_PREFIX.rstrip("-"))


def argocd_names(apps: int) -> tuple[list[str], list[str], list[str]]:
    names = [workload.app_name(i) for i in range(apps)]
    paths = [workload.app_path(i) for i in range(apps)]
    return names, paths, [argocd_namespace(i) for i in range(apps)]


@contextmanager
def argocd_fleet(
    cluster: LocalCluster,
    source: Served,
    apps: int,
    work: Path,
    tuning: Any,
    timeout: float,
    *,
    kinds: tuple[str, ...] = workload.KINDS,
) -> Iterator[ArgoFleet]:
    """Argo CD started on ``cluster``, every app created and waited for (the B1 row in ``cold``), left
    running for the latency and idle benchmarks."""
    from devtools import argocd

    kube = Kube(cluster.kubeconfig)
    try:
        with argocd.ArgoCD(cluster.kubeconfig, work, tuning) as argo:
            load_before = load_average()
            names, paths, namespaces = argocd_names(apps)
            manifests = argo.applications(source.url, paths, names, namespaces)
            progress = argocd.Progress(set(names))
            usage_before = total_usage(argo.usage().values())
            requests_before = argo.requests()
            start = time.perf_counter()
            argo.create(manifests)
            asyncio.run(argocd.watch_progress(cluster.kubeconfig, progress, start, timeout))
            elapsed = time.perf_counter() - start
            usage = total_usage(argo.usage().values())
            fleet = ArgoFleet(argo=argo, repo=source.repo, apps=apps, kubes=[kube], kinds=kinds)
            fleet.cold = {
                "contender": "argocd",
                "settings": tuning.describe(),
                "apps": apps,
                "wall_seconds": progress.all_applied_at,
                "ready_seconds": progress.all_ready_at,
                "cpu_seconds": usage.total_cpu_seconds - usage_before.total_cpu_seconds,
                "cpu_children_seconds": usage.children_cpu_seconds - usage_before.children_cpu_seconds,
                "peak_rss_mb": usage.peak_rss_mb,
                "ready": f"{len(progress.ready)}/{apps}",
                "applied": f"{len(progress.applied)}/{apps}",
                "waited_seconds": elapsed,
                "requests": requests_by_verb(minus(argo.requests(), requests_before)),
                "load": {"before": load_before, "after": load_average()},
                "pending": progress.pending(),
                "version": toolchain.ARGOCD_VERSION,
            }
            yield fleet
    finally:
        kube.close()


def argocd_idle(fleet: ArgoFleet, seconds: float, interval: str) -> dict[str, Any]:
    """B4 for Argo CD: its three processes' CPU (with the ``git`` children), the controller's requests
    by verb and the writes among them, and memory, over a window with only the periodic refresh."""
    argo = fleet.argo
    fleet.settle(5.0, 30.0)
    before = total_usage(argo.usage().values())
    requests_before = argo.requests()
    git_before = fleet.counters()
    start = time.perf_counter()
    rss_max = 0.0
    while time.perf_counter() - start < seconds:
        time.sleep(min(5.0, max(0.0, seconds - (time.perf_counter() - start))))
        argo.check_alive()
        rss_max = max(rss_max, total_usage(argo.usage().values()).rss_mb)
    elapsed = time.perf_counter() - start
    after = total_usage(argo.usage().values())
    cpu = after.total_cpu_seconds - before.total_cpu_seconds
    requests = requests_by_verb(minus(argo.requests(), requests_before))
    git_calls = {k: round(v) for k, v in minus(fleet.counters(), git_before).items()}
    return {
        "contender": fleet.contender,
        "apps": fleet.apps,
        "interval": interval,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "cpu_percent": cpu / elapsed * 100,
        "cpu_children_seconds": after.children_cpu_seconds - before.children_cpu_seconds,
        "requests": requests,
        "writes": sum(v for verb, v in requests.items() if verb not in ("get", "list", "watch")),
        "git": git_calls,
        "rss_mb": after.rss_mb,
        "rss_max_mb": rss_max,
        "peak_rss_mb": after.peak_rss_mb,
        "load": load_average(),
    }


def skipped(contender: str, apps: int, reason: str) -> dict[str, Any]:
    return {"contender": contender, "apps": apps, "skipped": reason}


def failed(contender: str, apps: int, err: BaseException) -> dict[str, Any]:
    """A contender that broke mid-run is a row that says so; the other contenders still run."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    with contextlib.suppress(Exception):
        message = message[:300]
    return {"contender": contender, "apps": apps, "skipped": f"failed: {message}"}
