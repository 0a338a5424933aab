"""Client CPU per server-side apply: which HTTP stack gitward sends its requests with.

A cold sync of 1000 apps sends 5000 applies and is bound by gitward's own CPU, so the client's cost
per request decides the choice (``gitward/cluster/senders.py``). This applies the same ConfigMaps,
``--in-flight`` at a time, through gitward's client (aiohttp, pooled HTTP/1.1) and through httpx over
HTTP/2 and over HTTP/1.1, each on asyncio's own event loop and on uvloop, against one fresh local
cluster, and reports the process CPU and wall time per batch.
Run: ``.venv/bin/python -m bench.bench_http [--requests N] [--in-flight N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import orjson
import uvloop
from devtools import localcluster, toolchain

from gitward.cluster.kubeconfig import load_endpoint
from gitward.cluster.lightkube_client import LightkubeClient

NAMESPACE = "http-bench"
Apply = Callable[[int], Awaitable[None]]


def _config_map(i: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{i}", "namespace": NAMESPACE, "labels": {"app": "bench"}},
        "data": {"payload": "v" * 200, "index": str(i)},
    }


async def _gitward_client(kubeconfig: Path) -> tuple[Apply, Callable[[], Awaitable[None]]]:
    client = await LightkubeClient.from_kubeconfig(kubeconfig, qps=100_000, burst=100_000)

    async def apply(i: int) -> None:
        await client.apply(_config_map(i), field_manager="bench", force=True)

    return apply, client.close


async def _httpx_client(kubeconfig: Path, *, http2: bool) -> tuple[Apply, Callable[[], Awaitable[None]]]:
    endpoint = load_endpoint(kubeconfig)
    http = httpx.AsyncClient(
        base_url=endpoint.server,
        verify=endpoint.ssl_context if endpoint.ssl_context is not None else True,
        auth=endpoint.auth,
        http2=http2,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        trust_env=False,
    )
    headers = {"Content-Type": "application/apply-patch+yaml"}

    async def apply(i: int) -> None:
        response = await http.patch(
            f"/api/v1/namespaces/{NAMESPACE}/configmaps/cm-{i}",
            params={"fieldManager": "bench", "force": "true"},
            content=orjson.dumps(_config_map(i)),
            headers=headers,
        )
        response.raise_for_status()

    return apply, http.aclose


CLIENTS = {
    "gitward (aiohttp, HTTP/1.1)": _gitward_client,
    "httpx, HTTP/2": lambda kc: _httpx_client(kc, http2=True),
    "httpx, HTTP/1.1": lambda kc: _httpx_client(kc, http2=False),
}


async def _measure(kubeconfig: Path, client: str, requests: int, in_flight: int) -> tuple[float, float]:
    apply, close = await CLIENTS[client](kubeconfig)
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with gate:
            await apply(i)

    try:
        await asyncio.gather(*(one(i) for i in range(in_flight)))  # connections up, objects exist
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(requests)))
        return time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await close()


def _run_one(kubeconfig: Path, client: str, loop: str, requests: int, in_flight: int) -> tuple[float, float]:
    """Each measurement in a fresh process: no warm pool or import left over from the previous one."""
    code = (
        "import asyncio, sys, uvloop; from pathlib import Path; from bench import bench_http as b; "
        f"r = (uvloop.run if {loop == 'uvloop'!r} else asyncio.run)"
        f"(b._measure(Path({str(kubeconfig)!r}), {client!r}, {requests}, {in_flight})); "
        "print(r[0], r[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    cpu, wall = out.split()
    return float(cpu), float(wall)


def run(*, requests: int = 2000, in_flight: int = 32) -> str:
    name = f"bench-http-{os.getpid()}"
    cluster = localcluster.up(name)
    rows = []
    try:
        kubectl = [str(toolchain.tool_path("kubectl")), "--kubeconfig", str(cluster.kubeconfig)]
        subprocess.run([*kubectl, "create", "namespace", NAMESPACE], check=True, capture_output=True)
        for client in CLIENTS:
            for loop in ("asyncio", "uvloop"):
                cpu, wall = _run_one(cluster.kubeconfig, client, loop, requests, in_flight)
                rows.append(f"| {client} | {loop} | {1000 * cpu / requests:.2f} | {wall:.2f} |")
    finally:
        localcluster.down(name)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join(
        [
            "### HTTP client: CPU per server-side apply",
            "",
            f"Command: `.venv/bin/python -m bench.bench_http --requests {requests} --in-flight {in_flight}` "
            f"(machine: {machine}, uvloop {uvloop.__version__}). {requests} applies of small ConfigMaps "
            f"(already existing), {in_flight} in flight, each client in a fresh process against one local "
            "cluster; CPU is the client process's.",
            "",
            "| client | event loop | client CPU per request (ms) | wall for the batch (s) |",
            "|---|---|---:|---:|",
            *rows,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    print(run(requests=args.requests, in_flight=args.in_flight))


if __name__ == "__main__":
    main()
