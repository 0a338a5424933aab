"""``gitward run`` as a separate process, measured from outside: CPU and RSS from ``/proc/<pid>``,
app status from the HTTP API, engine counters (renders, fetches, Kubernetes requests by verb) from
``/metrics``.

Why a separate process: the benchmark's own work (polling, Git pushes, the Kubernetes client that
watches for changes) must not be billed to gitward. CPU includes the children gitward waited for
(git, kustomize, helm: ``cutime``/``cstime``); RSS is the gitward process itself (``VmRSS``, ``VmHWM``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from devtools import toolchain
from prometheus_client.parser import text_string_to_metric_families

GITWARD = Path(sys.executable).with_name("gitward")
_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_split(pid: int) -> tuple[float, float]:
    """(own, children's) user + system CPU seconds of ``pid``; children: those it has waited for."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14..17
    own = (int(fields[11]) + int(fields[12])) / _TICK
    children = (int(fields[13]) + int(fields[14])) / _TICK
    return own, children


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def memory_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of ``pid`` in MiB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


@dataclass
class Metrics:
    """One ``/metrics`` scrape, reduced to what the benchmarks read."""

    render_misses: float = 0.0
    render_hits: float = 0.0
    fetches: float = 0.0
    queue_depth: float = 0.0
    resyncs_skipped: float = 0.0
    replica_apps: float = 0.0  # with several replicas: the apps this one owns
    apps: dict[tuple[str, str], int] = field(default_factory=dict)  # by (sync, health)
    requests: dict[str, float] = field(default_factory=dict)  # by verb, all clusters and codes
    reconciles: dict[str, float] = field(default_factory=dict)  # by result

    def minus(self, before: Metrics) -> Metrics:
        def sub(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
            return {k: a.get(k, 0.0) - b.get(k, 0.0) for k in sorted(set(a) | set(b))}

        return Metrics(
            render_misses=self.render_misses - before.render_misses,
            render_hits=self.render_hits - before.render_hits,
            fetches=self.fetches - before.fetches,
            queue_depth=self.queue_depth,
            resyncs_skipped=self.resyncs_skipped - before.resyncs_skipped,
            requests=sub(self.requests, before.requests),
            reconciles=sub(self.reconciles, before.reconciles),
        )


def parse_metrics(text: str) -> Metrics:
    out = Metrics()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name.startswith("gitward_render_cache_misses"):
                out.render_misses = value
            elif name.startswith("gitward_render_cache_hits"):
                out.render_hits = value
            elif name == "gitward_queue_depth":
                out.queue_depth = value
            elif name == "gitward_resyncs_skipped_total":
                out.resyncs_skipped = value
            elif name == "gitward_replica_apps":
                out.replica_apps = value
            elif name == "gitward_apps":
                out.apps[(labels.get("sync", ""), labels.get("health", ""))] = int(value)
            elif name == "gitward_git_fetch_duration_seconds_count":
                out.fetches += value
            elif name.startswith("gitward_kube_requests") and not name.endswith("_created"):
                verb = labels.get("verb", "?")
                out.requests[verb] = out.requests.get(verb, 0.0) + value
            elif name == "gitward_reconcile_duration_seconds_count":
                result = labels.get("result", "?")
                out.reconciles[result] = out.reconciles.get(result, 0.0) + value
    return out


@dataclass
class GitwardProcess:
    """One ``gitward run`` with its own state folder and ``XDG_STATE_HOME``."""

    root: Path
    config: Path
    port: int = field(default_factory=free_port)
    source: Path | None = None  # a gitward ``src`` folder to run instead of the installed package
    profile: Path | None = None  # write py-spy's collapsed stacks of the whole run here
    state_url: str | None = None  # a PostgreSQL ``--state`` instead of the SQLite file under ``root``
    extra_args: list[str] = field(default_factory=list)  # more ``gitward run`` options (``--ha ...``)
    process: subprocess.Popen[bytes] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    _http: httpx.Client | None = None

    @property
    def state(self) -> Path:
        return self.root / "state" / "state.db"

    @property
    def token_file(self) -> Path:
        """The admin token: next to the SQLite file, or named after the PostgreSQL URL."""
        if self.state_url is None:
            return self.state.with_name(f"{self.state.stem}.token")
        from gitward.cli.run import state_anchor

        anchor = state_anchor(self.state_url, self.root / "xdg" / "gitward")
        return anchor.with_name(f"{anchor.stem}.token")

    @property
    def log(self) -> Path:
        return self.root / "gitward.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
        env["XDG_STATE_HOME"] = str(self.root / "xdg")
        env["GITWARD_KUSTOMIZE"] = str(toolchain.tool_path("kustomize"))
        env["GITWARD_HELM"] = str(toolchain.tool_path("helm"))
        if self.source is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.source), env.get("PYTHONPATH")) if p)
        args = [
            str(GITWARD),
            "run",
            "--config",
            str(self.config),
            "--state",
            self.state_url or str(self.state),
        ]
        args += ["--listen", f"127.0.0.1:{self.port}", *self.extra_args]
        self.root.mkdir(parents=True, exist_ok=True)
        self.started_at = time.perf_counter()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        if self.profile is not None:
            self._attach_profiler(self.profile)

    def _attach_profiler(self, output: Path) -> None:
        """py-spy samples the running process from outside (it ends, and writes, when gitward exits);
        attaching keeps ``pid`` gitward's own, so CPU and RSS are still gitward's."""
        spy = Path(sys.executable).with_name("py-spy")
        args = [str(spy), "record", "--pid", str(self.pid), "--rate", "50", "--subprocesses"]
        args += ["--format", "raw", "--output", str(output), "--nonblocking"]
        self.profiler = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def client(self, timeout: float = 300.0) -> httpx.Client:
        """The API client, once the server has written its token (waits for it)."""
        if self._http is not None:
            return self._http
        token_file = self.token_file
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            if token_file.exists() and token_file.read_text().strip():
                try:
                    httpx.get(f"{self.url}/healthz", timeout=2).raise_for_status()
                    break
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gitward run did not start; read {self.log}")
            time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=60)
        return self._http

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"gitward run exited with {self.process.returncode}; read {self.log}")

    def apps(self) -> list[dict[str, Any]]:
        response = self.client().get("/api/v1/apps")
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def app(self, name: str) -> dict[str, Any]:
        response = self.client().get(f"/api/v1/apps/{name}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def metrics(self) -> Metrics:
        response = self.client().get("/metrics")
        response.raise_for_status()
        return parse_metrics(response.text)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def cpu_split(self) -> tuple[float, float]:
        return cpu_split(self.pid)

    def memory(self) -> tuple[float, float]:
        return memory_mb(self.pid)

    def wait_all_ready(
        self, names: Iterable[str], *, timeout: float, poll: float = 0.5
    ) -> tuple[float, float]:
        """Seconds from process start until every app was Synced, and until every app is also Healthy.

        Polls the ``gitward_apps`` gauge (a few lines of ``/metrics``), not the app list: listing a
        thousand apps every half second would bill gitward for the benchmark's own watching. The list
        is read once at the end to check every app by name (Synced after a succeeded operation).
        """
        wanted = set(names)
        deadline = time.perf_counter() + timeout
        self.client()
        synced_at: float | None = None
        while True:
            self.check_alive()
            states = self.metrics().apps
            synced = sum(n for (sync, _), n in states.items() if sync == "Synced")
            ready = states.get(("Synced", "Healthy"), 0)
            now = time.perf_counter() - self.started_at
            if synced >= len(wanted) and synced_at is None:
                synced_at = now
            if ready >= len(wanted):
                self._check_all_ready(wanted)
                return synced_at or now, now
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{len(wanted) - ready} apps not ready after {timeout}s: {states}")
            time.sleep(poll)

    def _check_all_ready(self, wanted: set[str]) -> None:
        found = {app["name"]: app for app in self.apps() if app["name"] in wanted}
        bad = [
            name
            for name in sorted(wanted)
            if name not in found
            or found[name]["sync"].get("status") != "Synced"
            or found[name]["health"].get("status") != "Healthy"
            or (found[name].get("operation") or {}).get("phase") != "Succeeded"
        ]
        if bad:
            raise RuntimeError(
                f"{len(bad)} apps counted ready but not Synced, Healthy and Succeeded: {bad[:5]}"
            )

    def wait_idle(self, *, quiet: float = 3.0, timeout: float = 300.0) -> None:
        """Until the queue is empty and no reconcile finished for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        previous = sum(self.metrics().reconciles.values())
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            current = self.metrics()
            total = sum(current.reconciles.values())
            if total != previous or current.queue_depth:
                previous, since = total, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.profiler is not None:
            self.profiler.wait(timeout=60)
