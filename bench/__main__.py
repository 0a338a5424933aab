"""``./dev bench [NAME ...]``: run benchmarks and print their Markdown tables (see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bench import bench_sync


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench")
    parser.add_argument("names", nargs="*", default=["sync"], help="benchmarks to run: sync")
    parser.add_argument("--objects", type=int, default=500)
    parser.add_argument("--noop-runs", type=int, default=20)
    args = parser.parse_args(argv)
    for name in args.names:
        if name == "sync":
            print(asyncio.run(bench_sync.run(objects=args.objects, noop_runs=args.noop_runs)))
        else:
            print(f"unknown benchmark {name!r}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
