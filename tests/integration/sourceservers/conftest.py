"""Fixtures: one started source server per test, always stopped afterwards (even when a test fails)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from devtools.gitservers import FileGitServer, GitDaemonServer, HttpGitServer, SshGitServer
from devtools.helmrepo import HelmRepoServer

HTTP_USER = "deployer"
HTTP_PASSWORD = "s3cret-http-password"
BEARER_TOKEN = "tok-0123456789abcdef"
CHART_USER = "charts"
CHART_PASSWORD = "s3cret-chart-password"

APP_FILES = {
    "README.md": "demo\n",
    "apps/web/deployment.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
    "apps/api/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: api}\n",
}


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileGitServer]:
    with FileGitServer(tmp_path / "file") as server:
        yield server


@pytest.fixture
def daemon_server(tmp_path: Path) -> Iterator[GitDaemonServer]:
    with GitDaemonServer(tmp_path / "daemon") as server:
        yield server


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpGitServer]:
    with HttpGitServer(tmp_path / "http", username=HTTP_USER, password=HTTP_PASSWORD) as server:
        yield server


@pytest.fixture
def bearer_server(tmp_path: Path) -> Iterator[HttpGitServer]:
    with HttpGitServer(tmp_path / "bearer", bearer_token=BEARER_TOKEN) as server:
        yield server


@pytest.fixture
def ssh_server(tmp_path: Path) -> Iterator[SshGitServer]:
    with SshGitServer(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def helm_repo(tmp_path: Path) -> Iterator[HelmRepoServer]:
    with HelmRepoServer(tmp_path / "helmrepo") as server:
        yield server


@pytest.fixture
def helm_repo_auth(tmp_path: Path) -> Iterator[HelmRepoServer]:
    with HelmRepoServer(tmp_path / "helmrepo-auth", username=CHART_USER, password=CHART_PASSWORD) as server:
        yield server
