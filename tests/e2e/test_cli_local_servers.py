"""Two ``gitward run`` processes of one user, on different state files: the CLI lists them and asks
for ``--server`` instead of guessing; once one stops (cleanly or killed), the other is found alone.

No cluster is needed: the servers have no apps, and ``app list`` only asks their API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.e2e.conftest import _environment
from tests.e2e.process import GitwardProcess, free_port

pytestmark = pytest.mark.e2e


def _config(root: Path) -> Path:
    config = root / "config"
    config.mkdir(parents=True)
    cluster = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "elsewhere"},
        "spec": {"kubeconfig": "/nonexistent/kubeconfig"},
    }
    (config / "gitward.yaml").write_text(yaml.safe_dump(cluster))
    return config


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[GitwardProcess, GitwardProcess]]:
    env = _environment(tmp_path)  # one user: the same XDG_STATE_HOME for both servers and the CLI
    first = GitwardProcess(root=tmp_path / "one", env=env, port=free_port())
    second = GitwardProcess(root=tmp_path / "two", env=env, port=free_port())
    try:
        for process in (first, second):
            process.root.mkdir()
            process.start(_config(process.root))
        yield first, second
    finally:
        first.kill()
        second.kill()


def _url(process: GitwardProcess) -> str:
    return f"http://127.0.0.1:{process.port}"


def test_two_local_servers_are_listed_and_either_can_be_chosen(
    servers: tuple[GitwardProcess, GitwardProcess],
) -> None:
    first, second = servers
    assert first.server_json != second.server_json  # each server its own record
    guessed = first.cli("app", "list")
    assert guessed.code == 1
    message = guessed.stderr
    assert "2 local gitward servers are running" in message
    assert "--server" in message
    for process in (first, second):
        assert process.process is not None
        assert f"{_url(process)}  state {process.state_file}  pid {process.process.pid}" in message
    for process in (first, second):  # the chosen one's own token file is used
        assert first.ok("app", "list", "-o", "json", "--server", _url(process)).json() == []


def test_after_one_stops_the_other_is_found_alone(servers: tuple[GitwardProcess, GitwardProcess]) -> None:
    first, second = servers
    assert first.interrupt() == 0
    assert not first.server_json.exists()  # a clean exit removes its record
    assert second.ok("app", "list", "-o", "json").json() == []


def test_the_record_of_a_killed_server_is_ignored(servers: tuple[GitwardProcess, GitwardProcess]) -> None:
    first, second = servers
    first.kill()  # SIGKILL: the record stays behind
    assert first.server_json.exists()
    assert second.ok("app", "list", "-o", "json").json() == []
