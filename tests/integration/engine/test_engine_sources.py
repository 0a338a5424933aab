"""Sources end to end: every Git transport and credential kind, bad credentials, and revisions.

Each test syncs a real app into the real cluster through the in-process engine and asserts the live
objects and the app's status, so a transport or a revision kind that stops working fails here even
when the source-level tests still pass.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from devtools.gitservers import FileGitServer, GitDaemonServer, GitServer, HttpGitServer, SshGitServer
from tests.integration.engine.harness import Harness, application, configmap

from gitward.api import create_app

pytestmark = pytest.mark.integration

HTTP_USER = "deployer"
HTTP_PASSWORD = "pw-0f3c9e1a7b5d"
WRONG_PASSWORD = "pw-wrong-84d2c6a1e9"
BEARER_TOKEN = "tok-5a7e1c9b3d0f2468"
API_TOKEN = "api-token-0123456789abcdef"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def repository(name: str, url: str, **spec: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": name},
        "spec": {"url": url, **spec},
    }


def secret_file(directory: Path, name: str, value: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


@dataclass
class Transport:
    """A started Git server plus the Repository objects a client needs to reach it."""

    server: GitServer
    credentials: list[dict[str, Any]]

    def used(self) -> bool:
        """Evidence from the server side that the client came through this transport."""
        if isinstance(self.server, HttpGitServer):
            return self.server.requests > self.server.rejected
        if isinstance(self.server, SshGitServer):
            return "Accepted publickey" in (self.server.root / "sshd.log").read_text()
        return True


def _start(kind: str, root: Path) -> Transport:
    secrets = root / "secrets"
    if kind == "file":
        return Transport(FileGitServer(root / "file").__enter__(), [])
    if kind == "git":
        return Transport(GitDaemonServer(root / "daemon").__enter__(), [])
    if kind == "http-basic":
        server = HttpGitServer(root / "http", username=HTTP_USER, password=HTTP_PASSWORD).__enter__()
        password = secret_file(secrets, "password", HTTP_PASSWORD)
        creds = repository(
            "http-basic", f"http://127.0.0.1:{server.port}/", username=HTTP_USER, passwordFile=str(password)
        )
        return Transport(server, [creds])
    if kind == "http-bearer":
        server = HttpGitServer(root / "bearer", bearer_token=BEARER_TOKEN).__enter__()
        token = secret_file(secrets, "token", BEARER_TOKEN)
        creds = repository("http-bearer", f"http://127.0.0.1:{server.port}/", bearerTokenFile=str(token))
        return Transport(server, [creds])
    assert kind == "ssh"
    ssh = SshGitServer(root / "sshd").__enter__()
    creds = repository(
        "ssh",
        f"ssh://{ssh.user}@127.0.0.1:{ssh.port}/",
        sshPrivateKeyFile=str(ssh.client_key),
        knownHostsFile=str(ssh.known_hosts),
    )
    return Transport(ssh, [creds])


@pytest.fixture(params=["file", "git", "http-basic", "http-bearer", "ssh"])
def transport(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Transport]:
    started = _start(str(request.param), tmp_path / "transport")
    try:
        yield started
    finally:
        started.server.stop()


async def test_app_syncs_and_follows_commits_over_each_git_transport(
    harness: Harness, transport: Transport, namespace: str, kube_cluster: Any
) -> None:
    name = unique("src")
    repo = transport.server.create_repo(name, {"app/config.yaml": configmap("settings", {"color": "blue"})})
    url = transport.server.url(name)
    harness.configure(*transport.credentials, application(name, repo=url, path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    live = kube_cluster.get_json("configmap", "settings", "-n", namespace)
    assert live["data"] == {"color": "blue"}
    assert harness.app(name)["sync"]["revision"] == repo.head()

    # A second commit proves the transport keeps working for fetches into an existing mirror.
    repo.commit({"app/config.yaml": configmap("settings", {"color": "green"})}, message="green")
    await engine.refresh_app(name)
    await harness.until(lambda: harness.app(name)["sync"]["revision"] == repo.head())
    assert harness.is_synced_healthy(name)
    assert kube_cluster.get_json("configmap", "settings", "-n", namespace)["data"] == {"color": "green"}
    assert harness.app(name)["sync"]["revision"] == repo.head()
    assert transport.used()


@pytest.fixture
def basic_server(tmp_path: Path) -> Iterator[HttpGitServer]:
    with HttpGitServer(tmp_path / "http", username=HTTP_USER, password=HTTP_PASSWORD) as server:
        yield server


def _leaked(texts: list[str]) -> list[str]:
    """Which secrets appear in any of ``texts`` (names only, so a failure never prints a secret)."""
    named = {"wrong password": WRONG_PASSWORD, "password": HTTP_PASSWORD}
    return [label for label, value in named.items() if any(value in text for text in texts)]


async def test_wrong_password_shows_a_fetch_error_without_the_password_then_recovers(
    harness: Harness, basic_server: HttpGitServer, tmp_path: Path, namespace: str, kube_cluster: Any
) -> None:
    name = unique("badpw")
    repo = basic_server.create_repo(name, {"app/config.yaml": configmap("settings", {"color": "blue"})})
    password_file = secret_file(tmp_path / "secrets", "password", WRONG_PASSWORD)
    prefix = f"http://127.0.0.1:{basic_server.port}/"
    creds = repository("http", prefix, username=HTTP_USER, passwordFile=str(password_file))
    harness.configure(creds, application(name, repo=basic_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()

    def failed_fetch() -> bool:
        ready = [c for c in harness.app(name)["conditions"] if c["type"] == "Ready"]
        return bool(ready and ready[0]["status"] == "False" and ready[0]["reason"] == "FetchFailed")

    await harness.until(failed_fetch)
    assert basic_server.rejected > 0  # the server really refused the wrong password
    summary = harness.app(name)

    transport = httpx.ASGITransport(app=create_app(engine, token=API_TOKEN))
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers) as client:
        api_app = (await client.get(f"/api/v1/apps/{name}")).text
        api_list = (await client.get("/api/v1/apps")).text
        api_events = (await client.get("/api/v1/events")).text
    texts = [json.dumps(summary), json.dumps(engine.events(name)), api_app, api_list, api_events]
    texts += [json.dumps(engine.list_apps()), json.dumps(engine.history(name))]
    leaked = _leaked(texts)
    # Checked first, so no later assertion can print a secret in its failure report.
    assert not leaked, f"secret(s) shown to users: {leaked}"
    assert summary["message"].startswith(f"git fetch of {basic_server.url(name)} failed")
    assert summary["sync"]["revision"] == ""
    assert f'"name":"{name}"' in api_app
    assert "FetchFailed" in api_events
    assert kube_cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name", check=False) == ""

    # Credentials are read at use: fixing the file is enough, no restart.
    secret_file(tmp_path / "secrets", "password", HTTP_PASSWORD)
    await engine.refresh_app(name)
    await harness.until(lambda: harness.is_synced_healthy(name))
    assert kube_cluster.get_json("configmap", "settings", "-n", namespace)["data"] == {"color": "blue"}
    assert harness.app(name)["sync"]["revision"] == repo.head()
    leaked = _leaked([json.dumps(engine.events(name)), json.dumps(harness.app(name))])
    assert not leaked, f"secret(s) shown to users: {leaked}"


def _version_files(version: str) -> dict[str, str | bytes | None]:
    return {"app/config.yaml": configmap("release", {"version": version})}


async def test_revisions_tag_semver_range_and_commit_sha(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("rev")
    repo = git_server.create_repo(name, _version_files("0.9.0"), tags=("v0.9.0",))
    first = repo.head()
    v100 = repo.commit(_version_files("1.0.0"), message="1.0.0", tags=("v1.0.0",), annotated=True)
    v120 = repo.commit(_version_files("1.2.0"), message="1.2.0", tags=("v1.2.0",))
    repo.commit(_version_files("2.0.0"), message="2.0.0", tags=("v2.0.0",), annotated=True)
    repo.commit(_version_files("main"), message="untagged work on main")
    url = git_server.url(name)
    apps = {
        "tag": ("v1.0.0", f"{namespace}-tag"),
        "range": (">=1.0 <2", f"{namespace}-range"),
        "sha": (first, f"{namespace}-sha"),
    }
    harness.configure(
        *(
            application(f"{name}-{kind}", repo=url, path="app", namespace=ns, source={"revision": rev})
            for kind, (rev, ns) in apps.items()
        )
    )
    engine = await harness.start()
    for kind in apps:
        await harness.until(lambda kind=kind: harness.is_synced_healthy(f"{name}-{kind}"))

    def version(kind: str) -> str:
        data = kube_cluster.get_json("configmap", "release", "-n", apps[kind][1])["data"]
        return str(data["version"])

    assert (version("tag"), version("range"), version("sha")) == ("1.0.0", "1.2.0", "0.9.0")
    revisions = [harness.app(f"{name}-{kind}")["sync"]["revision"] for kind in apps]
    assert revisions == [v100, v120, first]  # annotated tags resolve to their commit

    # A new tag inside the range moves the range app; the pinned tag and SHA stay where they are.
    v130 = repo.commit(_version_files("1.3.0"), message="1.3.0", tags=("v1.3.0",))
    repo.commit(_version_files("2.1.0"), message="2.1.0", tags=("v2.1.0",))
    for kind in apps:
        await engine.refresh_app(f"{name}-{kind}")
    await harness.until(lambda: harness.app(f"{name}-range")["sync"]["revision"] == v130)
    await harness.until(lambda: harness.is_synced_healthy(f"{name}-range"))
    assert (version("tag"), version("range"), version("sha")) == ("1.0.0", "1.3.0", "0.9.0")
    assert harness.app(f"{name}-tag")["sync"]["revision"] == v100
    assert harness.app(f"{name}-sha")["sync"]["revision"] == first
