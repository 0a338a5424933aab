"""Fixtures shared by every test tier: real local Kubernetes clusters, started once and always stopped.

One cluster serves the whole integration run (started lazily, the first time a test asks for it); a
second one is started on demand for multi-cluster tests. ``GITWARD_TEST_KUBECONFIG`` points the suite
at an already-running cluster instead (it is then never stopped).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from devtools import localcluster, toolchain


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    """A CI time limit sends SIGTERM: end like Ctrl-C, so every fixture stops what it started."""
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _terminate_as_interrupt)


@dataclass(frozen=True)
class ClusterHandle:
    name: str
    kubeconfig: Path

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        return toolchain.kubectl(self.kubeconfig, *args, stdin=stdin, check=check)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))


def _start(prefix: str) -> Iterator[ClusterHandle]:
    name = f"{prefix}-{os.getpid()}"
    cluster = localcluster.up(name)
    try:
        yield ClusterHandle(name, cluster.kubeconfig)
    finally:
        localcluster.down(name)


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[ClusterHandle]:
    existing = os.environ.get("GITWARD_TEST_KUBECONFIG")
    if existing:
        yield ClusterHandle("external", Path(existing))
        return
    yield from _start("test")


@pytest.fixture(scope="session")
def second_cluster() -> Iterator[ClusterHandle]:
    yield from _start("test2")


@pytest.fixture(scope="session")
def tools() -> dict[str, Path]:
    """Paths of the pinned tools (built by ``./dev setup``; built here if missing)."""
    return toolchain.build_all()
