"""``./dev bench [NAME ...]``: run benchmarks and print their Markdown tables (see docs/benchmarks.md).

Names: ``sync`` (one app of N objects, in-process engine), ``b1`` .. ``b5`` (the scale benchmarks of
``bench_scale``, gitward as its own process), ``b6`` (``--apps`` apps, 3,000 by default, over three
replicas sharing PostgreSQL against one replica on SQLite: cold sync, takeover after SIGKILL, RSS per
replica: ``bench_replicas``), ``ui`` (the web UI's list pages and 1,000 event streams
at ``--ui-apps`` fabricated apps, no cluster: ``bench_ui``), ``streams`` (1,020 event streams against a
real ``gitward run`` of ``--apps`` apps: heal latency, a burst, CPU: ``bench_streams``), ``b7`` (10,000
apps: cold sync against kubectl, then B2-B4), ``startup`` (how long the CLI and ``gitward run`` take to
start, ``--startup-runs`` times each, against ``--baseline REV`` too when given: ``bench_startup``),
``all`` (b1-b5; also writes docs/benchmarks.md and its plots). Flux and Argo CD, the peers of B1 (and
of B2-B4 for Argo CD), are built on first use.
``--docs`` writes the document for a partial run too; ``report --json FILE`` rewrites the document
from the raw results of an earlier run (``--json`` saves them, also after each step).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from bench import bench_sync

SCALE = ("b1", "b2", "b3", "b4", "b5")  # what "all" runs
LARGE = ("b7",)  # hours at 10,000 apps: only when named


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", default=["sync"], help="sync, b1 .. b7, ui, streams, startup or all"
    )
    parser.add_argument("--objects", type=int, default=500, help="sync: objects in the one app")
    parser.add_argument("--noop-runs", type=int, default=20)
    parser.add_argument(
        "--apps", type=int, default=None, help="b1-b5: N apps (B2-B5 run at this N) [1000]; b6: [3000]"
    )
    parser.add_argument("--sizes", type=_sizes, default=None, help="b1: N values, default 100,500,--apps")
    parser.add_argument("--idle", type=float, default=300.0, help="b4: idle window in seconds")
    parser.add_argument("--interval", default="60s", help="the apps' resync interval")
    parser.add_argument("--changes", type=int, default=20, help="b2: commits")
    parser.add_argument("--drifts", type=int, default=20, help="b3/b5: out-of-band patches")
    parser.add_argument("--no-flux", action="store_true", help="b1: skip Flux with its default settings")
    parser.add_argument("--no-flux-tuned", action="store_true", help="b1: skip Flux on gitward's budget")
    parser.add_argument("--no-argocd", action="store_true", help="b1-b4: skip Argo CD")
    parser.add_argument(
        "--flux-timeout", type=float, default=900.0, help="b1: stop waiting for Flux after this many seconds"
    )
    parser.add_argument(
        "--argocd-timeout",
        type=float,
        default=1800.0,
        help="stop waiting for Argo CD after this many seconds",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="the budget: apps worked on at once")
    parser.add_argument("--kube-qps", type=float, default=500.0, help="the budget: client requests/second")
    parser.add_argument("--kube-burst", type=int, default=1000, help="the budget: client burst")
    parser.add_argument("--b7-apps", type=int, default=10_000, help="b7: N apps (two objects each)")
    parser.add_argument("--b7-peers", action="store_true", help="b7: tuned Flux and Argo CD too (hours)")
    parser.add_argument(
        "--apiserver-arg",
        action="append",
        default=[],
        help="extra kube-apiserver flag for every cluster, e.g. --apiserver-arg=--max-requests-inflight=2000",
    )
    parser.add_argument(
        "--controller-arg",
        action="append",
        default=[],
        help="extra kube-controller-manager flag for every cluster, e.g. --controller-arg=--kube-api-qps=200",
    )
    parser.add_argument(
        "--gitward-src",
        type=Path,
        default=None,
        help="run gitward from this src folder, e.g. of `git worktree add /tmp/gw HEAD` (default: installed)",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="write py-spy profiles (collapsed stacks) into this folder"
    )
    parser.add_argument("--ui-apps", type=int, default=10_000, help="ui: fabricated apps")
    parser.add_argument("--ui-requests", type=int, default=200, help="ui: requests per list query")
    parser.add_argument("--burst", type=int, default=200, help="streams: apps one Git push changes")
    parser.add_argument("--replicas", type=int, default=3, help="b6: replicas sharing PostgreSQL")
    parser.add_argument("--lease", type=float, default=15.0, help="b6: the replicas' lease duration (s)")
    parser.add_argument("--startup-runs", type=int, default=10, help="startup: runs of each measurement")
    parser.add_argument("--startup-apps", type=int, default=3, help="startup: apps of the gitward run config")
    parser.add_argument(
        "--baseline",
        default=None,
        help="startup: also measure the src of this commit (e.g. main), alternating",
    )
    parser.add_argument("--docs", action="store_true", help="write docs/benchmarks.md (always for 'all')")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)
    args.b6_apps = args.apps or 3000
    args.apps = args.apps or 1000

    names = set(args.names)
    if names == {"report"}:
        return _report(args)
    if "all" in names:
        names = (names - {"all"}) | set(SCALE)
    unknown = names - set(SCALE) - set(LARGE) - {"sync", "ui", "streams", "b6", "startup"}
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if "sync" in names:
        print(asyncio.run(bench_sync.run(objects=args.objects, noop_runs=args.noop_runs)))
    if "ui" in names:
        from bench import bench_ui

        result = bench_ui.run(
            apps=args.ui_apps, requests=args.ui_requests, log=lambda m: print(f"==> {m}", file=sys.stderr)
        )
        print(bench_ui.report(result))
        if args.docs:
            bench_ui.write_doc(bench_ui.report(result))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    if "streams" in names:
        _streams(args)
    if "b6" in names:
        _b6(args)
    if "startup" in names:
        _startup(args)
    scale = names & (set(SCALE) | set(LARGE))
    if scale:
        return _scale(scale, args, write_docs=args.docs or "all" in args.names)
    return 0


def _b6(args: argparse.Namespace) -> None:
    from bench import bench_replicas

    apps = args.b6_apps
    opts = bench_replicas.B6Options(
        apps=apps,
        replicas=args.replicas,
        lease=args.lease,
        interval=args.interval,
        apiserver_args=args.apiserver_arg,
        controller_args=args.controller_arg,
        source=args.gitward_src.resolve() if args.gitward_src else None,
        profile=args.profile.resolve() if args.profile else None,
    )
    result = bench_replicas.run(opts, log=lambda m: print(f"==> {m}", file=sys.stderr, flush=True))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    command = f"./dev bench b6 --apps {apps} --replicas {args.replicas} --lease {args.lease:g}" + "".join(
        f" --{flag}-arg={value}"
        for flag, values in (("apiserver", args.apiserver_arg), ("controller", args.controller_arg))
        for value in values
    )
    if args.docs:
        bench_replicas.plot(result)
    section = bench_replicas.report(result, command)
    print(section)
    if args.docs:
        bench_replicas.write_doc(section)


def _startup(args: argparse.Namespace) -> None:
    from bench import bench_startup

    opts = bench_startup.StartupOptions(
        runs=args.startup_runs,
        apps=args.startup_apps,
        baseline=args.baseline,
        apiserver_args=tuple(args.apiserver_arg),
    )
    result = bench_startup.run(opts, log=lambda m: print(f"==> {m}", file=sys.stderr, flush=True))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    command = f"./dev bench startup --startup-runs {opts.runs} --startup-apps {opts.apps}"
    command += f" --baseline {opts.baseline}" if opts.baseline else ""
    section = bench_startup.report(result, command)
    print(section)
    if args.docs:
        bench_startup.write_doc(section)


def _streams(args: argparse.Namespace) -> None:
    from bench import bench_scale, bench_streams

    opts = bench_scale.Options(
        sizes=[args.apps],
        apps=args.apps,
        interval=args.interval,
        drifts=args.drifts,
        apiserver_args=args.apiserver_arg,
        controller_args=args.controller_arg,
        source=args.gitward_src.resolve() if args.gitward_src else None,
        profile=args.profile.resolve() if args.profile else None,
    )
    result = bench_streams.run(
        opts, burst_apps=args.burst, log=lambda m: print(f"==> {m}", file=sys.stderr, flush=True)
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    command = f"./dev bench streams --apps {args.apps} --drifts {args.drifts} --burst {args.burst}"
    section = bench_streams.report(result, command)
    print(section)
    if args.docs:
        bench_streams.write_doc(section)


def _report(args: argparse.Namespace) -> int:
    import json

    from bench import bench_scale, scale_report

    if args.json is None:
        print("report needs --json FILE", file=sys.stderr)
        return 2
    data = json.loads(args.json.read_text())
    results = bench_scale.Results(**data)
    saved = dict(results.options)
    saved["source"] = Path(saved["source"]) if saved.get("source") else None
    saved["checkpoint"] = None
    conditions = saved.pop("conditions", None) or "not recorded."
    opts = bench_scale.Options(**saved)
    scale_report.plots(results)
    sections = scale_report.tables(results, opts, conditions)
    for name in sorted(sections):
        print(sections[name])
    scale_report.update_doc(sections)
    return 0


def _scale(names: set[str], args: argparse.Namespace, *, write_docs: bool) -> int:
    from bench import bench_scale, scale_report

    sizes = args.sizes or sorted({s for s in (100, 500) if s < args.apps} | {args.apps})
    opts = bench_scale.Options(
        sizes=sizes,
        apps=args.apps,
        interval=args.interval,
        idle_seconds=args.idle,
        changes=args.changes,
        drifts=args.drifts,
        flux=not args.no_flux,
        flux_tuned=not args.no_flux_tuned,
        flux_timeout=args.flux_timeout,
        argocd=not args.no_argocd,
        argocd_timeout=args.argocd_timeout,
        concurrency=args.concurrency,
        qps=args.kube_qps,
        burst=args.kube_burst,
        b7_apps=args.b7_apps,
        b7_peers=args.b7_peers,
        apiserver_args=args.apiserver_arg,
        controller_args=args.controller_arg,
        source=args.gitward_src.resolve() if args.gitward_src else None,
        checkpoint=args.json,
        profile=args.profile.resolve() if args.profile else None,
    )
    load_before = os.getloadavg()

    def log(message: str) -> None:
        print(f"==> {message}", file=sys.stderr, flush=True)

    results = bench_scale.run(names, opts, log)
    load_after = os.getloadavg()
    conditions = (
        f"load average {load_before[0]:.2f} before and {load_after[0]:.2f} after the run on "
        f"{os.cpu_count()} cores"
        + (" — the machine was busy before the run started: noisy figures." if load_before[0] > 0.5 else ".")
    )
    results.options["conditions"] = conditions
    if args.json:
        args.json.write_text(results.to_json())
    if write_docs:
        scale_report.plots(results)
    sections = scale_report.tables(results, opts, conditions)
    for name in sorted(sections):
        print(sections[name])
    if write_docs:
        scale_report.update_doc(sections)
        log(f"updated {scale_report.DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
