"""``./dev bench streams``: 1,000 open event streams against the real engine's reconciles.

One ``gitward run`` over N apps on a fresh local cluster (the fleet of B1-B3: every app synced and
healthy first), measured in two modes, one after the other, on the same process:

(a) no stream open;
(b) 1,020 streams open (``bench/streamclient.py`` in its own process, so its CPU is its own): 900 app
    pages (``?app=``, one app each), 100 dashboards (every app), 20 clients that never read.

Each mode: ``--drifts`` out-of-band patches healed by self-heal (the B3 measure: patch to healed, p50
and p99), then a burst: one Git push changing ``--burst`` apps' ConfigMaps, announced by the webhook,
timed until every one of them holds the new value in the cluster (a LIST every 0.25 s), with the
reconciles the engine counted in that time. Per mode: gitward's CPU seconds (own and children) and
RSS, the load average at the end; for (b) also the events the dashboards received and their delay,
and the streams still open at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.gitservers import git

from bench import bench_scale, docsection, workload
from bench.bench_scale import Fleet, Options

DOC = docsection.DOC


def burst(fleet: Fleet, count: int, revision: int) -> dict[str, Any]:
    """One commit changing ``count`` apps, pushed and announced; until all are in the cluster."""
    process = fleet.process
    process.wait_idle(quiet=2.0, timeout=60.0)
    indexes = sorted(set(bench_scale._spread(count, fleet.apps)))
    fleet.repo.write(
        {f"{workload.app_path(i)}/objects.yaml": workload.app_file(i, revision=revision) for i in indexes}
    )
    git("add", "-A", cwd=fleet.repo.work)
    git("commit", "-q", "-m", f"bench burst {revision}", cwd=fleet.repo.work)
    before = process.metrics()
    want = {workload.app_name(i) for i in indexes}
    start = time.perf_counter()
    fleet.repo.push()
    bench_scale._webhook(fleet)
    kube = fleet.kubes[0]
    while True:
        response = kube.http.get("/api/v1/configmaps", params={"labelSelector": "bench=scale"})
        response.raise_for_status()
        done = {
            item["metadata"]["name"]
            for item in response.json()["items"]
            if item.get("data", {}).get("revision") == str(revision)
        }
        elapsed = time.perf_counter() - start
        if want <= done:
            break
        if elapsed > 600:
            raise RuntimeError(f"burst: {len(want - done)} apps not changed after 600 s")
        time.sleep(0.25)
    delta = process.metrics().minus(before)
    reconciles = sum(delta.reconciles.values())
    return {
        "apps": len(indexes),
        "seconds": elapsed,
        "reconciles": int(reconciles),
        "reconciles_per_s": reconciles / elapsed,
        "apps_per_s": len(indexes) / elapsed,
        "writes": int(
            sum(v for k, v in delta.requests.items() if k in ("apply", "dryrun", "delete", "other"))
        ),
    }


def measure(fleet: Fleet, drifts: int, burst_apps: int, revision: int) -> dict[str, Any]:
    process = fleet.process
    process.wait_idle(quiet=3.0, timeout=120.0)
    cpu_before = process.cpu_split()
    start = time.perf_counter()
    drift = bench_scale.drift_latency(fleet, drifts)
    changed = burst(fleet, burst_apps, revision)
    elapsed = time.perf_counter() - start
    own, children = (a - b for a, b in zip(process.cpu_split(), cpu_before, strict=True))
    rss, peak = process.memory()
    return {
        "drift": {k: drift[k] for k in ("p50", "p99", "max")} | {"samples": len(drift["samples"])},
        "burst": changed,
        "seconds": elapsed,
        "cpu_seconds": own + children,
        "cpu_children_seconds": children,
        "rss_mb": rss,
        "peak_rss_mb": peak,
        "load": os.getloadavg(),
    }


def _start_clients(
    fleet: Fleet, work: Path, app_pages: int, dashboards: int, stalled: int
) -> subprocess.Popen[str]:
    token = fleet.process.state.with_name(f"{fleet.process.state.stem}.token").read_text().strip()
    env = {**os.environ, "GITWARD_BENCH_TOKEN": token}
    args = [sys.executable, "-m", "bench.streamclient", "--url", fleet.process.url, "--apps", str(fleet.apps)]
    args += ["--app-pages", str(app_pages), "--dashboards", str(dashboards), "--stalled", str(stalled)]
    args += ["--out", str(work / "streams.json")]
    root = Path(__file__).resolve().parent.parent
    return subprocess.Popen(args, env=env, cwd=root, stdout=subprocess.PIPE, text=True)


def _stop(client: subprocess.Popen[str]) -> None:
    if client.poll() is None:
        client.send_signal(signal.SIGTERM)
        try:
            client.wait(timeout=60)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait(timeout=10)


def run(opts: Options, *, burst_apps: int, log: Callable[[str], None]) -> dict[str, Any]:
    import json

    from bench.gitwardproc import cpu_split

    result: dict[str, Any] = {"apps": opts.apps, "cores": os.cpu_count(), "load_before": os.getloadavg()}
    result["commit"] = docsection.commit()  # the code gitward runs is imported at its start
    result["machine"] = _machine()
    with tempfile.TemporaryDirectory(prefix="gitward-bench-streams-") as tmp:
        work = Path(tmp)
        repo = workload.create_fleet_repo(work / "git", opts.apps)
        with bench_scale.clusters(
            [bench_scale._cluster_name("streams")], opts.apiserver_args, controller_args=opts.controller_args
        ) as cluster_list:
            log(f"cold sync of {opts.apps} apps (load {bench_scale.load_average()})")
            with bench_scale.gitward_fleet(opts, opts.apps, work, repo, cluster_list) as fleet:
                result["cold"] = bench_scale.gitward_cold(fleet)
                cold = result["cold"]
                log(f"synced in {cold['wall_seconds']:.1f} s, ready in {cold['ready_seconds']:.1f} s")
                log(f"(a) no stream: {opts.drifts} patches, a burst of {burst_apps} apps")
                result["alone"] = measure(fleet, opts.drifts, burst_apps, revision=2000)
                log(_line(result["alone"]))
                client = _start_clients(fleet, work, 900, 100, 20)
                try:
                    assert client.stdout is not None
                    opened = client.stdout.readline().strip()
                    log(f"stream clients: {opened}")
                    time.sleep(5.0)
                    client_cpu = sum(cpu_split(client.pid))
                    log(f"(b) 1,020 streams: {opts.drifts} patches, a burst of {burst_apps} apps")
                    result["streamed"] = measure(fleet, opts.drifts, burst_apps, revision=3000)
                    result["streamed"]["client_cpu_seconds"] = sum(cpu_split(client.pid)) - client_cpu
                    log(_line(result["streamed"]))
                finally:
                    _stop(client)
                out = work / "streams.json"
                result["delivered"] = json.loads(out.read_text()) if out.exists() else {}
                result["opened"] = opened
    result["load_after"] = os.getloadavg()
    result["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return result


def _machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {sys.version.split()[0]}"


def _line(mode: dict[str, Any]) -> str:
    d, b = mode["drift"], mode["burst"]
    return (
        f"heal p50 {d['p50']:.3f} s p99 {d['p99']:.3f} s; burst {b['apps']} apps in {b['seconds']:.2f} s "
        f"({b['reconciles_per_s']:.0f} reconciles/s); CPU {mode['cpu_seconds']:.1f} s; "
        f"RSS {mode['rss_mb']:.0f} MB"
    )


def report(result: dict[str, Any], command: str) -> str:
    a, b, got = result["alone"], result["streamed"], result.get("delivered", {})

    def row(label: str, m: dict[str, Any], streams: str) -> str:
        d, u = m["drift"], m["burst"]
        return (
            f"| {label} | {d['p50'] * 1000:.0f} / {d['p99'] * 1000:.0f} ms | {u['seconds']:.2f} s "
            f"({u['reconciles']} reconciles, {u['reconciles_per_s']:.0f}/s) | {m['cpu_seconds']:.1f} s "
            f"| {m['rss_mb']:.0f} MB | {streams} | {m['load'][0]:.2f} |"
        )

    streams_end = f"{got.get('streams_open', '?')} + {got.get('stalled_open', '?')} never-reading"
    return "\n".join(
        [
            "### 1,000 open event streams against the real engine",
            "",
            f"Command: `{command}` (commit {result['commit']}, {result['when']}). One `gitward run` over "
            f"{result['apps']} apps on a fresh local cluster (the B1 fleet, every app Synced and Healthy "
            "first), measured twice on the same process: (a) no stream open, (b) 1,020 streams opened by a "
            "separate client process (`bench/streamclient.py`: asyncio + httpx): 900 app pages "
            "(`?app=`, one app each), 100 dashboards (every app), 20 clients that never read. Each mode: "
            f"{a['drift']['samples']} out-of-band patches healed by self-heal (the B3 measure), then one "
            f"Git push changing {a['burst']['apps']} apps' ConfigMaps, announced by the webhook, timed until "
            "all of them hold the new value in the cluster. Machine: "
            f"{result.get('machine', str(result['cores']) + ' cores')}; load average "
            f"{result['load_before'][0]:.2f} before the run, "
            f"{result['load_after'][0]:.2f} after.",
            "",
            "| mode | heal p50 / p99 | burst: push to all changed | gitward CPU in the mode | RSS at the end "
            "| streams open at the end | load (1 min) at the end |",
            "|---|---:|---:|---:|---:|---:|---:|",
            row("(a) no stream", a, "0"),
            row("(b) 1,020 streams", b, streams_end),
            "",
            f"In (b) the 100 dashboards received {got.get('dashboard_events', 0):,} status events "
            f"({got.get('resets', 0)} resets); the first event of each finished operation reached a "
            "dashboard "
            f"{got.get('delay_p50_ms', float('nan')):.0f} ms after the operation's `finishedAt` at p50, "
            f"{got.get('delay_p99_ms', float('nan')):.0f} ms at p99 ({got.get('delays_counted', 0):,} "
            f"deliveries). The app pages received {got.get('app_page_events', 0):,} events. The client "
            "process "
            f"used {b.get('client_cpu_seconds', 0):.1f} s of CPU during (b); gitward's CPU includes its "
            f"children (git, renders): {a['cpu_children_seconds']:.1f} s in (a), "
            f"{b['cpu_children_seconds']:.1f} s in (b). Mode lengths: {a['seconds']:.0f} s and "
            f"{b['seconds']:.0f} s.",
        ]
    )


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the ``streams`` section of docs/benchmarks.md, or put it after the ``ui`` section."""
    docsection.write_section("streams", section, after="ui", doc=doc)
