"""Each throw-away server works with the standard clients (git, helm) and stops its processes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from devtools.gitservers import GIT_ENV, GitDaemonServer, HttpGitServer, SshGitServer, free_port
from devtools.helmrepo import HelmRepoServer
from devtools.toolchain import tool_path

from conftest import APP_FILES, BEARER_TOKEN, CHART_PASSWORD, CHART_USER, HTTP_PASSWORD, HTTP_USER

pytestmark = pytest.mark.integration


def run_git(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], env={**os.environ, **GIT_ENV, **(env or {})}, capture_output=True, text=True,
        timeout=60, check=check,
    )  # fmt: skip


def assert_clone_matches(url: str, dest: Path, expected_head: str, env: dict[str, str] | None = None) -> None:
    run_git("clone", "-q", url, str(dest), env=env)
    assert run_git("-C", str(dest), "rev-parse", "HEAD").stdout.strip() == expected_head
    assert (dest / "apps/web/deployment.yaml").read_text() == APP_FILES["apps/web/deployment.yaml"]


def test_file_server_clone_and_pull(file_server, tmp_path: Path) -> None:
    repo = file_server.create_repo("apps", APP_FILES, tags=("v1.0.0",))
    clone = tmp_path / "clone"
    assert_clone_matches(file_server.url("apps"), clone, repo.head())
    second = repo.commit({"apps/web/extra.yaml": "x: 1\n"}, tags=("v1.1.0",), annotated=True)
    run_git("-C", str(clone), "pull", "-q", "--tags")
    assert run_git("-C", str(clone), "rev-parse", "HEAD").stdout.strip() == second
    assert run_git("-C", str(clone), "rev-parse", "v1.1.0^{commit}").stdout.strip() == second


def test_git_daemon_clone_and_stop(tmp_path: Path) -> None:
    with GitDaemonServer(tmp_path / "daemon") as server:
        repo = server.create_repo("apps", APP_FILES)
        assert_clone_matches(server.url("apps"), tmp_path / "clone", repo.head())
        process = server.process
        url = server.url("apps")
    assert process is not None
    assert process.poll() is not None
    assert run_git("ls-remote", url, check=False).returncode != 0


def test_http_basic_auth(http_server: HttpGitServer, tmp_path: Path) -> None:
    repo = http_server.create_repo("apps", APP_FILES)
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(
        '#!/bin/sh\ncase "$1" in Username*) echo "$TEST_USER";; *) echo "$TEST_PASSWORD";; esac\n'
    )
    askpass.chmod(0o700)
    env = {"GIT_ASKPASS": str(askpass), "TEST_USER": HTTP_USER, "TEST_PASSWORD": HTTP_PASSWORD}
    assert_clone_matches(http_server.url("apps"), tmp_path / "clone", repo.head(), env=env)
    refused = run_git(
        "ls-remote", http_server.url("apps"), env={**env, "TEST_PASSWORD": "wrong"}, check=False
    )
    assert refused.returncode != 0
    anonymous = run_git("ls-remote", http_server.url("apps"), check=False)
    assert anonymous.returncode != 0
    assert http_server.rejected >= 2


def test_http_bearer_token(bearer_server: HttpGitServer, tmp_path: Path) -> None:
    repo = bearer_server.create_repo("apps", APP_FILES)

    def header_env(token: str) -> dict[str, str]:
        return {
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {token}",
        }  # fmt: skip

    assert_clone_matches(
        bearer_server.url("apps"), tmp_path / "clone", repo.head(), env=header_env(BEARER_TOKEN)
    )
    assert (
        run_git("ls-remote", bearer_server.url("apps"), env=header_env("nope"), check=False).returncode != 0
    )


def test_http_server_stop_closes_port(tmp_path: Path) -> None:
    server = HttpGitServer(tmp_path / "h")
    with server:
        repo = server.create_repo("apps", APP_FILES)
        assert_clone_matches(server.url("apps"), tmp_path / "clone", repo.head())
        url = server.url("apps")
    assert run_git("ls-remote", url, check=False).returncode != 0


def test_ssh_key_auth_and_known_hosts(ssh_server: SshGitServer, tmp_path: Path) -> None:
    repo = ssh_server.create_repo("apps", APP_FILES)
    env = {"GIT_SSH_COMMAND": ssh_server.ssh_command}
    assert_clone_matches(ssh_server.url("apps"), tmp_path / "clone", repo.head(), env=env)
    empty_known_hosts = tmp_path / "empty_known_hosts"
    empty_known_hosts.write_text("")
    strict_unknown = ssh_server.ssh_command.replace(str(ssh_server.known_hosts), str(empty_known_hosts))
    refused = run_git(
        "ls-remote", ssh_server.url("apps"), env={"GIT_SSH_COMMAND": strict_unknown}, check=False
    )
    assert refused.returncode != 0
    assert "Host key verification failed" in refused.stderr


def test_ssh_rejects_unknown_client_key(ssh_server: SshGitServer, tmp_path: Path) -> None:
    from devtools.gitservers import make_ssh_key

    ssh_server.create_repo("apps", APP_FILES)
    other = make_ssh_key(tmp_path / "other_key")
    command = ssh_server.ssh_command.replace(str(ssh_server.client_key), str(other))
    refused = run_git("ls-remote", ssh_server.url("apps"), env={"GIT_SSH_COMMAND": command}, check=False)
    assert refused.returncode != 0
    assert "Permission denied" in refused.stderr


def test_ssh_server_stops(tmp_path: Path) -> None:
    with SshGitServer(tmp_path / "s", port=free_port()) as server:
        process = server.process
    assert process is not None
    assert process.poll() is not None


def helm(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        "HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"), "PATH": "/usr/bin:/bin",
    }  # fmt: skip
    done = subprocess.run(
        [str(tool_path("helm")), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"helm {args[0]} failed: {done.stderr}")
    return done


def test_helm_repo_add_and_pull(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    helm_repo.add_chart("podinfo", "1.0.0")
    helm_repo.add_chart("podinfo", "1.2.0")
    home = tmp_path / "helmhome"
    (tmp_path / "out").mkdir()
    helm(home, "repo", "add", "local", helm_repo.url)
    found = helm(home, "search", "repo", "local/podinfo", "--versions").stdout
    assert "1.2.0" in found
    assert "1.0.0" in found
    helm(home, "pull", "local/podinfo", "--version", "1.0.0", "--destination", str(tmp_path / "out"))
    assert (tmp_path / "out" / "podinfo-1.0.0.tgz").is_file()


def test_helm_repo_basic_auth(helm_repo_auth: HelmRepoServer, tmp_path: Path) -> None:
    helm_repo_auth.add_chart("podinfo", "2.0.0")
    home = tmp_path / "helmhome"
    (tmp_path / "out").mkdir()
    refused = helm(home, "repo", "add", "bad", helm_repo_auth.url, "--username", CHART_USER,
                   "--password", "wrong", check=False)  # fmt: skip
    assert refused.returncode != 0
    helm(
        home,
        "repo",
        "add",
        "good",
        helm_repo_auth.url,
        "--username",
        CHART_USER,
        "--password",
        CHART_PASSWORD,
    )
    helm(home, "pull", "good/podinfo", "--destination", str(tmp_path / "out"))
    assert (tmp_path / "out" / "podinfo-2.0.0.tgz").is_file()
