"""Access control with ``gitward run --from-cluster``: Roles, RoleBindings and an OIDCProvider are
custom resources, and the real Dex is the provider.

One real ``gitward run --from-cluster --kubeconfig`` process reads one namespace of the test cluster,
where the tests create (with kubectl) two Projects with an app each, a custom Role, RoleBindings for
a Dex user and a Dex group, and an OIDCProvider whose web client's secret is in a Secret
(``secretRef``). The tests run in file order, each driving the process with kubectl, the CLI and a
scripted browser only: a viewer token cannot sync; the user bound per project syncs its project's
app and not the other's; a group gets its custom Role; the web login reads the client secret from
the Secret at each login; an edited RoleBinding changes access without a restart; an OIDCProvider
naming a file is refused on its own status while the last good one keeps working.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from devtools import dex as dexserver
from devtools.gitservers import HttpGitServer
from tests.e2e.crdsupport import cluster_mode_environment, settle_crds
from tests.e2e.process import GITWARD, GitwardProcess, configmap, free_port, unique
from tests.e2e.test_gitward_access import _login

from gitward.model.crds import KINDS, crds

pytestmark = pytest.mark.e2e

API = "gitward.dev/v1alpha1"
WRONG_SECRET = "wrong-client-secret-4f1c"


@dataclass(frozen=True)
class World:
    gitward: GitwardProcess
    dex: dexserver.DexServer
    kube: Any
    namespace: str  # where gitward's objects are
    app_a: str  # project team-a
    app_b: str  # project team-b
    url: str

    def apply(self, obj: dict[str, Any]) -> None:
        obj["metadata"]["namespace"] = self.namespace
        self.kube.kubectl("apply", "-f", "-", stdin=json.dumps(obj))

    def replace(self, obj: dict[str, Any]) -> None:
        """The whole object replaced (an apply would merge the old spec's fields into the new one)."""
        obj["metadata"]["namespace"] = self.namespace
        self.kube.kubectl("replace", "-f", "-", stdin=json.dumps(obj))

    def get(self, resource: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.kube.get_json(f"{resource}.gitward.dev", name, "-n", self.namespace)
        return found

    def as_token(self, token: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.gitward.env, "GITWARD_TOKEN": token}
        out = subprocess.run([str(GITWARD), *args], env=env, capture_output=True, text=True, timeout=300)
        self.gitward.outputs += [out.stdout, out.stderr]
        return out


def _object(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


def _application(name: str, *, project: str, url: str) -> dict[str, Any]:
    return _object(
        "Application",
        name,
        {
            "project": project,
            "source": {"repoURL": url, "revision": "main", "path": name},
            "destination": {"cluster": "in-cluster", "namespace": f"gw-{name}"},
            "syncPolicy": {"options": ["CreateNamespace=true"], "interval": "1h"},
        },
    )


def _provider(issuer: str, **secret: Any) -> dict[str, Any]:
    spec = {"issuer": issuer, "clientID": dexserver.WEB_CLIENT, "cliClientID": dexserver.CLI_CLIENT}
    return _object("OIDCProvider", "dex", {**spec, **secret})


def _client_secret(world: World, value: str) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "dex-client", "namespace": world.namespace},
        "stringData": {"clientSecret": value},
    }
    world.kube.kubectl("apply", "-f", "-", stdin=json.dumps(secret))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any, tools: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("cluster-access")
    settle_crds(kube_cluster)
    had_crds = bool(
        kube_cluster.kubectl("get", "crd", "-l", "app.kubernetes.io/part-of=gitward", "-o", "name")
    )
    kube_cluster.kubectl(
        "apply", "--server-side", "--field-manager=gitward-test", "-f", "-", stdin=yaml.safe_dump_all(crds())
    )
    kube_cluster.kubectl(
        *("wait", "--for=condition=Established", "--timeout=60s", "crd"),
        *(f"{info.plural}.gitward.dev" for info in KINDS.values()),
    )
    namespace, app_a, app_b = unique("gw-access"), unique("a"), unique("b")
    kube_cluster.kubectl("create", "namespace", namespace)
    port = free_port()
    dex = dexserver.DexServer(root / "dex", free_port(), [f"http://127.0.0.1:{port}/auth/callback"])
    with HttpGitServer(root / "git") as git, dex:
        git.create_repo("apps", {f"{n}/cfg.yaml": configmap("cfg", {"n": n}) for n in (app_a, app_b)})
        process = GitwardProcess(root=root, env=cluster_mode_environment(root), port=port)
        world = World(process, dex, kube_cluster, namespace, app_a, app_b, f"http://127.0.0.1:{port}")
        _client_secret(world, WRONG_SECRET)  # put right in the web login's test
        refresh = {"resources": ["applications"], "actions": ["get", "refresh"]}
        alice = {"role": "deployer", "project": "team-a", "users": [dexserver.USER_EMAIL]}
        for obj in (
            _object("Project", "team-a", {}),
            _object("Project", "team-b", {}),
            _application(app_a, project="team-a", url=git.url("apps")),
            _application(app_b, project="team-b", url=git.url("apps")),
            _object("Role", "refresher", {"rules": [refresh]}),
            _object("RoleBinding", "alice", alice),
            _object("RoleBinding", "authors", {"role": "refresher", "groups": [dexserver.MOCK_GROUP]}),
            _provider(dex.issuer, secretRef={"name": "dex-client"}),
        ):
            world.apply(obj)
        process.start(
            None,
            source=(
                *("--from-cluster", "--namespace", namespace),
                *("--kubeconfig", str(kube_cluster.kubeconfig)),
            ),
        )
        try:
            yield world
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
            for name in (app_a, app_b):
                kube_cluster.kubectl(
                    "delete", "namespace", f"gw-{name}", "--wait=false", "--ignore-not-found"
                )
            if not had_crds:
                kube_cluster.kubectl(
                    "delete", "crd", "-l", "app.kubernetes.io/part-of=gitward", "--timeout=90s", check=False
                )


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def _may_sync(world: World, app: str) -> bool:
    """Whether the stored login may sync ``app`` (False: refused with 403)."""
    result = world.gitward.cli("app", "sync", app)
    if result.code == 0:
        return True
    assert "Forbidden (403)" in result.stderr, result.stderr
    return False


def test_every_access_object_is_read_and_says_so_on_its_status(world: World) -> None:
    for resource, name in (("roles", "refresher"), ("rolebindings", "alice"), ("oidcproviders", "dex")):
        ready = world.gitward.until(lambda r=resource, n=name: _condition(world.get(r, n), "Ready"))
        assert (ready["status"], ready["reason"]) == ("True", "Accepted"), (resource, ready)


def test_a_viewer_token_reads_but_cannot_sync(world: World) -> None:
    viewer = world.gitward.ok("token", "create", "--role", "viewer", "--name", "dash").stdout.strip()
    assert world.as_token(viewer, "app", "get", world.app_a).returncode == 0
    refused = world.as_token(viewer, "app", "sync", world.app_a)
    assert refused.returncode == 1
    assert "Forbidden (403)" in refused.stderr
    assert f"token:dash may not sync application '{world.app_a}'" in refused.stderr
    assert "a role with 'sync' on applications" in refused.stderr


def test_a_user_bound_per_project_syncs_that_projects_app_only(world: World) -> None:
    login = _login(world, "local")  # the CLI's public client: no secret involved
    assert login.returncode == 0, login.stderr
    assert f"logged in as {dexserver.USER_EMAIL}" in login.stdout
    assert "deployer on team-a" in login.stdout
    assert _may_sync(world, world.app_a)
    refused = world.gitward.cli("app", "sync", world.app_b)
    assert refused.code == 1
    assert f"{dexserver.USER_EMAIL} may not sync application '{world.app_b}'" in refused.stderr
    assert "in project 'team-b'" in refused.stderr
    history = world.gitward.ok("app", "history", world.app_a, "-o", "json").json()
    assert history[0]["initiator"] == dexserver.USER_EMAIL


def test_a_group_gets_the_custom_role_its_binding_names(world: World) -> None:
    login = _login(world, "mock")
    assert login.returncode == 0, login.stderr
    assert "refresher on every project" in login.stdout
    assert world.gitward.cli("app", "refresh", world.app_b).code == 0
    refused = world.gitward.cli("app", "sync", world.app_b)
    assert refused.code == 1
    assert "a role with 'sync' on applications" in refused.stderr
    assert "has refresher on every project" in refused.stderr
    world.gitward.ok("logout")


def _web_login(world: World) -> httpx.Response:
    return dexserver.browser_login(
        f"{world.url}/auth/login?next=/", connector="local", issuer=world.dex.issuer
    )


def test_the_web_login_reads_the_client_secret_from_the_secret_at_each_login(world: World) -> None:
    refused = _web_login(world)  # the Secret holds a wrong value: Dex refuses the code exchange
    assert refused.status_code == 401
    assert "the provider refused the login code" in refused.json()["message"]

    _client_secret(world, world.dex.client_secret)  # fixed, no restart: the next login reads it
    landed = world.gitward.until(lambda: (r := _web_login(world)).status_code == 303 and r)
    with httpx.Client(
        base_url=world.url, cookies={"gitward_session": landed.cookies["gitward_session"]}
    ) as web:
        me = web.get("/api/v1/whoami").json()
    assert me["name"] == dexserver.USER_EMAIL
    assert me["grants"] == [{"role": "deployer", "project": "team-a"}]


def test_an_edited_role_binding_changes_access_without_a_restart(world: World) -> None:
    pid = world.gitward.process.pid if world.gitward.process else None
    login = _login(world, "local")
    assert login.returncode == 0, login.stderr
    assert _may_sync(world, world.app_a)
    world.kube.kubectl(
        *("patch", "rolebindings.gitward.dev", "alice", "-n", world.namespace, "--type=merge"),
        *("-p", json.dumps({"spec": {"project": "team-b"}})),
    )
    world.gitward.until(lambda: _may_sync(world, world.app_b))  # the same stored ID token
    assert not _may_sync(world, world.app_a)
    assert world.gitward.process is not None
    assert world.gitward.process.pid == pid  # the same process all along


def test_an_oidc_provider_naming_a_file_is_refused_and_the_last_good_one_keeps_working(world: World) -> None:
    world.replace(_provider(world.dex.issuer, clientSecretFile="/etc/gitward/oidc-secret"))
    stalled = world.gitward.until(
        lambda: (
            _condition(obj := world.get("oidcproviders", "dex"), "Stalled").get("status") == "True"
            and obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
            and obj
        )
    )
    message = _condition(stalled, "Stalled")["message"]
    assert "clientSecretFile names a file" in message
    assert "key 'clientSecret' of a Secret" in message
    assert _condition(stalled, "Ready")["status"] == "False"
    loaded = httpx.get(
        f"{world.url}/api/v1/config", headers={"Authorization": f"Bearer {world.gitward.token()}"}
    )
    assert loaded.json()["keptLastGood"] is False  # that object refused, not the whole config
    assert [e["kind"] for e in loaded.json()["errors"]] == ["OIDCProvider"]

    # The last good provider (with its Secret) still signs people in, on the web and in the CLI ...
    assert _web_login(world).status_code == 303
    assert _login(world, "local").returncode == 0
    # ... and the rest of the config still follows the cluster: a RoleBinding edit takes effect.
    world.kube.kubectl(
        *("patch", "rolebindings.gitward.dev", "alice", "-n", world.namespace, "--type=merge"),
        *("-p", json.dumps({"spec": {"project": "team-a"}})),
    )
    world.gitward.until(lambda: _may_sync(world, world.app_a))
    assert not _may_sync(world, world.app_b)
    world.gitward.ok("logout")

    world.replace(_provider(world.dex.issuer, secretRef={"name": "dex-client"}))  # fixed: read again
    world.gitward.until(
        lambda: _condition(world.get("oidcproviders", "dex"), "Ready").get("status") == "True"
    )


def test_no_client_secret_reaches_any_output_status_or_the_log(world: World) -> None:
    texts = [*world.gitward.outputs, world.gitward.log_text()]
    texts.append(json.dumps(world.get("oidcproviders", "dex")))
    for secret in (world.dex.client_secret, WRONG_SECRET, dexserver.PASSWORD):
        assert not any(secret in text for text in texts)
