"""Fault F1 (docs/reliability.md): the Git server goes down or hangs, then comes back on the same URL.

While it is down the app must say why (Ready False, a fetch reason), keep the last good revision
applied, leave other apps alone and keep retrying with backoff on its own; once the server is back,
the retries alone bring the app to the newest commit, and later commits are followed as before.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from devtools.gitservers import FileGitServer, GitDaemonServer, HttpGitServer
from tests.integration.engine.harness import Harness, application, configmap

from gitward.core.backoff import Backoff, BackoffPolicy

pytestmark = pytest.mark.integration


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


class BlackHole:
    """Accepts TCP connections on a port and never answers: a Git server that hangs."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, name="black-hole", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.sock.accept()[0])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=10)
        for conn in self.accepted:
            conn.close()


@dataclass
class Outage:
    """One way for a Git server to fail, and its repair on the same port."""

    server: GitDaemonServer | HttpGitServer
    hangs: bool
    black_hole: BlackHole | None = None

    def begin(self) -> None:
        self.server.stop()
        if self.hangs:
            self.black_hole = BlackHole(self.server.port)

    def end(self) -> None:
        if self.black_hole is not None:
            self.black_hole.close()
            self.black_hole = None
        self.server.start()


@pytest.fixture(params=["git-daemon-down", "smart-http-down", "git-daemon-hangs"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    server: GitDaemonServer | HttpGitServer
    if str(request.param).startswith("git-daemon"):
        server = GitDaemonServer(tmp_path / "daemon")
    else:
        server = HttpGitServer(tmp_path / "http")
    server.start()
    fault = Outage(server, hangs=str(request.param).endswith("hangs"))
    try:
        yield fault
    finally:
        if fault.black_hole is not None:
            fault.black_hole.close()
        server.stop()


def _record_delays(backoff: Backoff, name: str) -> list[float]:
    """Spy on the backoff: the retry delays chosen for ``name``, in order (no clock involved)."""
    delays: list[float] = []
    original = backoff.record_failure

    def record_failure(key: str, policy: BackoffPolicy) -> float | None:
        delay = original(key, policy)
        if key == name and delay is not None:
            delays.append(delay)
        return delay

    backoff.record_failure = record_failure  # type: ignore[method-assign]
    return delays


def _ready(harness: Harness, name: str) -> dict[str, Any]:
    return next(c for c in harness.app(name)["conditions"] if c["type"] == "Ready")


async def test_git_server_down_keeps_last_good_state_retries_and_converges_when_back(
    harness: Harness,
    outage: Outage,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
) -> None:
    name, bystander = unique("f1"), unique("f1-other")
    flaky_server = outage.server
    repo = flaky_server.create_repo(name, {"app/config.yaml": configmap("settings", {"build": "1"})})
    good = repo.head()
    url = flaky_server.url(name)
    git_server.create_repo(bystander, {"app/config.yaml": configmap("other", {"ok": "yes"})})
    harness.configure(
        application(name, repo=url, path="app", namespace=namespace),
        application(bystander, repo=git_server.url(bystander), path="app", namespace=f"{namespace}-b"),
    )
    # a hung server costs each attempt the fetch timeout: 4 s here, not the default two minutes
    engine = await harness.start(fetch_timeout=4.0)
    await harness.until(lambda: harness.is_synced_healthy(name) and harness.is_synced_healthy(bystander))
    port = flaky_server.port

    delays = _record_delays(engine.backoff, name)

    outage.begin()
    second = repo.commit({"app/config.yaml": configmap("settings", {"build": "2"})}, message="build 2")
    writes = harness.writes()
    await engine.refresh_app(name)

    ready = _ready(harness, name)
    assert ready["status"] == "False"
    if outage.hangs:
        assert ready["reason"] == "FetchTimeout"
        assert f"git fetch of {url} timed out" in ready["message"]
        assert outage.black_hole is not None
        assert outage.black_hole.accepted  # git really reached the hung server
    else:
        assert ready["reason"] == "FetchFailed"
        assert f"git fetch of {url} failed" in ready["message"]
    assert "retrying in" in ready["message"]
    summary = harness.app(name)
    assert summary["sync"]["revision"] == good  # the last good revision is still what is applied
    assert kube_cluster.get_json("configmap", "settings", "-n", namespace)["data"] == {"build": "1"}
    warnings = [e for e in engine.events(name) if e["reason"] == ready["reason"]]
    assert warnings
    assert warnings[0]["type"] == "Warning"

    # Retried on its own (no trigger from here), each time after a backoff delay.
    fetches = engine.fetcher.git.fetch_count
    await harness.until(lambda: engine.backoff.failures(name) >= 3, within=60)
    assert engine.fetcher.git.fetch_count >= fetches + 2
    assert engine.runtimes[name].retry_at is not None
    # The harness asks for 1s doubling up to 5s (10% jitter): each wait is longer than the one before.
    assert delays[0] < delays[1] < delays[2] <= 5.5
    assert harness.writes() == writes  # nothing applied, nothing pruned while the source is unknown
    assert harness.is_synced_healthy(bystander)
    assert kube_cluster.get_json("configmap", "settings", "-n", namespace)["data"] == {"build": "1"}

    outage.end()
    assert flaky_server.url(name) == url
    assert flaky_server.port == port
    await harness.until(lambda: harness.app(name)["sync"]["revision"] == second, within=60)
    await harness.until(lambda: harness.is_synced_healthy(name))
    assert kube_cluster.get_json("configmap", "settings", "-n", namespace)["data"] == {"build": "2"}
    assert _ready(harness, name)["status"] == "True"
    assert engine.backoff.failures(name) == 0

    # After the outage the mirror works as before: a new commit is followed.
    third = repo.commit({"app/config.yaml": configmap("settings", {"build": "3"})}, message="build 3")
    await engine.refresh_app(name)
    assert harness.app(name)["sync"]["revision"] == third
    assert kube_cluster.get_json("configmap", "settings", "-n", namespace)["data"] == {"build": "3"}
