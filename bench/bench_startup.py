"""``./dev bench startup``: how long gitward takes to start, which is most of what a user waits for at
a small N (docs/benchmarks.md, "Start-up").

Measured from outside, wall time from just before the process is started, ``--runs`` times each:

- ``import gitward.cli.main``: ``python -c`` of the console script's module (what every command pays);
- ``gitward --help``;
- ``gitward app list``: the CLI finding the local server (its record in ``XDG_STATE_HOME``) and
  listing the apps over the API, against a ``gitward run`` that is already serving;
- the libraries alone: a fresh interpreter importing, in the same order and with the collector
  paused as ``gitward run`` has it, every third-party module that importing ``gitward run``'s modules
  loads (``RUN_MODULES``), and no gitward module. What no change inside gitward can go below: the
  floor under "start to ``/healthz``";
- ``gitward run`` with a small config (``--startup-apps`` apps of one ConfigMap each, on a fresh local
  cluster, a fresh state file each run): until ``/healthz`` answers, and until the first app and then
  every app reports Synced. Each run's apps have names and namespaces of their own, so every run
  creates its objects (a real first sync, not an adoption of the previous run's).

``--baseline REV`` measures the source of an older commit as well (``git archive REV src``, put first
on ``PYTHONPATH``), alternating with the current code run by run so both see the same machine load.

Both are measured as installed packages run: with their bytecode compiled first (``compileall``, as
``pip install`` does), and ``PYTHONDONTWRITEBYTECODE`` removed from the children's environment. Without
bytecode every gitward module is compiled from source at every start (about 0.3 s on a 2-core
machine), which no installed gitward pays. One unmeasured run of each command comes first (disk cache).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from devtools.gitservers import create_repo

from bench import docsection
from bench.gitwardproc import GITWARD, GitwardProcess

DOC = docsection.DOC
POLL = 0.005  # seconds between two probes of a starting server
RUN_TIMEOUT = 120.0


@dataclass
class StartupOptions:
    runs: int = 10
    apps: int = 3
    baseline: str | None = None  # a commit whose src is measured alongside the current code
    apiserver_args: tuple[str, ...] = ()


@dataclass
class Variant:
    """One version of gitward: the installed one (``source`` None) or an exported ``src`` folder."""

    label: str
    source: Path | None

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        if self.source is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.source), env.get("PYTHONPATH")) if p)
        env.update(extra or {})
        return env


def timed(args: list[str], env: dict[str, str]) -> float:
    """Seconds from just before ``args`` start until they exit (their output thrown away)."""
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def compile_bytecode(source: Path) -> None:
    """The ``.pyc`` files of ``source``'s gitward package, as an install writes them."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(source / "gitward")], check=True)


def export_source(revision: str, into: Path) -> Path:
    """``src`` of ``revision`` written under ``into`` (read from the repository, nothing changed there)."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", revision, "src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


# -- the CLI ---------------------------------------------------------------------------------------

# The modules ``gitward run`` imports before it serves and syncs: the command group, the command, and
# what the command imports when it runs (the engine, the API server, the UI's renderer).
RUN_MODULES = (
    "gitward.cli.main",
    "gitward.cli.run",
    "gitward.reconcile.engine",
    "gitward.api.server",
    "gitward.ui.render",
)

# Prints, in import order, the modules outside the standard library and gitward that importing
# RUN_MODULES loads (those already loaded at interpreter start left out).
_LIST_LIBRARIES = """
import importlib, sys
before = set(sys.modules)
for name in sys.argv[1:]:
    importlib.import_module(name)
stdlib = sys.stdlib_module_names
for name in list(sys.modules):
    root = name.partition(".")[0]
    if name not in before and root not in stdlib and root != "gitward":
        print(name)
"""

# Imports the modules named on its command line, in order, with the collector paused as ``gitward
# run`` pauses it; a module that only loads as a side effect of another (and fails alone) is skipped.
_IMPORT_LIBRARIES = """
import gc, importlib, sys
gc.disable()
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""


def run_libraries(env: dict[str, str]) -> list[str]:
    """The third-party modules ``gitward run`` loads, in the order it loads them."""
    listed = subprocess.run(
        [sys.executable, "-c", _LIST_LIBRARIES, *RUN_MODULES],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


def measure_cli(variants: list[Variant], runs: int) -> dict[str, dict[str, list[float]]]:
    """``import gitward.cli.main``, ``gitward --help`` and the libraries ``gitward run`` loads, alone,
    alternating variants run by run."""
    out: dict[str, dict[str, list[float]]] = {
        v.label: {"import": [], "help": [], "libraries": []} for v in variants
    }
    libraries = {v.label: run_libraries(v.env()) for v in variants}
    for variant in variants:  # unmeasured: files into the disk cache
        timed([str(GITWARD), "--help"], variant.env())
        timed([sys.executable, "-c", _IMPORT_LIBRARIES, *libraries[variant.label]], variant.env())
    for _ in range(runs):
        for variant in variants:
            env = variant.env()
            out[variant.label]["import"].append(timed([sys.executable, "-c", "import gitward.cli.main"], env))
            out[variant.label]["help"].append(timed([str(GITWARD), "--help"], env))
            loading = [sys.executable, "-c", _IMPORT_LIBRARIES, *libraries[variant.label]]
            out[variant.label]["libraries"].append(timed(loading, env))
    return out


def measure_app_list(variants: list[Variant], runs: int, process: GitwardProcess) -> dict[str, list[float]]:
    """``gitward app list`` finding ``process`` through its local-server record, as a user's would."""
    out: dict[str, list[float]] = {v.label: [] for v in variants}
    for index in range(runs + 1):
        for variant in variants:
            env = variant.env({"XDG_STATE_HOME": str(process.root / "xdg")})
            took = timed([str(GITWARD), "app", "list"], env)
            if index:  # the first round is unmeasured
                out[variant.label].append(took)
    return out


# -- gitward run -----------------------------------------------------------------------------------


def small_repo(root: Path) -> Path:
    """A bare repository with one plain-YAML folder holding a ConfigMap; its ``file://`` URL is used."""
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hello"}, "data": {"k": "v"}}
    repo = create_repo(root / "apps.git", root / "work", {"app/configmap.yaml": yaml.safe_dump(configmap)})
    return repo.bare


def run_config(kubeconfig: Path, repo: Path, *, apps: int, tag: str) -> str:
    """One Cluster and ``apps`` Applications named ``<tag>-N`` (namespaces of the same name)."""
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kubeconfig)},
        }
    ]
    for i in range(apps):
        docs.append(
            {
                "apiVersion": "gitward.dev/v1alpha1",
                "kind": "Application",
                "metadata": {"name": f"{tag}-{i}"},
                "spec": {
                    "source": {"repoURL": repo.as_uri(), "revision": "main", "path": "app"},
                    "destination": {"cluster": "local", "namespace": f"{tag}-{i}"},
                    "syncPolicy": {"automated": {"prune": True}, "options": ["CreateNamespace=true"]},
                },
            }
        )
    return yaml.safe_dump_all(docs)


def wait_serving(process: GitwardProcess, http: httpx.Client) -> float:
    deadline = time.perf_counter() + RUN_TIMEOUT
    while time.perf_counter() < deadline:
        process.check_alive()
        try:
            if http.get(f"{process.url}/healthz", timeout=2).status_code == 200:
                return time.perf_counter() - process.started_at
        except httpx.HTTPError:
            pass
        time.sleep(POLL)
    raise RuntimeError(f"gitward run did not serve; read {process.log}")


def wait_synced(process: GitwardProcess, http: httpx.Client, apps: int) -> tuple[float, float]:
    """Seconds from process start until the first app, then every app, reported Synced."""
    token = process.token_file.read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    first: float | None = None
    deadline = time.perf_counter() + RUN_TIMEOUT
    while time.perf_counter() < deadline:
        process.check_alive()
        listed = http.get(f"{process.url}/api/v1/apps", headers=headers, timeout=10)
        listed.raise_for_status()
        synced = sum(1 for app in listed.json() if (app.get("sync") or {}).get("status") == "Synced")
        now = time.perf_counter() - process.started_at
        if synced and first is None:
            first = now
        if synced >= apps:
            return first or now, now
        time.sleep(POLL * 4)
    raise RuntimeError(f"apps not Synced after {RUN_TIMEOUT} s; read {process.log}")


def one_run(
    variant: Variant, work: Path, kubeconfig: Path, repo: Path, *, apps: int, tag: str
) -> dict[str, float]:
    config = work / tag / "config" / "gitward.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(run_config(kubeconfig, repo, apps=apps, tag=tag))
    process = GitwardProcess(root=work / tag / "gitward", config=config.parent, source=variant.source)
    process.start()
    try:
        with httpx.Client() as http:
            serving = wait_serving(process, http)
            first, every = wait_synced(process, http, apps)
    finally:
        process.stop()
    return {"serving": serving, "first_synced": first, "all_synced": every}


def measure_run(
    variants: list[Variant], opts: StartupOptions, work: Path, kubeconfig: Path, log: Callable[[str], None]
) -> tuple[dict[str, dict[str, list[float]]], GitwardProcess]:
    """``opts.runs`` starts of ``gitward run`` per variant, alternating; then one more of the current
    code left serving, for ``app list``."""
    repo = small_repo(work / "git")
    out: dict[str, dict[str, list[float]]] = {
        v.label: {"serving": [], "first_synced": [], "all_synced": []} for v in variants
    }
    for run in range(opts.runs + 1):  # run 0 is unmeasured (disk cache, the cluster's first writes)
        for index, variant in enumerate(variants):
            result = one_run(variant, work, kubeconfig, repo, apps=opts.apps, tag=f"st{run}v{index}")
            log(f"{variant.label} run {run}: " + ", ".join(f"{k} {v:.3f} s" for k, v in result.items()))
            for key, value in result.items():
                if run:
                    out[variant.label][key].append(value)
    config = work / "serving" / "config" / "gitward.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(run_config(kubeconfig, repo, apps=opts.apps, tag="serving"))
    process = GitwardProcess(root=work / "serving" / "gitward", config=config.parent)
    process.start()
    process.client()
    return out, process


def run(opts: StartupOptions, log: Callable[[str], None]) -> dict[str, Any]:
    import gitward
    from bench.bench_scale import clusters

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the children run as installed (module doc)
    load_before = os.getloadavg()
    label = docsection.commit() or "current"
    with tempfile.TemporaryDirectory(prefix="gitward-bench-startup-") as tmp:
        work = Path(tmp)
        variants = [Variant(label, None)]
        if opts.baseline:
            (work / "baseline").mkdir()
            variants.insert(0, Variant(opts.baseline, export_source(opts.baseline, work / "baseline")))
        for variant in variants:
            compile_bytecode(variant.source or Path(gitward.__file__).parent.parent)
        log(f"CLI: {opts.runs} runs of the import and --help per variant (load {os.getloadavg()[0]:.2f})")
        cli = measure_cli(variants, opts.runs)
        with clusters([f"bench-startup-{os.getpid()}"], list(opts.apiserver_args)) as (cluster,):
            load = os.getloadavg()[0]
            log(f"gitward run: {opts.runs} starts of {opts.apps} apps per variant (load {load:.2f})")
            runs, process = measure_run(variants, opts, work, cluster.kubeconfig, log)
            try:
                listing = measure_app_list(variants, opts.runs, process)
            finally:
                process.stop()
    results: dict[str, Any] = {}
    for variant in variants:
        label = variant.label
        results[label] = {
            "import": summary(cli[label]["import"]),
            "help": summary(cli[label]["help"]),
            "libraries": summary(cli[label]["libraries"]),
            "app_list": summary(listing[label]),
            **{key: summary(values) for key, values in runs[label].items()},
        }
    return {
        "runs": opts.runs,
        "apps": opts.apps,
        "variants": [v.label for v in variants],
        "results": results,
        "commit": docsection.commit(),
        "cores": os.cpu_count() or 0,
        "load_before": load_before[0],
        "load_after": os.getloadavg()[0],
    }


# -- the report ------------------------------------------------------------------------------------

ROWS = (
    ("import", "`python -c 'import gitward.cli.main'`"),
    ("help", "`gitward --help`"),
    ("app_list", "`gitward app list` (3 apps, local server)"),
    ("libraries", "the third-party modules `gitward run` loads, imported alone (no gitward module)"),
    ("serving", "`gitward run`: start to `/healthz` answering"),
    ("first_synced", "`gitward run`: start to the first app Synced"),
    ("all_synced", "`gitward run`: start to every app Synced"),
)


def report(result: dict[str, Any], command: str) -> str:
    variants: list[str] = result["variants"]
    header = "| | " + " | ".join(f"{v} p50 | {v} p95" for v in variants) + " |"
    lines = [
        "### Start-up",
        "",
        f"`{command}` at {result['commit']}: wall time from just before the process starts until it "
        f"exits (the CLI) or until the API answers and the apps are Synced (`gitward run` with "
        f"{result['apps']} apps of one ConfigMap each on a fresh local cluster, a fresh state file each "
        f"start); {result['runs']} runs each after one unmeasured, the variants alternating run by run, "
        "each with its bytecode compiled (as an install has it).",
        "",
        header,
        "|---|" + "---:|" * (2 * len(variants)),
    ]
    for key, label in ROWS:
        if any(key not in result["results"][variant] for variant in variants):
            continue  # a row measured only since a later commit
        label = label.replace("3 apps", f"{result['apps']} apps")
        cells = []
        for variant in variants:
            numbers = result["results"][variant][key]
            cells += [f"{numbers['p50']:.2f} s", f"{numbers['p95']:.2f} s"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    busy = result["load_before"] > 0.5
    lines += [
        "",
        f"Machine: {result['cores']} cores, load average {result['load_before']:.2f} before and "
        f"{result['load_after']:.2f} after the run"
        + (
            ": the machine was busy, so every figure is high; compare the columns, not the numbers."
            if busy
            else "."
        ),
    ]
    return "\n".join(lines)


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the ``startup`` section of docs/benchmarks.md (between its markers), or append it."""
    docsection.write_section("startup", section, doc=doc)
