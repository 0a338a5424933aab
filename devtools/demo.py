"""``./dev demo``: gitward's main job on a local cluster, shown step by step in the terminal."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from devtools import localcluster, toolchain


def _kubectl(kubeconfig: str, *args: str) -> str:
    return subprocess.run(
        [str(toolchain.tool_path("kubectl")), "--kubeconfig", kubeconfig, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def _step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def cluster_health_demo(name: str) -> None:
    """Start a cluster, show it healthy (nodes Ready, a Deployment Available) and leave it running."""
    _step(f"starting local cluster {name!r}")
    cluster = localcluster.up(name)
    kubeconfig = str(cluster.kubeconfig)
    print(_kubectl(kubeconfig, "version"))
    print(_kubectl(kubeconfig, "get", "nodes"))
    _step("a Deployment with 2 replicas becomes Available on kwok nodes")
    _kubectl(kubeconfig, "create", "deployment", "hello", "--image=nginx", "--replicas=2")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dep = json.loads(_kubectl(kubeconfig, "get", "deployment", "hello", "-o", "json"))
        if dep.get("status", {}).get("availableReplicas") == 2:
            break
        time.sleep(0.5)
    print(_kubectl(kubeconfig, "get", "deployment,pods", "-o", "wide"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo")
    parser.add_argument("--once", action="store_true", help="stop everything at the end")
    parser.add_argument("--cluster", default="demo")
    args = parser.parse_args(argv)
    try:
        cluster_health_demo(args.cluster)
    finally:
        _step("stopping the local cluster")
        localcluster.down(args.cluster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
