"""B6: N apps (3,000 by default) over three replicas sharing PostgreSQL, against one replica on SQLite.

Both contenders get the B1 fleet (``workload``: a Deployment, a Service, a ConfigMap and a
ServiceAccount per app, each in its own namespace, one Git repository) on a fresh local cluster:

- **one replica**: ``gitward run`` on its SQLite file, exactly B1's gitward (``bench_scale``);
- **three replicas**: three ``gitward run --ha`` processes started together, one PostgreSQL server
  (``devtools/postgres.py``), Leases in the same cluster, the default lease duration unless
  ``--lease`` says otherwise.

Measured: the cold sync (first process start to every app Synced and Healthy, from each replica's
``gitward_apps``, which counts the apps it owns, summed); RSS and CPU of each process at that point;
then one replica is killed with SIGKILL and the takeover is timed twice: until the survivors own
every app (``gitward_replica_apps`` summed), and until every app is again Synced and Healthy as its
new owner saw it with no queue left (the taken apps had their first pass). The three replicas wait a
lease duration before taking any app (their tenure settles), and a killed replica's apps move once
its Lease went unrenewed for a lease duration: both are in the figures, on purpose.

Every cluster, server and process started here is stopped here, also on errors.
"""

from __future__ import annotations

import os
import platform
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools import toolchain
from devtools.postgres import PostgresServer

from bench import docsection, workload
from bench.bench_scale import READY_TIMEOUT, Options, _cluster_name, clusters, gitward_cold, gitward_fleet
from bench.gitwardproc import GitwardProcess

LEASE_NAMESPACE = "gitward-bench"
DOC = docsection.DOC


@dataclass
class B6Options:
    apps: int = 3000
    replicas: int = 3
    lease: float = 15.0
    interval: str = "60s"
    apiserver_args: list[str] = field(default_factory=list)
    controller_args: list[str] = field(default_factory=list)
    source: Path | None = None
    profile: Path | None = None  # a folder for py-spy profiles of every gitward process (skews its CPU)


def run(opts: B6Options, log: Callable[[str], None]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "apps": opts.apps,
        "replicas": opts.replicas,
        "lease": opts.lease,
        "machine": _machine(),
        "load_before": os.getloadavg(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    scale = Options(
        sizes=[opts.apps],
        apps=opts.apps,
        interval=opts.interval,
        apiserver_args=opts.apiserver_args,
        controller_args=opts.controller_args,
        source=opts.source,
        profile=opts.profile,
    )
    with tempfile.TemporaryDirectory(prefix="gitward-b6-") as tmp:
        work = Path(tmp)
        repo = workload.create_fleet_repo(work / "git", opts.apps)
        for folder in ("one", "ha"):
            (work / folder).mkdir()
        log(f"B6 one replica on SQLite, {opts.apps} apps (load {os.getloadavg()[0]:.2f})")
        with (
            clusters(
                [_cluster_name("b6-one")], opts.apiserver_args, controller_args=opts.controller_args
            ) as cluster_list,
            gitward_fleet(scale, opts.apps, work / "one", repo, cluster_list) as fleet,
        ):
            result["one"] = gitward_cold(fleet, "gitward, 1 replica, SQLite")
        log(f"B6 {opts.replicas} replicas on PostgreSQL, {opts.apps} apps (load {os.getloadavg()[0]:.2f})")
        with (
            clusters([_cluster_name("b6-ha")], opts.apiserver_args, controller_args=opts.controller_args) as (
                cluster,
            ),
            PostgresServer() as postgres,
        ):
            result["several"] = _replicas(
                opts, work / "ha", repo.bare.as_uri(), cluster.kubeconfig, postgres, log
            )
    result["load_after"] = os.getloadavg()
    return result


def _replicas(
    opts: B6Options,
    work: Path,
    repo_url: str,
    kubeconfig: Path,
    postgres: PostgresServer,
    log: Callable[[str], None],
) -> dict[str, Any]:
    toolchain.kubectl(kubeconfig, "create", "namespace", LEASE_NAMESPACE)
    state_url = postgres.create_database("gitward_b6")
    config = work / "config" / "gitward.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    secret = work / "webhook.secret"
    secret.write_text(workload.SECRET)
    config.write_text(
        workload.gitward_config(
            clusters={"c0": kubeconfig},
            repo_url=repo_url,
            apps=opts.apps,
            interval=opts.interval,
            secret_file=secret,
        )
    )
    processes = [
        GitwardProcess(
            root=work / f"replica-{i}",
            config=config.parent,
            source=opts.source,
            state_url=state_url,
            profile=opts.profile / f"gitward-b6-replica-{i}.txt" if opts.profile else None,
            extra_args=[
                *("--ha", "--replica-id", f"bench-{i}", "--lease-namespace", LEASE_NAMESPACE),
                *("--lease-duration", str(opts.lease), "--kubeconfig", str(kubeconfig)),
            ],
        )
        for i in range(opts.replicas)
    ]
    try:
        for process in processes:
            process.start()
        started = min(p.started_at for p in processes)
        ready = _until(lambda: _ready(processes) >= opts.apps, READY_TIMEOUT, processes) - started
        per_replica = [_usage(p) for p in processes]
        owned = [int(p.metrics().replica_apps) for p in processes]
        log(f"B6 all ready after {ready:.1f} s ({owned} apps); SIGKILL of one replica")
        victim, survivors = processes[-1], processes[:-1]
        victim_apps = owned[-1]
        assert victim.process is not None
        killed = time.perf_counter()
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=30)
        taken = _until(lambda: sum(p.metrics().replica_apps for p in survivors) >= opts.apps, 600, survivors)
        settled = _until(lambda: _ready(survivors) >= opts.apps and _idle(survivors), 900, survivors)
        after = [_usage(p) for p in survivors]
        return {
            "cold_seconds": ready,
            "owned": owned,
            "usage": per_replica,
            "takeover": {
                "apps": victim_apps,
                "taken_seconds": taken - killed,
                "settled_seconds": settled - killed,
                "usage_after": after,
            },
        }
    finally:
        for process in processes:
            process.stop()


def _ready(processes: list[GitwardProcess]) -> int:
    """Apps Synced and Healthy, summed over the replicas (each counts the apps it owns)."""
    return sum(int(p.metrics().apps.get(("Synced", "Healthy"), 0)) for p in processes)


def _idle(processes: list[GitwardProcess]) -> bool:
    return all(p.metrics().queue_depth == 0 for p in processes)


def _until(check: Callable[[], bool], timeout: float, processes: list[GitwardProcess]) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        for process in processes:
            process.check_alive()
        if check():
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not reached in {timeout:.0f}s; read {processes[0].log}")
        time.sleep(0.5)


def _usage(process: GitwardProcess) -> dict[str, Any]:
    """CPU and memory of one replica, and its counters: what it rendered and asked the cluster."""
    own, children = process.cpu_split()
    rss, peak = process.memory()
    metrics = process.metrics()
    return {
        "cpu_seconds": own + children,
        "rss_mb": rss,
        "peak_rss_mb": peak,
        "renders": int(metrics.render_misses),
        "fetches": int(metrics.fetches),
        "requests": {verb: int(n) for verb, n in metrics.requests.items()},
    }


def _machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def report(result: dict[str, Any], command: str) -> str:
    one, several = result["one"], result["several"]
    takeover = several["takeover"]
    rss = " / ".join(f"{u['rss_mb']:.0f}" for u in several["usage"])
    peaks = " / ".join(f"{u['peak_rss_mb']:.0f}" for u in several["usage"])
    cpu = " / ".join(f"{u['cpu_seconds']:.1f}" for u in several["usage"])
    after = " / ".join(f"{u['rss_mb']:.0f}" for u in takeover["usage_after"])
    n = result["replicas"]
    return "\n".join(
        [
            f"### B6 {result['apps']} apps over {n} replicas sharing PostgreSQL, against 1 replica on SQLite",
            "",
            f"Machine: {result['machine']}; local cluster v1.36.3 (etcd, kube-apiserver, controller-manager, "
            "scheduler, kwok nodes), a fresh one per contender; PostgreSQL from Debian on loopback.",
            "",
            f"Command: `{command}` ({result['when']}). Load average {result['load_before'][0]:.2f} before "
            f"and {result['load_after'][0]:.2f} after the run.",
            "",
            f"The B1 fleet. {n} replicas: `gitward run --ha` started together, lease duration "
            f"{result['lease']:g} s; they take apps only once their tenure settled (a lease duration after "
            "joining), which the cold sync includes. Takeover: one replica killed with SIGKILL; its apps "
            "move once its Lease went unrenewed for a lease duration, then each has a first pass by its "
            "new owner.",
            "",
            "| measure | 1 replica, SQLite | " + f"{n} replicas, PostgreSQL |",
            "|---|---:|---:|",
            f"| cold sync to all Synced and Healthy | {one['ready_seconds']:.1f} s "
            f"| {several['cold_seconds']:.1f} s |",
            f"| apps per replica | {result['apps']} | {' / '.join(map(str, several['owned']))} |",
            f"| RSS at the end of the cold sync (MB) | {one['peak_rss_mb']:.0f} (peak) "
            f"| {rss} (peak {peaks}) |",
            f"| CPU for the cold sync (s) | {one['cpu_seconds']:.1f} | {cpu} |",
            f"| after SIGKILL of one replica: its {takeover['apps']} apps owned by the others | | "
            f"{takeover['taken_seconds']:.1f} s |",
            f"| ... and every app Synced and Healthy again, queues empty | "
            f"| {takeover['settled_seconds']:.1f} s |",
            f"| RSS of the survivors after the takeover (MB) | | {after} |",
            *_counter_rows(one, several["usage"]),
            *(
                []
                if not (IMAGES / PLOT).exists()
                else ["", f"![B6: 1 replica against {n}](benchmarks/{PLOT})"]
            ),
        ]
    )


def _counter_rows(one: dict[str, Any], usage: list[dict[str, Any]]) -> list[str]:
    """Renders and applies per replica (runs before these were recorded have none)."""
    if not all("renders" in u for u in usage):
        return []
    applies = " / ".join(str(u["requests"].get("apply", 0)) for u in usage)
    renders = " / ".join(str(u["renders"]) for u in usage)
    return [
        f"| renders during the cold sync | {one['renders']} | {renders} |",
        f"| server-side applies during the cold sync | {one['requests'].get('apply', 0)} | {applies} |",
    ]


IMAGES = DOC.parent / "benchmarks"
PLOT = "b6-replicas.png"


def plot(result: dict[str, Any]) -> Path:
    """Three panels, 1 replica against the replicas: time to all ready (and to owned again after the
    SIGKILL), CPU per process, peak RSS per process."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    one, several = result["one"], result["several"]
    n = result["replicas"]
    names = ["1 replica"] + [f"replica {i + 1}" for i in range(n)]
    fig, (times, cpu, rss) = plt.subplots(1, 3, figsize=(11, 3.8))
    takeover = several["takeover"]
    bars = {
        "cold sync, 1 replica": one["ready_seconds"],
        f"cold sync, {n} replicas": several["cold_seconds"],
        "SIGKILL to owned": takeover["taken_seconds"],
        "SIGKILL to all ready": takeover["settled_seconds"],
    }
    times.barh(list(bars), list(bars.values()), color=["tab:blue", "tab:green", "tab:red", "tab:red"])
    times.set_xlabel("seconds")
    times.invert_yaxis()
    colors = ["tab:blue"] + ["tab:green"] * n
    cpu.bar(names, [one["cpu_seconds"]] + [u["cpu_seconds"] for u in several["usage"]], color=colors)
    cpu.set_ylabel("CPU seconds, cold sync")
    rss.bar(names, [one["peak_rss_mb"]] + [u["peak_rss_mb"] for u in several["usage"]], color=colors)
    rss.set_ylabel("peak RSS (MB)")
    for ax in (cpu, rss):
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for ax in (times, cpu, rss):
        ax.grid(alpha=0.3, axis="x" if ax is times else "y")
    fig.suptitle(f"B6: {result['apps']} apps, 1 replica on SQLite against {n} replicas on PostgreSQL")
    fig.tight_layout()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / PLOT
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the ``b6`` section of docs/benchmarks.md, or put it after the ``b5`` section."""
    docsection.write_section("b6", section, after="b5", doc=doc)
