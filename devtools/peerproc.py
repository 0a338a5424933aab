"""What the benchmark peers (Flux, Argo CD) have in common: child processes measured from outside.

Why one module: each peer runs a few Go controllers as plain processes next to a local cluster, and the
benchmarks read the same things from every one of them: CPU seconds and peak RSS from ``/proc``, and the
Kubernetes requests their client counted, from their Prometheus ``/metrics`` page. Measured the same
way for every peer, the figures can stand side by side.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

STOP_GRACE = 10.0


@dataclass
class ProcessUsage:
    """What the kernel counted for one process: CPU (user + system, its own and that of the children it
    waited for, e.g. the ``git`` Argo CD's repo-server runs) and resident memory (peak and now)."""

    cpu_seconds: float
    peak_rss_mb: float
    rss_mb: float = 0.0
    children_cpu_seconds: float = 0.0

    @property
    def total_cpu_seconds(self) -> float:
        return self.cpu_seconds + self.children_cpu_seconds


def process_usage(pid: int) -> ProcessUsage:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # fields[0] is field 3 of stat (state): utime, stime, cutime, cstime are fields 14..17
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    children = (int(fields[13]) + int(fields[14])) / ticks
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return ProcessUsage(
        cpu,
        int(hwm.group(1)) / 1024 if hwm else 0.0,
        int(rss.group(1)) / 1024 if rss else 0.0,
        children,
    )


def total_usage(usages: Iterable[ProcessUsage]) -> ProcessUsage:
    """Several processes as one: CPU and memory added up (peaks too: an upper bound of the joint peak)."""
    out = ProcessUsage(0.0, 0.0)
    for u in usages:
        out.cpu_seconds += u.cpu_seconds
        out.peak_rss_mb += u.peak_rss_mb
        out.rss_mb += u.rss_mb
        out.children_cpu_seconds += u.children_cpu_seconds
    return out


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 (loopback)
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def http_text(url: str, timeout: float = 10.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (loopback)
        return bytes(resp.read()).decode()


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def counter_by_label(text: str, metric: str, label: str) -> dict[str, float]:
    """The samples of one counter in a Prometheus text page, summed by one label's value.

    How the peers' own client libraries count their Kubernetes requests: client-go's
    ``rest_client_requests_total{method=...}`` (Flux, through controller-runtime) and Argo CD's
    ``argocd_kubectl_requests_total{method=...}``."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match.group("name") != metric:
            continue
        labels = dict(_LABEL.findall(match.group("labels") or ""))
        key = labels.get(label, "?")
        with contextlib.suppress(ValueError):
            out[key] = out.get(key, 0.0) + float(match.group("value"))
    return out


def requests_by_verb(counts: dict[str, float]) -> dict[str, int]:
    """HTTP methods as the verbs the benchmark tables show (lower case, whole numbers, zeros left out)."""
    out: dict[str, int] = {}
    for method, value in counts.items():
        if round(value):
            out[method.lower()] = out.get(method.lower(), 0) + round(value)
    return out


def minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in sorted(set(after) | set(before))}


@dataclass
class Child:
    """One peer process: its command line, environment, log file, and the process once started."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_contains(self, needle: str) -> bool:
        with contextlib.suppress(OSError):
            return needle in self.log.read_text(errors="replace")
        return False

    def usage(self) -> ProcessUsage | None:
        if self.process is None or not self.running():
            return None
        return process_usage(self.process.pid)

    def wait_until(self, ready: Callable[[], bool], timeout: float, error: type[Exception]) -> None:
        """Poll ``ready`` until true; an exit or ``timeout`` raises ``error`` naming the log to read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise error(f"{self.name} exited with code {self.process.returncode}; read {self.log}")
            if ready():
                return
            time.sleep(0.05)
        raise error(f"{self.name} not ready after {timeout:.0f}s; read {self.log}")


def stop_all(children: Iterable[Child]) -> None:
    """SIGTERM to every running child, then SIGKILL to those still running after the grace period."""
    started = [c for c in children if c.process is not None]
    for child in started:
        if child.running():
            assert child.process is not None
            child.process.terminate()
    for child in started:
        assert child.process is not None
        try:
            child.process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait(timeout=STOP_GRACE)
