"""Markdown tables and PNG plots of the B1-B5 results, and their sections in docs/benchmarks.md.

Each benchmark owns one section of the document between ``<!-- bench:bN -->`` and ``<!-- /bench:bN -->``
markers; a run replaces only the sections it measured, so ``./dev bench b3`` leaves B1's table alone.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

from devtools import toolchain

from bench.bench_scale import Options, Results

DOCS = Path(__file__).resolve().parent.parent / "docs"
DOC = DOCS / "benchmarks.md"
IMAGES = DOCS / "benchmarks"

TARGETS = {
    "b1": "1000 apps within 1.5x kubectl and faster than Flux; RSS < 250 MB",
    "b2": "p50 < 1 s, p99 < 3 s, 1 render per commit",
    "b3": "p50 < 1 s, p99 < 3 s",
    "b4": "< 2 % of one core, 0 writes",
    "b5": "as B1 and B3",
}


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
    parts = ["./dev bench", name, f"--apps {opts.apps}"]
    if name in ("b1", "all"):
        parts.append("--sizes " + ",".join(str(s) for s in opts.sizes))
    if name in ("b4", "all"):
        parts.append(f"--idle {opts.idle_seconds:g} --interval {opts.interval}")
    parts += [f"--apiserver-arg={a}" for a in opts.apiserver_args]
    if opts.source is not None:
        parts.append(f"--gitward-src {opts.source}")
    return " ".join(parts)


def _num(value: Any, fmt: str = ".2f", unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:{fmt}}{unit}"


def _verbs(requests: dict[str, Any]) -> str:
    if not requests:
        return "-"
    total = sum(int(v) for v in requests.values())
    return f"{total} (" + ", ".join(f"{k} {int(v)}" for k, v in sorted(requests.items()) if v) + ")"


def _values(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _header(title: str, name: str, opts: Options, conditions: str) -> list[str]:
    lines = [f"### {title}", "", f"Machine: {machine()}.", "", f"Command: `{command(name, opts)}`.", ""]
    if opts.apiserver_args:
        lines += [
            "API-server limits were lifted for this run: kube-apiserver ran with "
            + " ".join(f"`{a}`" for a in opts.apiserver_args)
            + ".",
            "",
        ]
    lines += [f"Conditions: {conditions}", "", f"Target: {TARGETS[name]}.", ""]
    return lines


def _finished(row: dict[str, Any]) -> bool:
    """Measured to the end: not skipped, and (Flux) every Kustomization Ready before the timeout."""
    done, _, total = str(row.get("ready", "")).partition("/")
    return "skipped" not in row and (not total or done == total)


def b1_table(results: Results, opts: Options, conditions: str) -> str:
    lines = _header("B1 cold sync", "b1", opts, conditions)
    lines += [
        "| N apps | contender | wall (s) | to all ready (s) | CPU (s) | peak RSS (MB) | API requests "
        "| vs kubectl |",
        "|---:|---|---:|---:|---:|---:|---|---:|",
    ]
    kubectl = {r["apps"]: r for r in results.b1 if r["contender"] == "kubectl"}
    for row in sorted(results.b1, key=lambda r: (r["apps"], r["contender"])):
        if "skipped" in row:
            lines.append(f"| {row['apps']} | {row['contender']} | not run: {row['skipped']} | | | | | |")
            continue
        if not _finished(row):
            done = row.get("ready", "?")
            lines.append(
                f"| {row['apps']} | {row['contender']} | not finished: {done} Ready after "
                f"{_num(row['wall_seconds'])} s | | {_num(row['cpu_seconds'])} | "
                f"{_num(row['peak_rss_mb'], '.0f')} | | |"
            )
            continue
        base = kubectl.get(row["apps"])
        ratio = ""
        if base and row["contender"] != "kubectl":
            ratio = (
                f"{row['wall_seconds'] / base['wall_seconds']:.2f}x wall, "
                f"{row['ready_seconds'] / base['ready_seconds']:.2f}x ready"
            )
        lines.append(
            f"| {row['apps']} | {row['contender']} | {_num(row['wall_seconds'])} "
            f"| {_num(row['ready_seconds'])} "
            f"| {_num(row['cpu_seconds'])} | {_num(row['peak_rss_mb'], '.0f')} | {_verbs(row['requests'])} "
            f"| {ratio} |"
        )
    lines += [
        "",
        '"wall" is the apply part: kubectl\'s one `apply --server-side` of every object (namespaces '
        "first), gitward's time until every app was Synced with a succeeded operation, Flux's time until "
        'every Kustomization was Ready. "to all ready" adds the wait until every Deployment is '
        "available (gitward: Synced and Healthy; Flux: Kustomizations with `spec.wait`). That wait is "
        "bounded by the cluster itself (kube-controller-manager creating ReplicaSets and Pods at its "
        "default client QPS, kwok starting them), the same for every contender. gitward's times start at "
        "process start (interpreter, config load, state database); its CPU includes the git and render "
        "subprocesses it ran. kubectl's requests are counted from its `-v=6` log; Flux's CPU and RSS are "
        "its two controllers' (source- and kustomize-controller) during the run.",
        "",
    ]
    if (IMAGES / "b1-cold-sync.png").exists():
        lines += ["![B1 cold sync: time to all ready against N](benchmarks/b1-cold-sync.png)", ""]
    return "\n".join(lines)


def _latency_rows(data: dict[str, Any]) -> list[str]:
    return [
        "| measure | value |",
        "|---|---|",
        f"| N apps / clusters | {data['apps']} / {data['clusters']} |",
        f"| samples | {len(data['samples'])} |",
        f"| p50 | {data['p50']:.3f} s |",
        f"| p99 | {data['p99']:.3f} s |",
        f"| max | {data['max']:.3f} s |",
    ]


def b2_table(results: Results, opts: Options, conditions: str) -> str:
    data = results.b2
    lines = _header("B2 change latency (push -> webhook -> cluster)", "b2", opts, conditions)
    lines += _latency_rows(data)
    push = [s["push"] for s in data["samples"]]
    hook = [s["webhook"] for s in data["samples"]]
    lines += [
        f"| renders per commit (render cache misses) | {_values(data['renders_per_commit'])} |",
        f"| Git fetches per commit | {_values(data['fetches_per_commit'])} |",
        f"| of which `git push` (median) | {sorted(push)[len(push) // 2]:.3f} s |",
        f"| webhook answer time (median) | {sorted(hook)[len(hook) // 2]:.3f} s |",
        "",
        "Each commit changes one app's ConfigMap; the clock starts before `git push` and stops when a GET "
        "(every 20 ms) returns the new value. The webhook is a signed `generic` Receiver POST sent right "
        "after the push.",
        "",
    ]
    if (IMAGES / "b2-b3-latency.png").exists():
        lines += ["![B2 and B3 latency distributions](benchmarks/b2-b3-latency.png)", ""]
    return "\n".join(lines)


def b3_table(results: Results, opts: Options, conditions: str, data: dict[str, Any] | None = None) -> str:
    data = data or results.b3
    lines = _header("B3 drift latency (out-of-band patch -> healed)", "b3", opts, conditions)
    lines += _latency_rows(data)
    lines += [
        "",
        "Alternately a ConfigMap's data and a Deployment's container image are patched with a strategic "
        "merge patch under another field manager; the clock stops when a GET shows Git's value again.",
        "",
    ]
    return "\n".join(lines)


def b4_table(results: Results, opts: Options, conditions: str) -> str:
    data = results.b4
    lines = _header("B4 idle cost", "b4", opts, conditions)
    lines += [
        "| measure | value |",
        "|---|---|",
        f"| N apps, resync interval | {data['apps']}, {data['interval']} |",
        f"| window | {data['seconds']:.0f} s |",
        f"| CPU (gitward + children) | {data['cpu_seconds']:.2f} s = "
        f"{data['cpu_percent']:.2f} % of one core |",
        f"| of which children (git, renderers) | {data.get('cpu_children_seconds', 0):.2f} s |",
        f"| API requests by verb | {_verbs(data['requests'])} |",
        f"| writes (apply, dry-run, delete, other) | {data['writes']} |",
        f"| full reconcile passes in the window | {_verbs(data['reconciles']) if data['reconciles'] else 0} "
        "|",
        f"| interval passes skipped (nothing changed) | {data.get('resyncs_skipped', '-')} |",
        f"| renders / Git fetch calls in the window (concurrent calls share one fetch) | {data['renders']} "
        f"/ {data['fetches']} |",
        f"| RSS at the end / max in the window / peak since start | {data['rss_mb']:.0f} / "
        f"{data['rss_max_mb']:.0f} / {data['peak_rss_mb']:.0f} MB |",
        f"| load average (1/5 min) at the end | {data.get('load', '-')} |",
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
    return out


# -- plots ----------------------------------------------------------------------------------------


def plots(results: Results) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMAGES.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if results.b1:
        fig, ax = plt.subplots(figsize=(6, 4))
        colors = {"gitward": "tab:blue", "kubectl": "tab:orange", "flux": "tab:green"}
        for contender, color in colors.items():
            rows = sorted(
                (r for r in results.b1 if r["contender"] == contender and _finished(r)),
                key=lambda r: r["apps"],
            )
            if not rows:
                continue
            xs = [r["apps"] for r in rows]
            ax.plot(
                xs, [r["ready_seconds"] for r in rows], marker="o", color=color, label=f"{contender}: ready"
            )
            ax.plot(
                xs,
                [r["wall_seconds"] for r in rows],
                marker="x",
                linestyle="--",
                color=color,
                label=f"{contender}: applied",
            )
        ax.set_xlabel("apps (4 objects + namespace each)")
        ax.set_ylabel("seconds")
        ax.set_title("B1 cold sync")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = IMAGES / "b1-cold-sync.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    series = [(label, data) for label, data in (("B2 change", results.b2), ("B3 drift", results.b3)) if data]
    if results.b5:
        series.append(("B5 drift, 3 clusters", results.b5["b3"]))
    if series:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.boxplot([[s["latency"] for s in d["samples"]] for _, d in series], whis=(0, 100))
        ax.set_xticks(range(1, len(series) + 1), [label for label, _ in series])
        ax.set_ylabel("seconds")
        ax.set_title("Latency to converged (whiskers: min and max)")
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        path = IMAGES / "b2-b3-latency.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


# -- the document ---------------------------------------------------------------------------------

_INTRO = Path(__file__).with_name("benchmarks_intro.md")  # the top of a new docs/benchmarks.md


def update_doc(sections: dict[str, str], doc: Path = DOC) -> None:
    text = doc.read_text() if doc.exists() else _INTRO.read_text()
    for name in ("b1", "b2", "b3", "b4", "b5"):
        if name not in sections:
            continue
        block = f"<!-- bench:{name} -->\n{sections[name].rstrip()}\n<!-- /bench:{name} -->"
        pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _m, b=block: b, text)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text.rstrip() + "\n")
