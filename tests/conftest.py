"""Fixtures shared by every test tier: real local Kubernetes clusters and a real PostgreSQL server,
started once and always stopped.

One cluster serves the whole integration run (started lazily, the first time a test asks for it); a
second one is started on demand for multi-cluster tests. ``GITWARD_TEST_KUBECONFIG`` points the suite
at an already-running cluster instead (it is then never stopped). One PostgreSQL server
(``devtools/postgres.py``) is started the first time a test asks for a database, and each such test
gets a database of its own, dropped after it.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from devtools import localcluster, toolchain
from devtools.postgres import PostgresServer


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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


_DATABASES = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new empty database (``postgresql://gitward@127.0.0.1:PORT/NAME?passfile=FILE``)."""
    name = f"test_{os.getpid()}_{next(_DATABASES)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)
