"""Memory of the cluster cache: bytes per live object kept for a watched kind.

The cache stores objects without ``managedFields`` and the last-applied annotation (docs/architecture.md, one
reconcile); this measures what a watched object really costs in the gitward process (Python objects,
tracemalloc), for objects shaped like the benchmark apps' Deployments and ConfigMaps, on a fresh local
cluster. Run: ``./dev bench cache [--objects N]``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import subprocess
import tempfile
import tracemalloc
from pathlib import Path

import yaml
from devtools import localcluster, toolchain

from bench.bench_sync import objects as bench_objects
from gitward.cluster.connection import ClusterConnection


def _create(kubeconfig: Path, count: int, work: Path) -> None:
    manifests = [m for m in bench_objects(count * 4) if m["kind"] in ("Deployment", "ConfigMap")][:count]
    file = work / "objects.yaml"
    file.write_text(yaml.safe_dump_all(manifests))
    kubectl = str(toolchain.tool_path("kubectl"))
    base = [kubectl, "--kubeconfig", str(kubeconfig)]
    subprocess.run([*base, "create", "namespace", "cache-bench"], check=True, capture_output=True)
    subprocess.run(
        [*base, "apply", "--server-side", "-n", "cache-bench", "-f", str(file)],
        check=True,
        capture_output=True,
    )


async def _measure(kubeconfig: Path, kind: tuple[str, str]) -> tuple[int, int]:
    conn = await ClusterConnection.connect(kubeconfig, name="bench")
    try:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        await conn.cache.ensure_watched(*kind)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        count = len(conn.cache.objects(api_version=kind[0], kind=kind[1]))
        return after - before, count
    finally:
        await conn.close()


async def run(*, objects: int = 2000) -> str:
    name = f"bench-cache-{os.getpid()}"
    cluster = localcluster.up(name)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="gitward-bench-cache-") as tmp:
            _create(cluster.kubeconfig, objects, Path(tmp))
            for kind in (("apps/v1", "Deployment"), ("v1", "ConfigMap")):
                used, count = await _measure(cluster.kubeconfig, kind)
                rows.append(
                    f"| {kind[1]} | {count} | {used / 1024 / 1024:.1f} MiB | {used // max(count, 1)} B |"
                )
    finally:
        localcluster.down(name)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join(
        [
            f"### Cluster cache memory (`./dev bench cache --objects {objects}`)",
            "",
            f"Machine: {machine}. Python heap growth (tracemalloc) for one LIST+WATCH of the kind;",
            "Deployments as in the sync benchmark (status and kube-controller-manager fields included).",
            "",
            "| kind | objects cached | heap | per object |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    print(asyncio.run(run()))
