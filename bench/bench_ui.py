"""``./dev bench ui``: the web UI at 10,000 apps -- list pages, and 1,000 open event streams against
the rate of reconciles.

No cluster: the server is the real API app with the real UI (``create_app`` + ``JinjaPages``), the
real app index and the real status feed, served by uvicorn on loopback in its own process, over a
registry of fabricated apps (names, projects, clusters, namespaces, labels, statuses, a last
operation each). What it leaves out is the engine's pipeline, which a page never runs.

1. Pages: each query is asked ``--requests`` times by an HTTP client in this process (a different
   process from the server, so the figures include HTTP and nothing shares a GIL); p50/p95 of the
   answer time and the page's weight.
2. Streams: inside the server, a loop stands for the engine: each "reconcile" spends ``--work-ms``
   of CPU (the pipeline's own work) and then saves a status the way the engine does (index row +
   feed event). It runs for ``--seconds`` with no stream open, then with 1,000 streams open (from a
   client process): 900 app pages (``?app=``), 100 dashboards (every event), and 20 clients that
   never read, which must be dropped. Reported: reconciles per second in both runs, the event
   loop's lag, the delivery delay of events to the dashboards, and the streams still open at the end.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import docsection

TOKEN = "bench-admin-token-0123456789"
DOC = docsection.DOC


def fabricated(n: int) -> dict[str, dict[str, Any]]:
    rng = random.Random(7)
    apps = {}
    for i in range(n):
        name = f"app-{i:05d}"
        sync = rng.choices(["Synced", "OutOfSync", "Unknown"], [90, 8, 2])[0]
        health = rng.choices(["Healthy", "Progressing", "Degraded", "Missing"], [88, 6, 4, 2])[0]
        apps[name] = {
            "name": name,
            "project": f"team-{i % 40:02d}",
            "repoURL": "https://git.example.com/org/apps.git",
            "path": f"apps/{name}",
            "chart": None,
            "revision": "main",
            "destination": {"cluster": f"cluster-{i % 8}", "namespace": f"ns-{i % 2000:04d}"},
            "automated": True,
            "sync": {"status": sync, "revision": f"{rng.getrandbits(160):040x}"},
            "health": {"status": health, "message": "" if health == "Healthy" else "1 of 2 pods ready"},
            "conditions": [],
            "suspended": False,
            "suspendReason": "",
            "operation": {"id": i, "phase": "Succeeded", "startedAt": 1.7e9 + i, "finishedAt": 1.7e9 + i + 2},
            "resources": [],
            "message": "",
            "labels": {"team": f"team-{i % 40:02d}", "tier": rng.choice(["web", "db", "cache"])},
            "running": None,
        }
    return apps


class Registry:
    """EngineService + EngineViews over fabricated apps (reads only)."""

    def __init__(self, n: int) -> None:
        from gitward.reconcile.appindex import AppIndex, row_of
        from gitward.reconcile.livefeed import StatusFeed

        self.apps = fabricated(n)
        self.index = AppIndex()
        self.index.replace_all(row_of(a) for a in self.apps.values())
        self._feed = StatusFeed()

    @property
    def feed(self) -> Any:
        return self._feed

    def list_apps(self) -> list[dict[str, Any]]:
        return list(self.apps.values())

    def get_app(self, name: str) -> dict[str, Any]:
        from gitward.reconcile.service import AppNotFound

        if name not in self.apps:
            raise AppNotFound(name)
        return self.apps[name]

    def query_apps(self, query: Any) -> Any:
        return self.index.query(query)

    async def app_tree(self, name: str) -> list[dict[str, Any]]:
        return []

    def commit_of(self, name: str) -> dict[str, Any] | None:
        return None

    def cluster_views(self) -> list[dict[str, Any]]:
        return []

    def repository_views(self) -> list[dict[str, Any]]:
        return []

    def history(self, name: str) -> list[dict[str, Any]]:
        return []

    def events(self, name: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        return []

    def save(self, name: str) -> None:
        """What the engine does when a status changed (``Views.status_saved``)."""
        from gitward.appview import status_event
        from gitward.reconcile.appindex import row_of

        app = self.apps[name]
        app["health"]["status"] = "Healthy" if app["health"]["status"] != "Healthy" else "Progressing"
        app["operation"] = {**app["operation"], "finishedAt": time.time()}
        self.index.put(row_of(app))
        self._feed.publish(name, app["project"], {**status_event(app), "sent": time.time()})


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(n: int, port: int, control: Any) -> None:
    """The server process: the API with the UI, and the stand-in engine loop on the same loop."""
    import uvicorn

    from gitward.api import create_app
    from gitward.ui.render import renderer

    registry = Registry(n)
    app = create_app(registry, token=TOKEN, ui=renderer())  # type: ignore[arg-type]

    async def main() -> None:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        task = asyncio.create_task(server.serve())
        for _ in range(2400):
            if server.started:
                break
            await asyncio.sleep(0.05)
        control.send("ready")
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, control.recv)
            if command[0] == "stop":
                break
            _, seconds, work_ms = command
            control.send(await _churn(registry, seconds, work_ms))
        server.should_exit = True
        await task

    asyncio.run(main())


async def _churn(registry: Registry, seconds: float, work_ms: float) -> dict[str, Any]:
    names = list(registry.apps)
    rng = random.Random(3)
    lags: list[float] = []

    async def lag_probe() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            lags.append(time.perf_counter() - before - 0.05)

    probe = asyncio.create_task(lag_probe())
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        spin = time.perf_counter() + work_ms / 1000
        while time.perf_counter() < spin:
            pass
        registry.save(rng.choice(names))
        count += 1
        await asyncio.sleep(0)  # the engine yields at every await of its pipeline
    probe.cancel()
    lags.sort()
    return {
        "reconciles_per_s": count / seconds,
        "lag_p50_ms": 1000 * lags[len(lags) // 2] if lags else 0.0,
        "lag_p99_ms": 1000 * lags[int(len(lags) * 0.99)] if lags else 0.0,
        "readers": registry.feed.readers,
    }


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def measure_pages(base: str, requests: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    queries = [
        ("first page, by name", "/apps"),
        ("page 150 of 200", "/apps?page=150"),
        ("health=Degraded", "/apps?health=Degraded"),
        ("search 'app-09'", "/apps?search=app-09"),
        ("sort by last operation, descending", "/apps?sort=updated&desc=1"),
        ("cluster + label filter", "/apps?cluster=cluster-3&label=tier%3Ddb"),
        ("200 rows per page", "/apps?size=200"),
        ("JSON API, 50 apps", "/api/v1/apps?limit=50&offset=5000"),
    ]
    out = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for label, path in queries:
            times, size = [], 0
            for i in range(requests + 5):
                started = time.perf_counter()
                answer = client.get(path)
                elapsed = time.perf_counter() - started
                assert answer.status_code == 200, (path, answer.status_code)
                size = len(answer.content)
                if i >= 5:  # the first few warm the sort orders and the templates
                    times.append(elapsed)
            row = {
                "query": label,
                "path": path,
                "p50_ms": 1000 * statistics.median(times),
                "p95_ms": 1000 * _percentile(times, 0.95),
                "bytes": size,
            }
            log(f"{label}: p50 {row['p50_ms']:.1f} ms, p95 {row['p95_ms']:.1f} ms, {size / 1024:.0f} KiB")
            out.append(row)
    return out


async def _open_streams(
    port: int, app_pages: int, dashboards: int, stalled: int, hold: float
) -> dict[str, Any]:
    delays: list[float] = []
    received = [0]

    async def reader(path: str, record: bool) -> None:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        await w.drain()
        try:
            while True:
                line = await r.readline()
                if not line:
                    return
                if record and line.startswith(b"data: "):
                    received[0] += 1
                    sent = json.loads(line[6:]).get("sent")
                    if sent:
                        delays.append(time.time() - sent)
        finally:
            w.close()

    async def stalled_reader() -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        sock.send(f"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        await asyncio.sleep(hold + 60)  # never reads
        sock.close()

    tasks = [asyncio.create_task(reader(f"/api/v1/stream?app=app-{i:05d}", False)) for i in range(app_pages)]
    tasks += [asyncio.create_task(reader("/api/v1/stream", True)) for _ in range(dashboards)]
    tasks += [asyncio.create_task(stalled_reader()) for _ in range(stalled)]
    await asyncio.sleep(hold)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays.sort()
    return {
        "events_received": received[0],
        "delay_p50_ms": 1000 * delays[len(delays) // 2] if delays else 0.0,
        "delay_p95_ms": 1000 * _percentile(delays, 0.95) if delays else 0.0,
    }


def _stream_clients(port: int, hold: float, results: Any) -> None:
    results.send(asyncio.run(_open_streams(port, 900, 100, 20, hold)))


def run(
    *,
    apps: int = 10_000,
    requests: int = 200,
    seconds: float = 20.0,
    work_ms: float = 2.0,
    log: Callable[[str], None],
) -> dict[str, Any]:
    port = _port()
    ctx = multiprocessing.get_context("fork")
    control, remote = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(apps, port, remote), daemon=True)
    server.start()
    try:
        if not control.poll(120) or control.recv() != "ready":
            raise RuntimeError("the UI server did not start")
        log(f"server with {apps} fabricated apps on port {port}")
        pages = measure_pages(f"http://127.0.0.1:{port}", requests, log)
        control.send(("churn", seconds, work_ms))
        alone = control.recv()
        log(f"no stream: {alone['reconciles_per_s']:.0f} reconciles/s, lag p99 {alone['lag_p99_ms']:.1f} ms")
        mine, theirs = ctx.Pipe()
        clients = ctx.Process(target=_stream_clients, args=(port, seconds + 10, theirs), daemon=True)
        clients.start()
        time.sleep(8)  # let the 1,020 connections open before measuring
        control.send(("churn", seconds, work_ms))
        streamed = control.recv()
        delivered = mine.recv() if mine.poll(seconds + 120) else {}
        clients.join(30)
        log(
            f"1,000 streams: {streamed['reconciles_per_s']:.0f} reconciles/s, loop lag p99 "
            f"{streamed['lag_p99_ms']:.1f} ms, "
            f"dashboards' delay p95 {delivered.get('delay_p95_ms', 0):.0f} ms"
        )
        control.send(("stop",))
        server.join(30)
        return {
            "apps": apps,
            "requests": requests,
            "seconds": seconds,
            "work_ms": work_ms,
            "pages": pages,
            "alone": alone,
            "streamed": streamed,
            "delivered": delivered,
            "cores": os.cpu_count(),
            "commit": docsection.commit(),
            "load": os.getloadavg()[0],
        }
    finally:
        if server.is_alive():
            server.kill()


def report(result: dict[str, Any]) -> str:
    lines = [
        f"### Web UI: list pages at {result['apps']:,} apps",
        "",
        f"`./dev bench ui --ui-apps {result['apps']} --ui-requests {result['requests']} --docs` "
        f"at {result.get('commit', '')}: the real API and UI over an index of fabricated apps (no cluster).",
        "",
        f"{result['requests']} requests per query, one client, loopback; p50/p95 of the whole HTTP exchange.",
        "",
        "| query | p50 | p95 | page weight |",
        "|---|---:|---:|---:|",
    ]
    for row in result["pages"]:
        lines.append(
            f"| {row['query']} (`{row['path']}`) | {row['p50_ms']:.1f} ms | {row['p95_ms']:.1f} ms "
            f"| {row['bytes'] / 1024:.0f} KiB |"
        )
    alone, streamed, delivered = result["alone"], result["streamed"], result["delivered"]
    lines += [
        "",
        "### 1,000 open event streams against a stand-in reconcile loop",
        "",
        f"A stand-in engine loop (each reconcile: {result['work_ms']:g} ms of CPU, then a status saved "
        f"as the engine saves it), {result['seconds']:g} s per run; streams: 900 app pages, "
        "100 dashboards, 20 clients that never read.",
        "",
        "| | reconciles/s | event loop lag p50 / p99 | streams open at the end |",
        "|---|---:|---:|---:|",
        f"| no stream | {alone['reconciles_per_s']:.0f} | {alone['lag_p50_ms']:.1f} / "
        f"{alone['lag_p99_ms']:.1f} ms | 0 |",
        f"| 1,020 streams | {streamed['reconciles_per_s']:.0f} | {streamed['lag_p50_ms']:.1f} / "
        f"{streamed['lag_p99_ms']:.1f} ms | {streamed['readers']} |",
        "",
        f"The 100 dashboards received {delivered.get('events_received', 0):,} events, delayed "
        f"{delivered.get('delay_p50_ms', 0):.0f} ms at p50 and "
        f"{delivered.get('delay_p95_ms', 0):.0f} ms at p95 "
        f"(the stream batches changes every 0.25 s). Machine: {result['cores']} cores, load average "
        f"{result['load']:.2f} at the end.",
    ]
    return "\n".join(lines)


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the ``ui`` section of docs/benchmarks.md (between its markers), or append it."""
    docsection.write_section("ui", section, doc=doc)
