"""The "scale and speed" benchmarks, B1-B5, against ``gitward run`` as a separate process.

B1 cold sync: N apps (Deployment, Service, ConfigMap, ServiceAccount, each app in its own namespace)
   in one Git repository, from process start to every app Synced and Healthy; baselines in the same
   run: the same objects in one ``kubectl apply --server-side``, and Flux (``devtools/flux.py``).
   Each contender gets a fresh cluster, so none pays for another's objects.
B2 change latency: 20 commits each touching one app, each announced by a signed webhook; push to the
   ConfigMap's new value visible in the API server; renders and fetches per commit from ``/metrics``.
B3 drift latency: 20 out-of-band patches (ConfigMap data, Deployment image, alternately): patch to
   healed.
B4 idle cost: after B3, a window with only the interval resync running: CPU, requests by verb, RSS.
B5 the fleet spread over 3 clusters: B1 (gitward only) and B3.

B2-B4 run on the process B1 left running at the largest N; B5 starts its own clusters and process.
Every cluster and process started here is stopped here, also on errors.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from devtools import localcluster, toolchain
from devtools.gitservers import HttpGitServer, WorkRepo, git

from bench import workload
from bench.gitwardproc import GitwardProcess
from bench.kube import Kube

READY_TIMEOUT = 1800.0
# The local clusters' default Service range is a /24 (254 Services); a fleet of 1000 apps has 1000.
CLUSTER_ARGS = ["--service-cluster-ip-range=10.0.0.0/16"]
LATENCY_TIMEOUT = 60.0


@dataclass
class Options:
    sizes: list[int]
    apps: int
    interval: str = "60s"
    idle_seconds: float = 300.0
    changes: int = 20
    drifts: int = 20
    flux: bool = True
    flux_timeout: float = 900.0  # Flux's Kustomizations not all Ready by then: the count is reported
    apiserver_args: list[str] = field(default_factory=list)
    source: Path | None = None  # run gitward from this src folder (e.g. a worktree of a commit)
    checkpoint: Path | None = None  # results so far are written here after each step
    profile: Path | None = None  # a folder for py-spy profiles of each gitward process (skews its CPU)


@dataclass
class Results:
    """Everything measured in one run (also written as JSON next to docs/benchmarks.md)."""

    b1: list[dict[str, Any]] = field(default_factory=list)  # one row per (contender, N)
    b2: dict[str, Any] = field(default_factory=dict)
    b3: dict[str, Any] = field(default_factory=dict)
    b4: dict[str, Any] = field(default_factory=dict)
    b5: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


# -- clusters -------------------------------------------------------------------------------------


@contextmanager
def clusters(names: list[str], apiserver_args: list[str]) -> Iterator[list[localcluster.LocalCluster]]:
    started: list[str] = []
    try:
        out = []
        for name in names:
            started.append(name)
            out.append(localcluster.up(name, apiserver_args=[*CLUSTER_ARGS, *apiserver_args]))
        yield out
    finally:
        for name in started:
            localcluster.down(name)


def _cluster_name(tag: str) -> str:
    return f"bench-{tag}-{os.getpid()}"


# -- B1 baselines ---------------------------------------------------------------------------------

# klog's request lines: structured (``"Response" verb="PATCH" url="https://..."``) or the older
# ``] PATCH https://...`` form
_REQUEST_LINE = re.compile(r'(?:"Response" verb="|\] )(GET|POST|PATCH|PUT|DELETE)"? (?:url=")?https?://')


def kubectl_cold(opts: Options, apps: int, work: Path) -> dict[str, Any]:
    """One ``kubectl apply --server-side`` of every object; then until every Deployment is available."""
    with clusters([_cluster_name(f"b1-kubectl-{apps}")], opts.apiserver_args) as (cluster,):
        file = work / f"kubectl-{apps}.yaml"
        file.write_text(workload.kubectl_manifest(apps, prefix="kc"))
        kubectl = str(toolchain.tool_path("kubectl"))
        argv = [kubectl, "--kubeconfig", str(cluster.kubeconfig), "apply", "--server-side", "-f", str(file)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([*argv, "-v=6"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        applied = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        stderr = done.stderr
        if done.returncode:
            raise RuntimeError(f"kubectl apply failed: {stderr.decode()[-2000:]}")
        requests: dict[str, int] = {}
        for line in stderr.decode(errors="replace").splitlines():
            match = _REQUEST_LINE.search(line)
            if match:
                requests[match.group(1)] = requests.get(match.group(1), 0) + 1
        kube = Kube(cluster.kubeconfig)
        try:
            available = _wait_available(kube, "kc-", apps, start)
        finally:
            kube.close()
    return {
        "contender": "kubectl",
        "apps": apps,
        "wall_seconds": applied,
        "ready_seconds": available,
        "cpu_seconds": cpu,
        "peak_rss_mb": None,
        "requests": requests,
    }


def _wait_available(kube: Kube, prefix: str, apps: int, start: float) -> float:
    deadline = time.perf_counter() + READY_TIMEOUT
    while kube.count_available_deployments(prefix) < apps:
        if time.perf_counter() > deadline:
            raise RuntimeError("kubectl baseline: Deployments not available in time")
        time.sleep(0.5)
    return time.perf_counter() - start


def flux_status() -> tuple[Any, str | None]:
    """(the devtools.flux module, None) when Flux can run, else (None, why not)."""
    try:
        from devtools import flux  # type: ignore[attr-defined]
    except ImportError:
        return None, "devtools/flux.py is not in the tree yet"
    reason = flux.available()
    return (None, str(reason)) if reason else (flux, None)


async def flux_cold(opts: Options, apps: int, work: Path, repo: WorkRepo) -> dict[str, Any]:
    flux, reason = flux_status()
    row: dict[str, Any] = {"contender": "flux", "apps": apps}
    if flux is None:
        return {**row, "skipped": reason}
    server = HttpGitServer(work / f"flux-git-{apps}")
    server.repos_dir.mkdir(parents=True, exist_ok=True)
    git("clone", "-q", "--bare", str(repo.bare), str(server.repos_dir / "apps.git"))
    server.start()
    try:
        with clusters([_cluster_name(f"b1-flux-{apps}")], opts.apiserver_args) as (cluster,):
            paths = [workload.app_path(i) for i in range(apps)]
            result = await flux.run_flux(
                cluster.kubeconfig,
                server.url("apps"),
                paths,
                "fx-",
                wait=True,  # Ready only once the objects are healthy, as gitward's Healthy
                ready_within=opts.flux_timeout,
                workdir=work / f"flux-{apps}",
            )
    finally:
        server.stop()
    return {
        **row,
        "wall_seconds": result.get("wall_seconds"),
        "ready_seconds": result.get("wall_seconds"),
        "cpu_seconds": result.get("cpu_seconds"),
        "peak_rss_mb": result.get("peak_rss_mb"),
        "ready": f"{result.get('ready')}/{result.get('total')}",
        "requests": {},
    }


# -- gitward --------------------------------------------------------------------------------------


@dataclass
class Fleet:
    """A running gitward process over a synced fleet, and what a latency benchmark needs to drive it."""

    process: GitwardProcess
    repo: WorkRepo
    repo_url: str
    apps: int
    kubes: list[Kube]

    def kube_of(self, index: int) -> Kube:
        return self.kubes[index % len(self.kubes)]


@contextmanager
def gitward_fleet(
    opts: Options, apps: int, work: Path, repo: WorkRepo, cluster_list: list[localcluster.LocalCluster]
) -> Iterator[Fleet]:
    secret = work / "webhook.secret"
    secret.write_text(workload.SECRET)
    config = work / "config" / "gitward.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    repo_url = repo.bare.as_uri()
    cluster_map = {f"c{i}": c.kubeconfig for i, c in enumerate(cluster_list)}
    config.write_text(
        workload.gitward_config(
            clusters=cluster_map, repo_url=repo_url, apps=apps, interval=opts.interval, secret_file=secret
        )
    )
    profile = opts.profile / f"gitward-{apps}-apps-{len(cluster_list)}-clusters.txt" if opts.profile else None
    process = GitwardProcess(root=work / "gitward", config=config.parent, source=opts.source, profile=profile)
    kubes = [Kube(c.kubeconfig) for c in cluster_list]
    process.start()
    try:
        yield Fleet(process=process, repo=repo, repo_url=repo_url, apps=apps, kubes=kubes)
    finally:
        process.stop()
        for kube in kubes:
            kube.close()


def gitward_cold(fleet: Fleet, contender: str = "gitward") -> dict[str, Any]:
    process = fleet.process
    names = [workload.app_name(i) for i in range(fleet.apps)]
    synced, ready = process.wait_all_ready(names, timeout=READY_TIMEOUT, poll=0.5)
    own, children = process.cpu_split()
    _, peak = process.memory()
    metrics = process.metrics()
    return {
        "contender": contender,
        "apps": fleet.apps,
        "clusters": len(fleet.kubes),
        "wall_seconds": synced,
        "ready_seconds": ready,
        "cpu_seconds": own + children,
        "cpu_children_seconds": children,
        "peak_rss_mb": peak,
        "requests": {k: int(v) for k, v in metrics.requests.items()},
        "renders": int(metrics.render_misses),
        "fetches": int(metrics.fetches),
    }


# -- B2 change latency ----------------------------------------------------------------------------


def _spread(count: int, apps: int) -> list[int]:
    """``count`` distinct-ish app indexes spread over the fleet (a stride coprime to most N)."""
    return [(k * 7919 + 3) % apps for k in range(count)]


def _webhook(fleet: Fleet) -> float:
    body = json.dumps({"repository": fleet.repo_url}).encode()
    signature = hmac.new(workload.SECRET.encode(), body, hashlib.sha256).hexdigest()
    start = time.perf_counter()
    response = httpx.post(
        f"{fleet.process.url}/api/v1/webhooks/{workload.RECEIVER}",
        content=body,
        headers={"Content-Type": "application/json", "X-Gitward-Signature": f"sha256={signature}"},
        timeout=30,
    )
    response.raise_for_status()
    return time.perf_counter() - start


def change_latency(fleet: Fleet, count: int) -> dict[str, Any]:
    process = fleet.process
    process.wait_idle(timeout=30.0)
    samples: list[dict[str, Any]] = []
    for k, index in enumerate(_spread(count, fleet.apps)):
        revision = 1000 + k
        name, ns = workload.app_name(index), workload.namespace(index)
        path = f"{workload.app_path(index)}/objects.yaml"
        fleet.repo.write({path: workload.app_file(index, revision=revision)})
        git("add", "-A", cwd=fleet.repo.work)
        git("commit", "-q", "-m", f"bench change {k}", cwd=fleet.repo.work)
        before = process.metrics()
        start = time.perf_counter()
        fleet.repo.push()
        pushed = time.perf_counter()
        webhook = _webhook(fleet)
        want = str(revision)
        seen = fleet.kube_of(index).wait_for(
            "ConfigMap", ns, name, lambda o, w=want: o.get("data", {}).get("revision") == w, LATENCY_TIMEOUT
        )
        # With a short resync interval a large fleet is never idle: wait a little, not for silence.
        process.wait_idle(quiet=1.0, timeout=3.0)
        delta = process.metrics().minus(before)
        samples.append(
            {
                "app": name,
                "latency": seen - start,
                "push": pushed - start,
                "webhook": webhook,
                "renders": delta.render_misses,
                "fetches": delta.fetches,
            }
        )
    latencies = [s["latency"] for s in samples]
    return {
        "apps": fleet.apps,
        "clusters": len(fleet.kubes),
        "samples": samples,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "renders_per_commit": sorted({s["renders"] for s in samples}),
        "fetches_per_commit": sorted({s["fetches"] for s in samples}),
    }


# -- B3 drift latency -----------------------------------------------------------------------------


def _drift(index: int, k: int) -> tuple[str, dict[str, Any], Callable[[dict[str, Any]], bool]]:
    name = workload.app_name(index)
    if k % 2 == 0:
        expected = f"value-{index}"
        return (
            "ConfigMap",
            {"data": {"key": f"drifted-{k}"}},
            lambda o: o.get("data", {}).get("key") == expected,
        )
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": f"nginx:drift-{k}"}]}}}}
    del name
    return (
        "Deployment",
        patch,
        lambda o: o["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27",
    )


def drift_latency(fleet: Fleet, count: int) -> dict[str, Any]:
    process = fleet.process
    process.wait_idle(timeout=30.0)
    samples: list[dict[str, Any]] = []
    for k, index in enumerate(_spread(count, fleet.apps)[::-1]):
        name, ns = workload.app_name(index), workload.namespace(index)
        kind, patch, healed = _drift(index, k)
        kube = fleet.kube_of(index)
        start = time.perf_counter()
        kube.patch(kind, ns, name, patch)
        seen = kube.wait_for(kind, ns, name, healed, LATENCY_TIMEOUT)
        samples.append({"app": name, "kind": kind, "latency": seen - start})
        process.wait_idle(quiet=1.0, timeout=3.0)
    latencies = [s["latency"] for s in samples]
    return {
        "apps": fleet.apps,
        "clusters": len(fleet.kubes),
        "samples": samples,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
    }


# -- B4 idle cost ---------------------------------------------------------------------------------


def idle_cost(fleet: Fleet, seconds: float, interval: str) -> dict[str, Any]:
    process = fleet.process
    process.wait_idle(quiet=5.0, timeout=30.0)
    before = process.metrics()
    cpu_before = process.cpu_split()
    start = time.perf_counter()
    rss_max = 0.0
    while time.perf_counter() - start < seconds:
        time.sleep(min(5.0, max(0.0, seconds - (time.perf_counter() - start))))
        rss_max = max(rss_max, process.memory()[0])
    elapsed = time.perf_counter() - start
    own, children = (a - b for a, b in zip(process.cpu_split(), cpu_before, strict=True))
    cpu = own + children
    delta = process.metrics().minus(before)
    writes = sum(v for verb, v in delta.requests.items() if verb in ("apply", "delete", "other", "dryrun"))
    rss, peak = process.memory()
    return {
        "apps": fleet.apps,
        "interval": interval,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "cpu_percent": cpu / elapsed * 100,
        "cpu_children_seconds": children,
        "requests": {k: int(v) for k, v in delta.requests.items() if v},
        "writes": int(writes),
        "reconciles": {k: int(v) for k, v in delta.reconciles.items() if v},
        "resyncs_skipped": int(delta.resyncs_skipped),
        "renders": int(delta.render_misses),
        "fetches": int(delta.fetches),
        "rss_mb": rss,
        "rss_max_mb": rss_max,
        "peak_rss_mb": peak,
    }


# -- the runs -------------------------------------------------------------------------------------


async def run(names: set[str], opts: Options, log: Callable[[str], None]) -> Results:
    results = Results(options={k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()})

    def save() -> None:
        if opts.checkpoint is not None:
            opts.checkpoint.write_text(results.to_json())

    if opts.apiserver_args:
        results.notes.append("kube-apiserver flags: " + " ".join(opts.apiserver_args))
    with tempfile.TemporaryDirectory(prefix="gitward-bench-") as tmp:
        work = Path(tmp)
        sizes = sorted(set(opts.sizes if "b1" in names else []) | {opts.apps})
        wants_fleet = names & {"b1", "b2", "b3", "b4"}
        for apps in sizes if wants_fleet else []:
            size_dir = work / f"n{apps}"
            repo = workload.create_fleet_repo(size_dir / "git", apps)
            if "b1" in names:
                log(f"B1 kubectl, {apps} apps")
                results.b1.append(kubectl_cold(opts, apps, size_dir))
                save()
                if opts.flux:
                    log(f"B1 flux, {apps} apps")
                    results.b1.append(await flux_cold(opts, apps, size_dir, repo))
                    save()
            with clusters([_cluster_name(f"b1-{apps}")], opts.apiserver_args) as cluster_list:
                log(f"B1 gitward, {apps} apps (load {load_average()})")
                with gitward_fleet(opts, apps, size_dir, repo, cluster_list) as fleet:
                    results.b1.append(gitward_cold(fleet))  # every fleet start is a cold sync
                    save()
                    if apps != opts.apps:
                        continue
                    if "b2" in names:
                        log(f"B2 change latency, {opts.changes} commits (load {load_average()})")
                        results.b2 = change_latency(fleet, opts.changes)
                        save()
                    if "b3" in names:
                        log(f"B3 drift latency, {opts.drifts} patches (load {load_average()})")
                        results.b3 = drift_latency(fleet, opts.drifts)
                        save()
                    if "b4" in names:
                        log(f"B4 idle for {opts.idle_seconds:.0f}s (load {load_average()})")
                        results.b4 = idle_cost(fleet, opts.idle_seconds, opts.interval)
                        results.b4["load"] = load_average()
                        save()
        if "b5" in names:
            repo = workload.create_fleet_repo(work / "b5" / "git", opts.apps)
            names3 = [_cluster_name(f"b5-{i}") for i in range(3)]
            log(f"B5 {opts.apps} apps over 3 clusters")
            with (
                clusters(names3, opts.apiserver_args) as cluster_list,
                gitward_fleet(opts, opts.apps, work / "b5", repo, cluster_list) as fleet,
            ):
                cold = gitward_cold(fleet, "gitward (3 clusters)")
                drift = drift_latency(fleet, opts.drifts)
                results.b5 = {"b1": cold, "b3": drift}
                save()
    return results
