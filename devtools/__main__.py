"""``python -m devtools ...``: the Python half of ``./dev`` (tools, cluster up/down/status)."""

from __future__ import annotations

import argparse
import json
import sys

from devtools import localcluster, toolchain


def _cluster(args: argparse.Namespace) -> int:
    if args.action == "up":
        cluster = localcluster.up(args.name)
        print(f"cluster {cluster.name} is up: {cluster.server}", file=sys.stderr)
        print(cluster.kubeconfig)
    elif args.action == "down":
        removed = localcluster.down(args.name)
        print(f"cluster {args.name} {'stopped and removed' if removed else 'was not running'}")
    else:
        rows = localcluster.status()
        if args.json:
            print(json.dumps(rows, indent=2))
        for row in rows:
            state = "running" if row["running"] else "stopped"
            print(f"{row['name']:<20} {state:<8} {row['server']:<28} {row['kubeconfig']}")
        if not rows:
            print("no local clusters")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev")
    sub = parser.add_subparsers(dest="command", required=True)
    tools = sub.add_parser("tools", help="build the pinned tools (cached by version)")
    tools.add_argument("names", nargs="*")
    sub.add_parser("bin-dir", help="print the folder of built tools, for PATH")
    sub.add_parser("deploy-manifests", help="write deploy/ (kustomize base, Helm chart) from the install")
    cluster = sub.add_parser("cluster", help="local Kubernetes clusters")
    cluster.add_argument("action", choices=["up", "down", "status"])
    cluster.add_argument("name", nargs="?", default="gitward")
    cluster.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "tools":
            toolchain.build_all(args.names or None)
            print(toolchain.bin_dir())
            return 0
        if args.command == "bin-dir":
            print(toolchain.bin_dir())
            return 0
        if args.command == "deploy-manifests":
            from devtools import deploymanifests

            for path in deploymanifests.write():
                print(f"wrote {path}")
            return 0
        return _cluster(args)
    except (toolchain.ToolError, localcluster.ClusterError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
