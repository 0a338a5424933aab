"""Identities end to end: the real ``gitward run --tls auto`` process, the CLI, and a real Dex.

One server per module, with two projects (an app in each), RoleBindings for an OIDC user and an OIDC
group, and an OIDCProvider pointing at Dex (built from the Go module proxy, started here on
loopback). The tests run in file order: TLS first, then API tokens by role, then logins through Dex
(CLI and web session). What is checked is what a user sees: exit statuses, CLI output, history.
"""

from __future__ import annotations

import json
import re
import ssl
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from devtools import dex as dexserver
from devtools.gitservers import HttpGitServer
from tests.e2e.conftest import _environment
from tests.e2e.process import GITWARD, GitwardProcess, application, configmap, free_port, unique

pytestmark = pytest.mark.e2e


class TlsGitward(GitwardProcess):
    """``gitward run`` with ``--tls auto``."""

    def start(self, config: Path) -> None:
        state = self.root / "state" / "state.db"
        args = [str(GITWARD), "run", "--config", str(config), "--state", str(state), "--tls", "auto"]
        args += ["--listen", f"127.0.0.1:{self.port}"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        process = self.process
        self.until(lambda: self.server_json.exists() or process.poll() is not None)
        assert self.server_json.exists(), self.log_text()


@dataclass(frozen=True)
class World:
    gitward: TlsGitward
    dex: dexserver.DexServer
    app_a: str  # project team-a
    app_b: str  # project team-b
    url: str
    cert: Path

    def as_token(self, token: str, *args: str) -> Any:
        """The CLI with ``GITWARD_TOKEN`` (found through discovery otherwise)."""
        env = {**self.gitward.env, "GITWARD_TOKEN": token}
        out = subprocess.run([str(GITWARD), *args], env=env, capture_output=True, text=True, timeout=300)
        self.gitward.outputs += [out.stdout, out.stderr]
        return out


def _project(name: str) -> dict[str, Any]:
    return {"apiVersion": "gitward.dev/v1alpha1", "kind": "Project", "metadata": {"name": name}, "spec": {}}


def _access_objects(issuer: str, secret_file: Path) -> list[dict[str, Any]]:
    def binding(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "RoleBinding",
            "metadata": {"name": name},
            "spec": spec,
        }

    provider = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "OIDCProvider",
        "metadata": {"name": "dex"},
        "spec": {
            "issuer": issuer,
            "clientID": dexserver.WEB_CLIENT,
            "cliClientID": dexserver.CLI_CLIENT,
            "clientSecretFile": str(secret_file),
        },
    }
    return [
        provider,
        binding("alice-team-a", {"role": "deployer", "project": "team-a", "users": [dexserver.USER_EMAIL]}),
        binding("authors-view", {"role": "viewer", "groups": [dexserver.MOCK_GROUP]}),
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any, tools: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("access")
    app_a, app_b = unique("a"), unique("b")
    port = free_port()
    dex = dexserver.DexServer(root / "dex", free_port(), [f"https://127.0.0.1:{port}/auth/callback"])
    with HttpGitServer(root / "git") as git, dex:
        git.create_repo("apps", {f"{n}/cfg.yaml": configmap("cfg", {"n": n}) for n in (app_a, app_b)})
        config = root / "config"
        config.mkdir()
        secret = config / "dex-client-secret"
        secret.write_text(dex.client_secret)
        cluster = {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": "local"},
            "spec": {"kubeconfig": str(kube_cluster.kubeconfig)},
        }
        apps = []
        for name, project in ((app_a, "team-a"), (app_b, "team-b")):
            app = application(name, repo=git.url("apps"), path=name, namespace=f"gw-{name}", self_heal=False)
            app["spec"]["project"] = project
            apps.append(app)
        documents = [
            cluster,
            _project("team-a"),
            _project("team-b"),
            *apps,
            *_access_objects(dex.issuer, secret),
        ]
        (config / "gitward.yaml").write_text(yaml.safe_dump_all(documents, sort_keys=False))
        gitward = TlsGitward(root=root, env=_environment(root), port=port)
        gitward.start(config)
        try:
            cert = root / "state" / "tls.crt"
            yield World(gitward, dex, app_a, app_b, f"https://127.0.0.1:{port}", cert)
        finally:
            gitward.kill()
            for name in (app_a, app_b):
                kube_cluster.kubectl(
                    "delete", "namespace", f"gw-{name}", "--wait=false", "--ignore-not-found"
                )


def _create(world: World, *args: str) -> str:
    out = world.gitward.ok("token", "create", *args)
    token = out.stdout.strip()
    assert token.startswith("gwt_"), out.stdout
    return token


def test_tls_auto_is_verified_by_the_cli(world: World) -> None:
    gw = world.gitward
    assert stat.S_IMODE((world.cert.parent / "tls.key").stat().st_mode) == 0o600
    listed = gw.until(lambda: (r := gw.cli("app", "list", "-o", "json")).code == 0 and r)
    assert {a["name"] for a in listed.json()} == {world.app_a, world.app_b}  # local: the announced cert
    # The same server by another name: not the announced local server, so nothing is trusted by itself.
    remote_url = world.url.replace("127.0.0.1", "localhost")
    remote = {**gw.env, "GITWARD_SERVER": remote_url, "GITWARD_TOKEN": gw.token()}
    refused = subprocess.run(
        [str(GITWARD), "app", "list"], env=remote, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 1
    assert "is not trusted" in refused.stderr
    assert "--ca-file" in refused.stderr
    trusted = subprocess.run(
        [str(GITWARD), "app", "list", "--ca-file", str(world.cert)],
        env=remote,
        capture_output=True,
        text=True,
    )
    assert trusted.returncode == 0, trusted.stderr
    assert world.app_a in trusted.stdout


def test_a_viewer_token_reads_but_cannot_sync(world: World) -> None:
    viewer = _create(world, "--role", "viewer", "--name", "dash")
    assert world.as_token(viewer, "app", "get", world.app_a).returncode == 0
    refused = world.as_token(viewer, "app", "sync", world.app_a)
    assert refused.returncode == 1
    assert "Forbidden (403)" in refused.stderr
    assert f"token:dash may not sync application '{world.app_a}'" in refused.stderr
    assert "a role with 'sync' on applications" in refused.stderr


def test_a_deployer_syncs_and_history_and_events_name_it(world: World) -> None:
    deployer = _create(world, "--role", "deployer", "--name", "ci")
    synced = world.as_token(deployer, "app", "sync", world.app_a)
    assert synced.returncode == 0, synced.stderr
    history = world.as_token(deployer, "app", "history", world.app_a, "-o", "json")
    assert json_of(history)[0]["initiator"] == "token:ci"
    assert "token:ci" in world.as_token(deployer, "app", "history", world.app_a).stdout
    events = world.as_token(deployer, "app", "events", world.app_a).stdout
    assert "by token:ci" in events


def test_a_project_deployer_cannot_sync_another_project(world: World) -> None:
    team_a = _create(world, "--role", "deployer", "--project", "team-a")
    assert world.as_token(team_a, "app", "sync", world.app_a).returncode == 0
    refused = world.as_token(team_a, "app", "sync", world.app_b)
    assert refused.returncode == 1
    assert "in project 'team-b'" in refused.stderr
    listed = json_of(world.as_token(team_a, "app", "list", "-o", "json"))
    assert [a["name"] for a in listed] == [world.app_a]


def test_list_shows_no_secret_and_a_revoked_token_is_refused(world: World) -> None:
    token = _create(world, "--role", "viewer", "--name", "short-lived")
    token_id = token.split("_")[1]
    listing = world.gitward.ok("token", "list").stdout
    assert token_id in listing
    assert token not in listing
    assert token[len("gwt_") + 13 :] not in listing  # the secret part
    assert world.as_token(token, "app", "list").returncode == 0
    world.gitward.ok("token", "revoke", token_id)
    refused = world.as_token(token, "app", "list")
    assert refused.returncode == 1
    assert f"API token {token_id} was revoked" in refused.stderr
    assert "revoked" in world.gitward.ok("token", "list").stdout


def test_an_expired_token_is_refused(world: World) -> None:
    token = _create(world, "--role", "viewer", "--expires", "2s")
    refused = world.gitward.until(lambda: "has expired" in world.as_token(token, "app", "list").stderr)
    assert refused


def _login(world: World, connector: str) -> subprocess.CompletedProcess[str]:
    """``gitward login --no-browser``, with Dex's pages driven as a browser would."""
    process = subprocess.Popen(
        [str(GITWARD), "login", "--no-browser", "--timeout", "120"],
        env=world.gitward.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    url = ""
    for line in process.stderr:
        if line.startswith("http"):
            url = line.strip()
            break
    assert url.startswith(world.dex.issuer), url
    landed = dexserver.browser_login(url, connector=connector, issuer=world.dex.issuer)
    assert landed.status_code == 200
    stdout, stderr = process.communicate(timeout=120)
    world.gitward.outputs += [stdout, stderr]
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_an_oidc_user_logs_in_through_dex_and_gets_the_bound_role(world: World) -> None:
    login = _login(world, "local")
    assert login.returncode == 0, login.stderr
    assert f"logged in as {dexserver.USER_EMAIL}" in login.stdout
    assert "deployer on team-a" in login.stdout
    gw = world.gitward
    assert gw.cli("app", "sync", world.app_a).code == 0  # the stored login, through discovery
    refused = gw.cli("app", "sync", world.app_b)
    assert refused.code == 1
    assert f"{dexserver.USER_EMAIL} may not sync application '{world.app_b}'" in refused.stderr
    assert (
        json_of_cli(gw.cli("app", "history", world.app_a, "-o", "json"))[0]["initiator"]
        == dexserver.USER_EMAIL
    )


def test_an_oidc_group_is_mapped_to_its_role(world: World) -> None:
    login = _login(world, "mock")
    assert login.returncode == 0, login.stderr
    assert f"logged in as {dexserver.MOCK_EMAIL} (groups: {dexserver.MOCK_GROUP}" in login.stdout
    assert "viewer on every project" in login.stdout
    gw = world.gitward
    assert gw.cli("app", "get", world.app_b).code == 0
    refused = gw.cli("app", "sync", world.app_b)
    assert refused.code == 1
    assert "Forbidden (403)" in refused.stderr
    gw.ok("logout")


def test_a_web_login_makes_a_session_whose_writes_need_the_csrf_header(world: World) -> None:
    trust = ssl.create_default_context(cafile=str(world.cert))
    landed = dexserver.browser_login(
        f"{world.url}/auth/login?next=/", connector="local", issuer=world.dex.issuer, verify=trust
    )
    assert landed.status_code == 303
    session, csrf = landed.cookies["gitward_session"], landed.cookies["gitward_csrf"]
    with httpx.Client(base_url=world.url, verify=trust, cookies={"gitward_session": session}) as web:
        assert web.get("/api/v1/whoami").json()["name"] == dexserver.USER_EMAIL
        sync = f"/api/v1/apps/{world.app_a}/sync"
        assert web.post(sync).status_code == 401
        assert web.post(sync, headers={"X-Gitward-CSRF": csrf}, timeout=300).status_code == 200
        assert (
            web.post(f"/api/v1/apps/{world.app_b}/sync", headers={"X-Gitward-CSRF": csrf}).status_code == 403
        )


def test_no_secret_reaches_any_output_or_the_log(world: World) -> None:
    gw = world.gitward
    secrets = [gw.token(), world.dex.client_secret, dexserver.PASSWORD]
    logins = Path(gw.env["XDG_STATE_HOME"]) / "gitward" / "logins.json"
    if logins.exists():
        assert stat.S_IMODE(logins.stat().st_mode) == 0o600
    texts = [*gw.outputs, gw.log_text()]
    created = [m for t in gw.outputs for m in re.findall(r"gwt_[0-9a-f]{12}_\S+", t)]
    for secret in secrets:
        assert not any(secret in t for t in texts)
    assert created
    assert not any(token in gw.log_text() for token in created)  # shown once, to its creator only


def json_of(out: Any) -> Any:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def json_of_cli(result: Any) -> Any:
    assert result.code == 0, result.stderr
    return result.json()
