"""The "scale and speed" benchmarks, B1-B5, against ``gitward run`` as a separate process.

B1 cold sync: N apps (Deployment, Service, ConfigMap, ServiceAccount, each app in its own namespace)
   in one Git repository, from process start to every app Synced and Healthy; the other contenders in
   the same run: the same objects in one ``kubectl apply --server-side``, Flux with its default settings
   and tuned to gitward's budget (without and with ``spec.wait``), and Argo CD tuned to the same budget
   (``bench/peers.py``). Each contender gets a fresh cluster with the same API server flags, so none
   pays for another's objects, and reads the same repository over smart HTTP.
B2 change latency: 20 commits each touching one app, each announced by a signed webhook; push to the
   ConfigMap's new value visible in the API server; renders and fetches per commit from ``/metrics``.
B3 drift latency: 20 out-of-band patches (ConfigMap data, Deployment image, alternately): patch to
   healed.
B4 idle cost: after B3, a window with only the interval resync running: CPU, requests by verb, RSS.
B5 the fleet spread over 3 clusters: B1 (gitward only) and B3.

B7 the same at 10,000 apps of one Deployment and one ConfigMap each: cold sync against kubectl, then B2,
   B3 and B4 on that fleet.

B2-B4 run on the process B1 left running at the largest N, for gitward and for Argo CD; B5 starts its
own clusters and process. Every cluster and process started here is stopped here, also on errors.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from devtools import localcluster, toolchain
from devtools.gitservers import WorkRepo, git

from bench import peers, workload
from bench.gitwardproc import GitwardProcess
from bench.kube import Kube
from bench.peers import Budget

READY_TIMEOUT = 1800.0
B7_READY_TIMEOUT = 7200.0
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
    flux: bool = True  # Flux with its default settings (wait on)
    flux_tuned: bool = True  # Flux on gitward's budget, wait off and wait on
    flux_timeout: float = 900.0  # Flux's Kustomizations not all Ready by then: the count is reported
    argocd: bool = True  # Argo CD on gitward's budget (B1, and B2-B4 at --apps)
    argocd_timeout: float = 1800.0
    concurrency: int = 8  # the budget of every tuned contender: apps at once, client QPS and burst
    qps: float = 500.0
    burst: int = 1000
    b7_apps: int = 10_000
    b7_peers: bool = False  # B7 with the tuned peers too (hours at 10,000 apps)
    apiserver_args: list[str] = field(default_factory=list)
    controller_args: list[str] = field(default_factory=list)  # extra kube-controller-manager flags
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
    b7: dict[str, Any] = field(default_factory=dict)  # rows (cold sync) and b2/b3/b4 at 10,000 apps
    peers: dict[str, dict[str, Any]] = field(default_factory=dict)  # contender -> {"b2", "b3", "b4"}
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


def budget(opts: Options) -> Budget:
    return Budget(concurrency=opts.concurrency, qps=opts.qps, burst=opts.burst)


# -- clusters -------------------------------------------------------------------------------------


@contextmanager
def clusters(
    names: list[str], apiserver_args: list[str], *, pods: int = 0, controller_args: list[str] | None = None
) -> Iterator[list[localcluster.LocalCluster]]:
    """Fresh local clusters, stopped on exit; with room for ``pods`` pods (more kwok nodes if needed).
    ``controller_args`` go to kube-controller-manager: its default client limit (20 requests per
    second) is what bounds how fast Deployments become available, for every contender alike."""
    started: list[str] = []
    try:
        out = []
        for name in names:
            started.append(name)
            cluster = localcluster.up(
                name, apiserver_args=[*CLUSTER_ARGS, *apiserver_args], controller_args=controller_args
            )
            add_pod_room(cluster.kubeconfig, pods)
            out.append(cluster)
        yield out
    finally:
        for name in started:
            localcluster.down(name)


def own_cluster(
    opts: Options, tag: str, *, pods: int
) -> AbstractContextManager[list[localcluster.LocalCluster]]:
    """One fresh cluster for a contender, with the run's flags for every cluster."""
    return clusters(
        [_cluster_name(tag)], opts.apiserver_args, pods=pods, controller_args=opts.controller_args
    )


NODE_PODS = 1000  # pods one kwok node of the local clusters takes
BASE_NODES = 3  # kwok nodes a local cluster starts with


def extra_nodes(pods: int) -> list[dict[str, Any]]:
    """More kwok nodes, like the local cluster's own, so ``pods`` pods (and some to spare) fit: the
    cluster starts with room for 3,000, too few for B7's 10,000 Deployments."""
    wanted = -(-(pods + NODE_PODS // 2) // NODE_PODS)  # ceiling, with half a node to spare
    capacity = {"cpu": "64", "memory": "256Gi", "pods": str(NODE_PODS)}
    return [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": f"kwok-bench-node-{index}",
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "type": "kwok",
                    "kubernetes.io/hostname": f"kwok-bench-node-{index}",
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            },
            "status": {"allocatable": capacity, "capacity": dict(capacity)},
        }
        for index in range(max(0, wanted - BASE_NODES))
    ]


def add_pod_room(kubeconfig: Path, pods: int) -> None:
    nodes = extra_nodes(pods)
    if nodes:
        import yaml

        toolchain.kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(nodes))


def _cluster_name(tag: str) -> str:
    return f"bench-{tag}-{os.getpid()}"


# -- B1 baselines ---------------------------------------------------------------------------------

# klog's request lines: structured (``"Response" verb="PATCH" url="https://..."``) or the older
# ``] PATCH https://...`` form
_REQUEST_LINE = re.compile(r'(?:"Response" verb="|\] )(GET|POST|PATCH|PUT|DELETE)"? (?:url=")?https?://')


def kubectl_cold(
    opts: Options,
    apps: int,
    work: Path,
    kinds: tuple[str, ...] = workload.KINDS,
    apiserver_args: list[str] | None = None,
    timeout: float = READY_TIMEOUT,
) -> dict[str, Any]:
    """One ``kubectl apply --server-side`` of every object; then until every Deployment is available."""
    load_before = load_average()
    args = opts.apiserver_args if apiserver_args is None else apiserver_args
    with clusters(
        [_cluster_name(f"kubectl-{apps}")], args, pods=apps, controller_args=opts.controller_args
    ) as (cluster,):
        file = work / f"kubectl-{apps}.yaml"
        file.write_text(workload.kubectl_manifest(apps, prefix="kc", kinds=kinds))
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
            available = _wait_available(kube, "kc-", apps, start, timeout)
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
        "load": {"before": load_before, "after": load_average()},
    }


def _wait_available(
    kube: Kube, prefix: str, apps: int, start: float, timeout: float = READY_TIMEOUT
) -> float:
    deadline = time.perf_counter() + timeout
    while kube.count_available_deployments(prefix) < apps:
        if time.perf_counter() > deadline:
            raise RuntimeError("kubectl baseline: Deployments not available in time")
        time.sleep(0.5)
    return time.perf_counter() - start


def flux_runs(opts: Options) -> list[tuple[Any, bool]]:
    """The Flux runs of one N: (tuning, wait) pairs. Default settings with ``spec.wait`` (the run of
    earlier reports), then on gitward's budget without and with ``spec.wait`` (the "applied" and
    "ready" figures)."""
    from devtools import flux

    runs: list[tuple[Any, bool]] = []
    if opts.flux:
        runs.append((flux.Tuning(), True))
    if opts.flux_tuned:
        tuning = flux.tuned(concurrency=opts.concurrency, qps=opts.qps, burst=opts.burst)
        runs += [(tuning, False), (tuning, True)]
    return runs


def flux_cold(
    opts: Options,
    apps: int,
    work: Path,
    repo: WorkRepo,
    tuning: Any,
    *,
    wait: bool,
    apiserver_args: list[str],
) -> dict[str, Any]:
    label = "flux" if tuning.label == "default settings" else f"flux ({tuning.label})"
    tag = f"flux-{tuning.label.split()[0]}-{'ready' if wait else 'applied'}-{apps}"
    try:
        with (
            peers.served(repo, work / f"{tag}-git") as source,
            clusters(
                [_cluster_name(tag)], apiserver_args, pods=apps, controller_args=opts.controller_args
            ) as (cluster,),
        ):
            return asyncio.run(
                peers.flux_cold(
                    cluster.kubeconfig,
                    source.url,
                    apps,
                    work / tag,
                    tuning=tuning,
                    wait=wait,
                    within=opts.flux_timeout,
                )
            )
    except Exception as err:  # one contender's failure is a row; the others still run
        return peers.failed(label, apps, err)


# -- gitward --------------------------------------------------------------------------------------


@dataclass
class Fleet:
    """A running gitward process over a synced fleet, and what a latency benchmark needs to drive it."""

    process: GitwardProcess
    repo: WorkRepo
    repo_url: str
    apps: int
    kubes: list[Kube]
    contender: str = "gitward"
    kinds: tuple[str, ...] = workload.KINDS

    def kube_of(self, index: int) -> Kube:
        return self.kubes[index % len(self.kubes)]

    def namespace(self, index: int) -> str:
        return workload.namespace(index)

    def announce(self, index: int) -> float:
        """After a push: the signed webhook (every app of the repository is looked at, not only
        ``index``'s)."""
        del index
        return _webhook(self)

    def settle(self, quiet: float, timeout: float) -> None:
        self.process.wait_idle(quiet=quiet, timeout=timeout)

    def counters(self) -> dict[str, float]:
        metrics = self.process.metrics()
        return {"renders": metrics.render_misses, "fetches": metrics.fetches}


def gitward_args(opts: Options) -> list[str]:
    """``gitward run`` flags for the budget; none when it is gitward's default (so a ``--gitward-src``
    checkout older than the flags still runs)."""
    if (opts.concurrency, opts.qps, opts.burst) == (8, 500.0, 1000):
        return []
    return [f"--concurrency={opts.concurrency}", f"--kube-qps={opts.qps:g}", f"--kube-burst={opts.burst}"]


@contextmanager
def gitward_fleet(
    opts: Options,
    apps: int,
    work: Path,
    repo: WorkRepo,
    cluster_list: list[localcluster.LocalCluster],
    repo_url: str | None = None,
    *,
    kinds: tuple[str, ...] = workload.KINDS,
) -> Iterator[Fleet]:
    """``gitward run`` over ``apps`` apps of ``repo`` (read from ``repo_url``, its ``file://`` URL when
    None) on ``cluster_list``; the caller times the cold sync."""
    secret = work / "webhook.secret"
    secret.write_text(workload.SECRET)
    config = work / "config" / "gitward.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    repo_url = repo_url or repo.bare.as_uri()
    cluster_map = {f"c{i}": c.kubeconfig for i, c in enumerate(cluster_list)}
    config.write_text(
        workload.gitward_config(
            clusters=cluster_map, repo_url=repo_url, apps=apps, interval=opts.interval, secret_file=secret
        )
    )
    profile = opts.profile / f"gitward-{apps}-apps-{len(cluster_list)}-clusters.txt" if opts.profile else None
    process = GitwardProcess(
        root=work / "gitward",
        config=config.parent,
        source=opts.source,
        profile=profile,
        extra_args=gitward_args(opts),
    )
    kubes = [Kube(c.kubeconfig) for c in cluster_list]
    process.start()
    try:
        yield Fleet(process=process, repo=repo, repo_url=repo_url, apps=apps, kubes=kubes, kinds=kinds)
    finally:
        process.stop()
        for kube in kubes:
            kube.close()


def gitward_cold(fleet: Fleet, contender: str = "gitward", timeout: float = READY_TIMEOUT) -> dict[str, Any]:
    process = fleet.process
    names = [workload.app_name(i) for i in range(fleet.apps)]
    synced, ready = process.wait_all_ready(names, timeout=timeout, poll=0.5)
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
        "load": {"after": load_average()},
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


def change_latency(fleet: Any, count: int) -> dict[str, Any]:
    """B2 for any contender ``fleet`` (gitward's ``Fleet``, ``peers.ArgoFleet``): commit, push,
    announce, and poll the cluster until the ConfigMap holds the commit's value."""
    fleet.settle(3.0, 30.0)
    samples: list[dict[str, Any]] = []
    for k, index in enumerate(_spread(count, fleet.apps)):
        revision = 1000 + k
        name, ns = workload.app_name(index), fleet.namespace(index)
        path = f"{workload.app_path(index)}/objects.yaml"
        fleet.repo.write({path: workload.app_file(index, revision=revision, kinds=fleet.kinds)})
        git("add", "-A", cwd=fleet.repo.work)
        git("commit", "-q", "-m", f"bench change {k}", cwd=fleet.repo.work)
        before = fleet.counters()
        start = time.perf_counter()
        fleet.repo.push()
        pushed = time.perf_counter()
        webhook = fleet.announce(index)
        want = str(revision)
        seen = fleet.kube_of(index).wait_for(
            "ConfigMap", ns, name, lambda o, w=want: o.get("data", {}).get("revision") == w, LATENCY_TIMEOUT
        )
        # With a short resync interval a large fleet is never idle: wait a little, not for silence.
        fleet.settle(1.0, 3.0)
        after = fleet.counters()
        sample = {"app": name, "latency": seen - start, "push": pushed - start, "webhook": webhook}
        sample.update({key: after.get(key, 0.0) - value for key, value in before.items()})
        samples.append(sample)
    latencies = [s["latency"] for s in samples]
    out = {
        "contender": fleet.contender,
        "apps": fleet.apps,
        "clusters": len(fleet.kubes),
        "samples": samples,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
    }
    for key in ("renders", "fetches", "ls_remotes"):
        if key in samples[0]:
            out[f"{key}_per_commit"] = sorted({s[key] for s in samples})
    return out


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


def drift_latency(fleet: Any, count: int) -> dict[str, Any]:
    """B3 for any contender ``fleet``: patch a managed object out of band, poll until it is healed."""
    fleet.settle(3.0, 30.0)
    samples: list[dict[str, Any]] = []
    for k, index in enumerate(_spread(count, fleet.apps)[::-1]):
        name, ns = workload.app_name(index), fleet.namespace(index)
        kind, patch, healed = _drift(index, k)
        kube = fleet.kube_of(index)
        start = time.perf_counter()
        kube.patch(kind, ns, name, patch)
        seen = kube.wait_for(kind, ns, name, healed, LATENCY_TIMEOUT)
        samples.append({"app": name, "kind": kind, "latency": seen - start})
        fleet.settle(1.0, 3.0)
    latencies = [s["latency"] for s in samples]
    return {
        "contender": fleet.contender,
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
        "contender": fleet.contender,
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


def run(names: set[str], opts: Options, log: Callable[[str], None]) -> Results:
    results = Results(options={k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()})

    def save() -> None:
        if opts.checkpoint is not None:
            opts.checkpoint.write_text(results.to_json())

    if opts.apiserver_args:
        results.notes.append("kube-apiserver flags: " + " ".join(opts.apiserver_args))
    if opts.controller_args:
        results.notes.append("kube-controller-manager flags: " + " ".join(opts.controller_args))
    refused = _build_peers(names, opts, log)
    results.notes += [f"{name} not run: {why}" for name, why in refused.items()]
    with tempfile.TemporaryDirectory(prefix="gitward-bench-") as tmp:
        work = Path(tmp)
        sizes = sorted(set(opts.sizes if "b1" in names else []) | {opts.apps})
        wants_fleet = names & {"b1", "b2", "b3", "b4"}
        for apps in sizes if wants_fleet else []:
            size_dir = work / f"n{apps}"
            repo = workload.create_fleet_repo(size_dir / "git", apps)
            if "b1" in names:
                log(f"B1 kubectl, {apps} apps (load {load_average()})")
                results.b1.append(kubectl_cold(opts, apps, size_dir))
                save()
                results.b1 += _flux_rows(opts, apps, size_dir, repo, refused, log, save)
            keep_running = apps == opts.apps and bool(names & {"b2", "b3", "b4"})
            if opts.argocd and ("b1" in names or keep_running):
                _argocd(names, opts, apps, size_dir, repo, refused, results, log, save, keep_running)
            _gitward(names, opts, apps, size_dir, repo, results, log, save, keep_running)
        if "b5" in names:
            repo = workload.create_fleet_repo(work / "b5" / "git", opts.apps)
            names3 = [_cluster_name(f"b5-{i}") for i in range(3)]
            log(f"B5 {opts.apps} apps over 3 clusters (load {load_average()})")
            with (
                clusters(names3, opts.apiserver_args, controller_args=opts.controller_args) as cluster_list,
                peers.served(repo, work / "b5" / "served") as source,
                gitward_fleet(opts, opts.apps, work / "b5", source.repo, cluster_list, source.url) as fleet,
            ):
                cold = gitward_cold(fleet, "gitward (3 clusters)")
                drift = drift_latency(fleet, opts.drifts)
                results.b5 = {"b1": cold, "b3": drift}
                save()
        if "b7" in names:
            b7(opts, work / "b7", results, refused, log, save)
    return results


def _build_peers(names: set[str], opts: Options, log: Callable[[str], None]) -> dict[str, str]:
    """Build Flux and Argo CD when a benchmark that runs them was asked for (only ``./dev bench`` builds
    them); returns the peers that cannot run and why."""
    wanted = []
    b7_peers = "b7" in names and opts.b7_peers
    if ("b1" in names or b7_peers) and (opts.flux or opts.flux_tuned):
        wanted.append("flux")
    if opts.argocd and (names & {"b1", "b2", "b3", "b4"} or b7_peers):
        wanted.append("argocd")
    return peers.ensure_built(wanted, log)


def _flux_rows(
    opts: Options,
    apps: int,
    work: Path,
    repo: WorkRepo,
    refused: dict[str, str],
    log: Callable[[str], None],
    save: Callable[[], None],
    *,
    kinds: tuple[str, ...] = workload.KINDS,
    apiserver_args: list[str] | None = None,
) -> list[dict[str, Any]]:
    del kinds  # Flux reads the objects from the repository, whatever they are
    if "flux" in refused:
        return [peers.skipped("flux", apps, refused["flux"])] if opts.flux or opts.flux_tuned else []
    rows = []
    for tuning, wait in flux_runs(opts):
        log(f"flux ({tuning.label}, wait {'on' if wait else 'off'}), {apps} apps (load {load_average()})")
        args = opts.apiserver_args if apiserver_args is None else apiserver_args
        rows.append(flux_cold(opts, apps, work, repo, tuning, wait=wait, apiserver_args=args))
        save()
    return rows


def _argocd(
    names: set[str],
    opts: Options,
    apps: int,
    work: Path,
    repo: WorkRepo,
    refused: dict[str, str],
    results: Results,
    log: Callable[[str], None],
    save: Callable[[], None],
    keep_running: bool,
    *,
    rows: list[dict[str, Any]] | None = None,
    peer_results: dict[str, dict[str, Any]] | None = None,
    kinds: tuple[str, ...] = workload.KINDS,
    apiserver_args: list[str] | None = None,
    timeout: float | None = None,
) -> None:
    """Argo CD's cold sync of ``apps`` (a B1 row), and B2-B4 on the same processes when
    ``keep_running``; a failure becomes a row saying so, and the run goes on."""
    from devtools import argocd

    rows = results.b1 if rows is None else rows
    peer_results = results.peers.setdefault("argocd", {}) if peer_results is None else peer_results
    if "argocd" in refused:
        rows.append(peers.skipped("argocd", apps, refused["argocd"]))
        return
    tuning = argocd.tuned(
        apps=apps, concurrency=opts.concurrency, qps=opts.qps, burst=opts.burst, resync=opts.interval
    )
    args = opts.apiserver_args if apiserver_args is None else apiserver_args
    log(f"Argo CD ({tuning.label}), {apps} apps (load {load_average()})")
    try:
        with (
            peers.served(repo, work / "argocd-git") as source,
            clusters(
                [_cluster_name(f"argocd-{apps}")], args, pods=apps, controller_args=opts.controller_args
            ) as (cluster,),
            peers.argocd_fleet(
                cluster, source, apps, work / "argocd", tuning, timeout or opts.argocd_timeout, kinds=kinds
            ) as fleet,
        ):
            rows.append(fleet.cold)
            save()
            if not keep_running or fleet.cold.get("ready_seconds") is None:
                return
            _latencies(names, opts, fleet, peer_results, log, save)
    except Exception as err:  # one contender's failure is a row; the others still run
        log(f"Argo CD failed: {err}")
        if not any(r.get("contender") == "argocd" and r.get("apps") == apps for r in rows):
            rows.append(peers.failed("argocd", apps, err))
        else:
            peer_results["error"] = str(err)[:500]
        save()


def _latencies(
    names: set[str],
    opts: Options,
    fleet: Any,
    out: dict[str, Any],
    log: Callable[[str], None],
    save: Callable[[], None],
) -> None:
    """B2, B3 and B4 (those in ``names``) on a running fleet of any contender, into ``out``."""
    if "b2" in names:
        log(f"B2 {fleet.contender}: change latency, {opts.changes} commits (load {load_average()})")
        out["b2"] = change_latency(fleet, opts.changes)
        save()
    if "b3" in names:
        log(f"B3 {fleet.contender}: drift latency, {opts.drifts} patches (load {load_average()})")
        out["b3"] = drift_latency(fleet, opts.drifts)
        save()
    if "b4" in names:
        log(f"B4 {fleet.contender}: idle for {opts.idle_seconds:.0f}s (load {load_average()})")
        if isinstance(fleet, Fleet):
            out["b4"] = idle_cost(fleet, opts.idle_seconds, opts.interval)
            out["b4"]["load"] = load_average()
        else:
            out["b4"] = peers.argocd_idle(fleet, opts.idle_seconds, opts.interval)
        save()


def _gitward(
    names: set[str],
    opts: Options,
    apps: int,
    work: Path,
    repo: WorkRepo,
    results: Results,
    log: Callable[[str], None],
    save: Callable[[], None],
    keep_running: bool,
) -> None:
    with (
        peers.served(repo, work / "gitward-git") as source,
        own_cluster(opts, f"gitward-{apps}", pods=apps) as cluster_list,
    ):
        log(f"B1 gitward, {apps} apps (load {load_average()})")
        load_before = load_average()
        with gitward_fleet(opts, apps, work, source.repo, cluster_list, source.url) as fleet:
            row = gitward_cold(fleet)  # every fleet start is a cold sync
            row["load"]["before"] = load_before
            results.b1.append(row)
            save()
            if keep_running:
                gitward_results: dict[str, Any] = {}
                _latencies(names, opts, fleet, gitward_results, log, save)
                results.b2 = gitward_results.get("b2", results.b2)
                results.b3 = gitward_results.get("b3", results.b3)
                results.b4 = gitward_results.get("b4", results.b4)
                save()


# -- B7: 10,000 apps ------------------------------------------------------------------------------


def b7(
    opts: Options,
    work: Path,
    results: Results,
    refused: dict[str, str],
    log: Callable[[str], None],
    save: Callable[[], None],
) -> None:
    """``opts.b7_apps`` apps of one Deployment and one ConfigMap each: kubectl's cold sync, gitward's
    cold sync then B2, B3 and B4 on it; with ``opts.b7_peers`` also tuned Flux (wait off and on) and
    Argo CD (cold sync, B2-B4)."""
    apps, kinds = opts.b7_apps, workload.B7_KINDS
    results.b7 = {"apps": apps, "kinds": list(kinds), "rows": [], "peers": {}}
    rows: list[dict[str, Any]] = results.b7["rows"]
    repo = workload.create_fleet_repo(work / "git", apps, kinds=kinds)
    log(f"B7 kubectl, {apps} apps (load {load_average()})")
    rows.append(kubectl_cold(opts, apps, work, kinds=kinds, timeout=B7_READY_TIMEOUT))
    save()
    names = {"b2", "b3", "b4"}
    if opts.b7_peers:
        flux_opts = dataclasses.replace(opts, flux=False)
        rows += _flux_rows(flux_opts, apps, work, repo, refused, log, save, kinds=kinds)
        if opts.argocd:
            peer_results = results.b7["peers"].setdefault("argocd", {})
            _argocd(
                names, opts, apps, work, repo, refused, results, log, save, True,
                rows=rows, peer_results=peer_results, kinds=kinds, timeout=B7_READY_TIMEOUT,
            )  # fmt: skip
    with (
        peers.served(repo, work / "gitward-git") as source,
        own_cluster(opts, f"b7-gitward-{apps}", pods=apps) as cluster_list,
    ):
        log(f"B7 gitward, {apps} apps (load {load_average()})")
        load_before = load_average()
        with gitward_fleet(opts, apps, work, source.repo, cluster_list, source.url, kinds=kinds) as fleet:
            row = gitward_cold(fleet, timeout=B7_READY_TIMEOUT)
            row["load"]["before"] = load_before
            rows.append(row)
            save()
            _latencies(names, opts, fleet, results.b7, log, save)
