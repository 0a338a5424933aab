"""Markdown tables and PNG plots of the B1-B5 results, and their sections in docs/benchmarks.md.

Each benchmark owns one section of the document between ``<!-- bench:bN -->`` and ``<!-- /bench:bN -->``
markers; a run replaces only the sections it measured, so ``./dev bench b3`` leaves B1's table alone.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from devtools import toolchain

from bench import docsection
from bench.bench_scale import Options, Results

DOCS = Path(__file__).resolve().parent.parent / "docs"
DOC = DOCS / "benchmarks.md"
IMAGES = DOCS / "benchmarks"

TARGETS = {
    "b1": "1000 apps within 1.5x kubectl and faster than Flux and Argo CD; RSS < 250 MB",
    "b2": "p50 < 1 s, p99 < 3 s, 1 render per commit",
    "b3": "p50 < 1 s, p99 < 3 s",
    "b4": "< 2 % of one core, 0 writes",
    "b5": "as B1 and B3",
    "b7": "cold sync within 1.2x kubectl; RSS < 1 GB; B2 and B3 p99 < 1 s; idle < 2 % of one core, 0 writes",
}
# The order of contenders in every table and plot, and their names there.
CONTENDERS = ("kubectl", "gitward", "argocd", "flux (tuned)", "flux")
NAMES = {"argocd": "Argo CD", "flux (tuned)": "Flux (tuned)", "flux": "Flux", "gitward": "gitward"}


def machine() -> str:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) // (1024 * 1024)
    return (
        f"{cpu or platform.machine()}, {os.cpu_count()} cores, {mem} GiB, "
        f"Python {platform.python_version()}, "
        f"local cluster {toolchain.KUBERNETES_VERSION} (etcd, kube-apiserver, controller-manager, scheduler, "
        "kwok nodes)"
    )


def command(name: str, opts: Options) -> str:
    parts = ["./dev bench", name] + ([] if name == "b7" else [f"--apps {opts.apps}"])
    if name in ("b1", "all"):
        parts.append("--sizes " + ",".join(str(s) for s in opts.sizes))
    if name in ("b4", "b7", "all"):
        parts.append(f"--idle {opts.idle_seconds:g} --interval {opts.interval}")
    if name in ("b7", "all"):
        parts.append(f"--b7-apps {opts.b7_apps}" + (" --b7-peers" if opts.b7_peers else ""))
    parts += [f"--apiserver-arg={a}" for a in opts.apiserver_args]
    parts += [f"--controller-arg={a}" for a in opts.controller_args]
    if opts.source is not None:
        parts.append("--gitward-src DIR")
    return " ".join(parts)


def source_commit(source: Path) -> str:
    """The commit a ``--gitward-src`` folder is checked out at (a local path means nothing to a
    reader of the document), with ``+changes`` when that folder differs from it."""
    return docsection.commit(source, under=".") or "unknown"


def _num(value: Any, fmt: str = ".2f", unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:{fmt}}{unit}"


def _verbs(requests: dict[str, Any]) -> str:
    if not requests:
        return "-"
    total = sum(int(v) for v in requests.values())
    if total == 0:
        return "0"
    return f"{total} (" + ", ".join(f"{k} {int(v)}" for k, v in sorted(requests.items()) if v) + ")"


def _values(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _header(title: str, name: str, opts: Options, conditions: str) -> list[str]:
    where = "" if opts.source is None else f" (DIR: a checkout of commit {source_commit(opts.source)})"
    lines = [
        f"### {title}",
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `{command(name, opts)}`{where}.",
        "",
    ]
    if opts.apiserver_args:
        lines += [
            "API-server limits were lifted for this run: kube-apiserver ran with "
            + " ".join(f"`{a}`" for a in opts.apiserver_args)
            + ".",
            "",
        ]
    if opts.controller_args:
        lines += [
            "kube-controller-manager's client limits were lifted for this run (the pace at which it creates"
            " ReplicaSets and Pods bounds every contender's time to all ready): it ran with "
            + " ".join(f"`{a}`" for a in opts.controller_args)
            + ".",
            "",
        ]
    lines += [f"Conditions: {conditions}", "", f"Target: {TARGETS[name]}.", ""]
    return lines


def _finished(row: dict[str, Any]) -> bool:
    """Measured to the end: not skipped, and every app ready (or applied, for a run without wait)."""
    done, _, total = str(row.get("ready", "")).partition("/")
    return "skipped" not in row and (not total or done == total)


def _order(row: dict[str, Any]) -> tuple[int, int, str]:
    contender = row["contender"]
    rank = CONTENDERS.index(contender) if contender in CONTENDERS else len(CONTENDERS)
    return row["apps"], rank, str(row.get("mode", ""))


def _short_settings(row: dict[str, Any]) -> str:
    """The settings column: which configuration and, for Flux, wait off or on."""
    contender = row["contender"]
    if contender == "kubectl":
        return "`apply --server-side`"
    if contender.startswith("gitward"):
        return "defaults"
    label = str(row.get("settings", "")).split(":", 1)[0].split(",", 1)[0] or "-"
    if "mode" in row:
        label += ", wait on" if row["mode"] == "ready" else ", wait off"
    return label


def _unfinished(row: dict[str, Any]) -> str:
    waited = row.get("waited_seconds") or row.get("ready_seconds") or row.get("wall_seconds")
    return f"not finished: {row.get('ready', '?')} after {_num(waited)} s"


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value and base else "-"


def b1_rows(rows: list[dict[str, Any]]) -> list[str]:
    """The cold-sync table of B1 (and B7): one line per contender and N, "applied" and "ready" side by
    side, each against kubectl's figure of the same meaning at the same N."""
    lines = [
        "| N apps | contender | settings | applied (s) | ready (s) | CPU (s) | peak RSS (MB) | API requests "
        "| vs kubectl (applied / ready) | load (1 min) before -> after |",
        "|---:|---|---|---:|---:|---:|---:|---|---:|---|",
    ]
    kubectl = {r["apps"]: r for r in rows if r["contender"] == "kubectl" and "skipped" not in r}
    for row in sorted(rows, key=_order):
        name = NAMES.get(row["contender"], row["contender"])
        if "skipped" in row:
            lines.append(f"| {row['apps']} | {name} | | not run: {row['skipped']} | | | | | | |")
            continue
        applied, ready = _num(row.get("wall_seconds")), _num(row.get("ready_seconds"))
        if not _finished(row):
            if row.get("mode") == "applied":
                applied = _unfinished(row)
            elif row.get("mode") == "ready":
                ready = _unfinished(row)
            else:  # both figures from one run (Argo CD): each says how far it got
                if row.get("wall_seconds") is None:
                    applied = f"not finished: {row.get('applied', '?')}"
                ready = _unfinished(row)
        base = kubectl.get(row["apps"], {})
        ratio = ""
        if row["contender"] != "kubectl" and base:
            ok = _finished(row)
            ratio = (
                f"{_ratio(row.get('wall_seconds'), base.get('wall_seconds')) if ok else '-'} / "
                f"{_ratio(row.get('ready_seconds'), base.get('ready_seconds')) if ok else '-'}"
            )
        load = row.get("load") or {}
        lines.append(
            f"| {row['apps']} | {name} | {_short_settings(row)} | {applied} | {ready} "
            f"| {_num(row.get('cpu_seconds'))} | {_num(row.get('peak_rss_mb'), '.0f')} "
            f"| {_verbs(row.get('requests') or {})} | {ratio} "
            f"| {_one_minute(load.get('before'))} -> {_one_minute(load.get('after'))} |"
        )
    return lines


def _one_minute(load: str | None) -> str:
    return load.split("/")[0] if load else "-"


def _settings_list(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, str] = {}
    for row in sorted(rows, key=_order):
        if row.get("settings") and "skipped" not in row:
            name = NAMES.get(row["contender"], row["contender"])
            seen.setdefault(f"{name}: {row['settings']}", "")
    return [f"- {line}" for line in seen]


B1_NOTE = (
    '"applied" is the time until every app was applied: kubectl\'s one `apply --server-side` of every '
    "object (namespaces first); gitward's until every app was Synced with a succeeded operation; Argo CD's "
    "until every Application was Synced with a succeeded sync operation; Flux's (wait off) until every "
    'Kustomization was Ready, which without `spec.wait` means applied. "ready" adds the wait until every '
    "Deployment is available: kubectl's by polling the Deployments; gitward's and Argo CD's until every "
    "app is also Healthy; Flux's (wait on) until every Kustomization with `spec.wait` was Ready. That wait "
    "is bounded by the cluster itself (kube-controller-manager creating ReplicaSets and Pods at its "
    "client limit, kwok starting them), the same for every contender. Each contender ran on its own fresh "
    "cluster with the same kube-apiserver flags and read the same repository over smart HTTP. gitward's "
    "times start at process start (interpreter, config load, state database); Flux's and Argo CD's when "
    "their objects are created, once their controllers run. CPU and peak RSS: gitward's process with the "
    "git and render subprocesses it ran; Flux's two controllers; Argo CD's application-controller, "
    "repo-server (with its git children) and Redis; peaks of several processes are added up. API "
    "requests: kubectl's from its `-v=6` log, gitward's from its `/metrics`, Flux's and Argo CD's as their "
    "own Kubernetes client counted them (`rest_client_requests_total`, `argocd_kubectl_requests_total`) "
    'during the run, watches and lists included. "load" is the machine\'s 1-minute load average before '
    "and after each contender's run."
)


def b1_table(results: Results, opts: Options, conditions: str) -> str:
    lines = _header("B1 cold sync", "b1", opts, conditions)
    lines += b1_rows(results.b1)
    lines += ["", "Settings (the budget: " + _budget(opts) + "):", "", *_settings_list(results.b1), ""]
    lines += [B1_NOTE, ""]
    if (IMAGES / "b1-cold-sync.png").exists():
        lines += ["![B1 cold sync: time to applied and to ready against N](benchmarks/b1-cold-sync.png)", ""]
    if (IMAGES / "b1-cost.png").exists():
        lines += ["![B1 cold sync: CPU and peak RSS against N](benchmarks/b1-cost.png)", ""]
    return "\n".join(lines)


def _budget(opts: Options) -> str:
    return f"{opts.concurrency} apps at once, client {opts.qps:g} QPS / burst {opts.burst}"


Column = tuple[str, dict[str, Any]]


def _contenders(gitward: dict[str, Any], peers: dict[str, dict[str, Any]], key: str) -> list[Column]:
    """(column title, data) for gitward and each peer that has figures for benchmark ``key``."""
    out = [("gitward", gitward)] if gitward else []
    for name, data in sorted(peers.items()):
        if data.get(key):
            out.append((NAMES.get(name, name) + " (tuned)", data[key]))
    return out


def _table(columns: list[Column], rows: list[tuple[str, Any]]) -> list[str]:
    """A measure-per-line table, one column per contender; ``rows``: (label, fn(data) -> cell)."""
    lines = [
        "| measure | " + " | ".join(title for title, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(_cell(cell, data) for _, data in columns) + " |")
    return lines


def _cell(cell: Any, data: dict[str, Any]) -> str:
    try:
        value = cell(data)
    except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError):
        return "-"
    return "-" if value is None or value == "" else str(value)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


LATENCY_ROWS: list[tuple[str, Any]] = [
    ("N apps / clusters", lambda d: f"{d['apps']} / {d['clusters']}"),
    ("samples", lambda d: len(d["samples"])),
    ("p50", lambda d: f"{d['p50']:.3f} s"),
    ("p99", lambda d: f"{d['p99']:.3f} s"),
    ("max", lambda d: f"{d['max']:.3f} s"),
]

B2_ROWS: list[tuple[str, Any]] = [
    *LATENCY_ROWS,
    ("renders per commit (render cache misses)", lambda d: _values(d["renders_per_commit"])),
    ("Git fetches per commit", lambda d: _values(d["fetches_per_commit"])),
    ("`git ls-remote` calls per commit", lambda d: _values(d["ls_remotes_per_commit"])),
    ("of which `git push` (median)", lambda d: f"{_median([s['push'] for s in d['samples']]):.3f} s"),
    ("announcement answer time (median)", lambda d: f"{_median([s['webhook'] for s in d['samples']]):.3f} s"),
]


def peer_errors(peers: dict[str, dict[str, Any]]) -> list[str]:
    """A line for each peer whose latency or idle benchmarks broke off, with what broke."""
    return [
        f"{NAMES.get(name, name)} broke off after its cold sync: {data['error']}"
        for name, data in sorted(peers.items())
        if data.get("error")
    ]


def b2_table(results: Results, opts: Options, conditions: str) -> str:
    lines = _header("B2 change latency (push -> webhook -> cluster)", "b2", opts, conditions)
    lines += _table(_contenders(results.b2, results.peers, "b2"), B2_ROWS)
    lines += ["", *peer_errors(results.peers)] if peer_errors(results.peers) else []
    lines += [
        "",
        "Each commit changes one app's ConfigMap; the clock starts before `git push` and stops when a GET "
        "(every 20 ms) returns the new value. gitward is told by a signed `generic` Receiver POST sent right "
        "after the push (its answer time is the announcement's). Argo CD's webhook is served by "
        "argocd-server, which is not run here: the benchmark does what its webhook handler does for the "
        "Application the push touched, a normal refresh (the `argocd.argoproj.io/refresh` annotation), and "
        "its answer time is that patch's. Argo CD's Git calls are its repo-server's "
        "(`argocd_git_request_total`); it reports no render count.",
        "",
    ]
    if (IMAGES / "b2-b3-latency.png").exists():
        lines += ["![B2 and B3 latency distributions](benchmarks/b2-b3-latency.png)", ""]
    return "\n".join(lines)


def b3_table(results: Results, opts: Options, conditions: str, data: dict[str, Any] | None = None) -> str:
    lines = _header("B3 drift latency (out-of-band patch -> healed)", "b3", opts, conditions)
    columns = [("gitward", data)] if data else _contenders(results.b3, results.peers, "b3")
    lines += _table(columns, LATENCY_ROWS)
    lines += [
        "",
        "Alternately a ConfigMap's data and a Deployment's container image are patched with a strategic "
        "merge patch under another field manager; the clock stops when a GET shows Git's value again "
        "(gitward and Argo CD both with self-heal on).",
        "",
    ]
    return "\n".join(lines)


B4_ROWS: list[tuple[str, Any]] = [
    ("N apps, resync interval", lambda d: f"{d['apps']}, {d['interval']}"),
    ("window", lambda d: f"{d['seconds']:.0f} s"),
    (
        "CPU (all processes and children)",
        lambda d: f"{d['cpu_seconds']:.2f} s = {d['cpu_percent']:.2f} % of one core",
    ),
    ("of which children (git, renderers)", lambda d: f"{d.get('cpu_children_seconds', 0):.2f} s"),
    ("API requests by verb", lambda d: _verbs(d["requests"])),
    ("writes (apply, dry-run, delete, other)", lambda d: d["writes"]),
    ("full reconcile passes in the window", lambda d: _verbs(d["reconciles"]) if d["reconciles"] else 0),
    ("interval passes skipped (nothing changed)", lambda d: d["resyncs_skipped"]),
    ("renders / Git fetch calls in the window", lambda d: f"{d['renders']} / {d['fetches']}"),
    ("Git calls in the window (repo-server)", lambda d: _verbs(d["git"])),
    (
        "RSS at the end / max in the window / peak since start",
        lambda d: f"{d['rss_mb']:.0f} / {d['rss_max_mb']:.0f} / {d['peak_rss_mb']:.0f} MB",
    ),
    ("load average (1/5 min) at the end", lambda d: d.get("load")),
]


def b4_table(results: Results, opts: Options, conditions: str) -> str:
    lines = _header("B4 idle cost", "b4", opts, conditions)
    lines += _table(_contenders(results.b4, results.peers, "b4"), B4_ROWS)
    lines += [
        "",
        "Argo CD's figures are its application-controller's, repo-server's (with the `git` processes it "
        "ran) and Redis's; its writes are the controller's requests other than GET (lists and watches are "
        "GETs). Its resync interval is `timeout.reconciliation`, set to the same interval as gitward's.",
        "",
    ]
    return "\n".join(lines)


def b5_table(results: Results, opts: Options, conditions: str) -> str:
    cold, drift = results.b5["b1"], results.b5["b3"]
    lines = _header(f"B5 {cold['apps']} apps over 3 clusters", "b5", opts, conditions)
    lines += [
        "| measure | value |",
        "|---|---|",
        f"| cold sync to all Synced / to all Synced and Healthy | {cold['wall_seconds']:.2f} s / "
        f"{cold['ready_seconds']:.2f} s |",
        f"| CPU / peak RSS | {cold['cpu_seconds']:.2f} s / {cold['peak_rss_mb']:.0f} MB |",
        f"| API requests (3 clusters) | {_verbs(cold['requests'])} |",
        f"| drift p50 / p99 / max ({len(drift['samples'])} patches) "
        f"| {drift['p50']:.3f} / {drift['p99']:.3f} / {drift['max']:.3f} s |",
        "",
    ]
    return "\n".join(lines)


def tables(results: Results, opts: Options, conditions: str) -> dict[str, str]:
    out = {}
    if results.b1:
        out["b1"] = b1_table(results, opts, conditions)
    if results.b2:
        out["b2"] = b2_table(results, opts, conditions)
    if results.b3:
        out["b3"] = b3_table(results, opts, conditions)
    if results.b4:
        out["b4"] = b4_table(results, opts, conditions)
    if results.b5:
        out["b5"] = b5_table(results, opts, conditions)
    if results.b7:
        out["b7"] = b7_table(results, opts, conditions)
    return out


def b7_table(results: Results, opts: Options, conditions: str) -> str:
    data = results.b7
    lines = _header(f"B7 {data['apps']:,} apps", "b7", opts, conditions)
    lines += [
        f"Each app: {' and '.join(data.get('kinds', []))} in its own namespace. Cold sync (as B1):",
        "",
        *b1_rows(data.get("rows", [])),
        "",
    ]
    settings = _settings_list(data.get("rows", []))
    if settings:
        lines += ["Settings (the budget: " + _budget(opts) + "):", "", *settings, ""]
    peers = data.get("peers") or {}
    columns = _contenders(data.get("b2", {}), peers, "b2")
    if columns:
        lines += ["B2 change latency at this N:", "", *_table(columns, B2_ROWS), ""]
    columns = _contenders(data.get("b3", {}), peers, "b3")
    if columns:
        lines += ["B3 drift latency at this N:", "", *_table(columns, LATENCY_ROWS), ""]
    columns = _contenders(data.get("b4", {}), peers, "b4")
    if columns:
        lines += ["B4 idle cost at this N:", "", *_table(columns, B4_ROWS), ""]
    return "\n".join(lines)


# -- plots ----------------------------------------------------------------------------------------


COLORS = {
    "gitward": "tab:blue",
    "kubectl": "tab:orange",
    "flux": "tab:green",
    "flux (tuned)": "tab:olive",
    "argocd": "tab:red",
}


def b1_series(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """For each contender, its finished (N, seconds) points of "applied" and of "ready" (Flux's from its
    wait-off and wait-on runs), ordered by N."""
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for row in rows:
        if not _finished(row):
            continue
        series = out.setdefault(row["contender"], {"applied": [], "ready": []})
        for key, field_name in (("applied", "wall_seconds"), ("ready", "ready_seconds")):
            if row.get(field_name) is not None:
                series[key].append((int(row["apps"]), float(row[field_name])))
    for series in out.values():
        for points in series.values():
            points.sort()
    return out


def plots(results: Results) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMAGES.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if results.b1:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for contender, series in sorted(b1_series(results.b1).items(), key=lambda kv: _rank(kv[0])):
            color, name = COLORS.get(contender, "tab:gray"), NAMES.get(contender, contender)
            for key, style, marker in (("ready", "-", "o"), ("applied", "--", "x")):
                if series[key]:
                    xs, ys = zip(*series[key], strict=True)
                    ax.plot(xs, ys, marker=marker, linestyle=style, color=color, label=f"{name}: {key}")
        ax.set_xlabel("apps (4 objects + namespace each)")
        ax.set_ylabel("seconds")
        ax.set_title("B1 cold sync (dashed: applied, solid: ready)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = IMAGES / "b1-cold-sync.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
        written.append(_b1_cost_plot(plt, results.b1))
    series = _latency_series(results)
    if series:
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.boxplot([[s["latency"] for s in d["samples"]] for _, d in series], whis=(0, 100))
        ax.set_xticks(range(1, len(series) + 1), [label for label, _ in series], fontsize=8)
        ax.set_ylabel("seconds")
        ax.set_yscale("log")
        ax.set_title("Latency to converged (whiskers: min and max)")
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        path = IMAGES / "b2-b3-latency.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _rank(contender: str) -> int:
    return CONTENDERS.index(contender) if contender in CONTENDERS else len(CONTENDERS)


def _b1_cost_plot(plt: Any, rows: list[dict[str, Any]]) -> Path:
    """CPU seconds and peak RSS of each contender's cold sync against N (its wait-on run for Flux)."""
    fig, (cpu_ax, rss_ax) = plt.subplots(1, 2, figsize=(9, 4))
    by: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if _finished(row) and row.get("mode") != "applied":
            by.setdefault(row["contender"], []).append(row)
    for contender, points in sorted(by.items(), key=lambda kv: _rank(kv[0])):
        points.sort(key=lambda r: r["apps"])
        color, name = COLORS.get(contender, "tab:gray"), NAMES.get(contender, contender)
        xs = [r["apps"] for r in points]
        if all(r.get("cpu_seconds") is not None for r in points):
            cpu_ax.plot(xs, [r["cpu_seconds"] for r in points], marker="o", color=color, label=name)
        if all(r.get("peak_rss_mb") is not None for r in points):
            rss_ax.plot(xs, [r["peak_rss_mb"] for r in points], marker="o", color=color, label=name)
    for ax, title, unit in ((cpu_ax, "CPU during the cold sync", "CPU seconds"), (rss_ax, "peak RSS", "MB")):
        ax.set_xlabel("apps")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = IMAGES / "b1-cost.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _latency_series(results: Results) -> list[tuple[str, dict[str, Any]]]:
    series: list[tuple[str, dict[str, Any]]] = []
    for key, title in (("b2", "B2 change"), ("b3", "B3 drift")):
        mine = getattr(results, key)
        if mine:
            series.append((f"{title}\ngitward", mine))
        for peer, data in sorted(results.peers.items()):
            if data.get(key):
                series.append((f"{title}\n{NAMES.get(peer, peer)}", data[key]))
    if results.b5:
        series.append(("B5 drift\n3 clusters", results.b5["b3"]))
    return series


# -- the document ---------------------------------------------------------------------------------

_INTRO = Path(__file__).with_name("benchmarks_intro.md")  # the top of a new docs/benchmarks.md


def update_doc(sections: dict[str, str], doc: Path = DOC) -> None:
    text = doc.read_text() if doc.exists() else _INTRO.read_text()
    for name in ("b1", "b2", "b3", "b4", "b5", "b7"):
        if name in sections:
            text = docsection.replace_section(text, name, sections[name])
    doc.write_text(text.rstrip() + "\n")
