"""``gitward run --from-cluster``: a webhook Receiver's and a Notification's secrets come from Secrets.

One real ``gitward run --from-cluster --kubeconfig`` process reads one namespace of the test cluster.
The tests create (with kubectl) an app, a Receiver whose shared secret is a Secret's key, and a
Notification whose webhook URL, HMAC secret and GitHub token are keys of one Secret; the loopback
receiver of the notification tests stands for the hook and GitHub. Objects naming files instead
are refused on their own status, and nothing reads the files: the Receiver is not served.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from devtools.gitservers import HttpGitServer
from tests.e2e.crdsupport import cluster_mode_environment, settle_crds
from tests.e2e.process import GitwardProcess, configmap, free_port, unique
from tests.integration.notify_receivers import LoopbackReceiver, receiver_thread

from gitward.model.crds import KINDS, crds

pytestmark = pytest.mark.e2e

API = "gitward.dev/v1alpha1"
PUSH_SECRET = f"push-{secrets.token_hex(12)}"
HOOK_SECRET = f"hook-{secrets.token_hex(12)}"
TOKEN = f"ghp_{secrets.token_hex(18)}"


@dataclass(frozen=True)
class World:
    gitward: GitwardProcess
    kube: Any
    namespace: str
    app: str
    repo_url: str
    receiver: LoopbackReceiver
    root: Path

    def apply(self, obj: dict[str, Any]) -> None:
        obj["metadata"]["namespace"] = self.namespace
        self.kube.kubectl("apply", "-f", "-", stdin=json.dumps(obj))

    def get(self, resource: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.kube.get_json(f"{resource}.gitward.dev", name, "-n", self.namespace)
        return found

    def push(self, receiver: str, secret: str) -> httpx.Response:
        """A generic webhook naming the app's repository, signed with ``secret``."""
        body = json.dumps({"repository": self.repo_url}).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-Gitward-Signature": signature, "Content-Type": "application/json"}
        url = f"http://127.0.0.1:{self.gitward.port}/api/v1/webhooks/{receiver}"
        return httpx.post(url, content=body, headers=headers, timeout=60)


def _object(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


def _secret(world: World, name: str, data: dict[str, str]) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": world.namespace},
        "stringData": data,
    }
    world.kube.kubectl("apply", "-f", "-", stdin=json.dumps(secret))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("cluster-secrets")
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
    namespace, app = unique("gw-secrets"), unique("told")
    kube_cluster.kubectl("create", "namespace", namespace)
    with HttpGitServer(root / "git") as git, receiver_thread() as receiver:
        git.create_repo("apps", {f"{app}/cfg.yaml": configmap("cfg", {"n": app})})
        process = GitwardProcess(root=root, env=cluster_mode_environment(root), port=free_port())
        world = World(process, kube_cluster, namespace, app, git.url("apps"), receiver, root)
        world.apply(
            _object(
                "Application",
                app,
                {
                    "source": {"repoURL": git.url("apps"), "revision": "main", "path": app},
                    "destination": {"cluster": "in-cluster", "namespace": f"gw-{app}"},
                    "syncPolicy": {"options": ["CreateNamespace=true"], "interval": "1h"},
                },
            )
        )
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
            kube_cluster.kubectl("delete", "namespace", namespace, f"gw-{app}", "--wait=false", check=False)
            if not had_crds:
                kube_cluster.kubectl(
                    "delete", "crd", "-l", "app.kubernetes.io/part-of=gitward", "--timeout=90s", check=False
                )


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def test_a_receiver_checks_pushes_with_its_secrets_key_read_at_each_request(world: World) -> None:
    _secret(world, "push", {"secret": "an-old-value"})
    world.apply(_object("Receiver", "push", {"type": "generic", "secretRef": {"name": "push"}}))
    world.gitward.until(lambda: world.push("push", "an-old-value").status_code != 404)
    assert world.push("push", PUSH_SECRET).status_code == 401

    _secret(world, "push", {"secret": PUSH_SECRET})  # rotated: the next request reads it, no restart
    accepted = world.gitward.until(
        lambda: (r := world.push("push", PUSH_SECRET)).status_code in (200, 202) and r
    )
    assert accepted.json()["repositories"] == [world.repo_url]
    assert world.push("push", "an-old-value").status_code == 401


def test_a_receiver_naming_a_file_is_refused_and_not_served(world: World) -> None:
    known = world.root / "known.txt"  # a file of gitward's machine whose content the writer knows
    known.write_text("known-content\n")
    world.apply(_object("Receiver", "by-file", {"type": "generic", "secretFile": str(known)}))
    stalled = world.gitward.until(
        lambda: (
            _condition(obj := world.get("receivers", "by-file"), "Stalled").get("status") == "True" and obj
        )
    )
    message = _condition(stalled, "Stalled")["message"]
    assert "secretFile names a file" in message
    assert "key 'secret' of a Secret in the Receiver's namespace" in message
    assert world.push("by-file", "known-content").status_code == 404  # never taken for a secret


def test_a_notification_takes_its_url_hmac_secret_and_token_from_a_secret(world: World) -> None:
    receiver = world.receiver
    _secret(world, "notify", {"url": receiver.url("/hook"), "secret": HOOK_SECRET, "token": TOKEN})
    github = {"type": "github", "baseURL": receiver.url("/gh"), "repository": "org/apps"}
    targets = [
        {"type": "webhook", "secretRef": {"name": "notify"}},  # url too: it is not written here
        {**github, "secretRef": {"name": "notify"}},
    ]
    world.apply(_object("Notification", "deploys", {"triggers": ["SyncSucceeded"], "targets": targets}))
    world.gitward.until(
        lambda: _condition(world.get("notifications", "deploys"), "Ready").get("status") == "True"
    )
    synced = world.gitward.ok("app", "sync", world.app)
    assert synced.code == 0
    (hook,) = world.gitward.until(lambda: receiver.at("/hook"))
    assert hook.signed_with(HOOK_SECRET)
    assert (hook.json()["trigger"], hook.json()["app"]) == ("SyncSucceeded", world.app)
    (status,) = world.gitward.until(lambda: receiver.at("/gh/"))
    assert status.headers["Authorization"] == f"Bearer {TOKEN}"
    assert status.json()["state"] == "success"


def test_a_notification_naming_files_is_refused_naming_each_field(world: World) -> None:
    targets = [
        {"type": "github", "baseURL": world.receiver.url("/stolen"), "repository": "o/r",
         "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
    ]  # fmt: skip
    world.apply(_object("Notification", "by-file", {"triggers": ["SyncSucceeded"], "targets": targets}))
    stalled = world.gitward.until(
        lambda: (
            _condition(obj := world.get("notifications", "by-file"), "Stalled").get("status") == "True"
            and obj
        )
    )
    assert "spec.targets[0].tokenFile name files" in _condition(stalled, "Stalled")["message"]
    world.gitward.ok("app", "sync", world.app)
    world.gitward.until(lambda: len(world.receiver.at("/hook")) >= 2)  # the other one told of this sync
    assert not world.receiver.at("/stolen")


def test_no_secret_reaches_any_output_status_or_the_log(world: World) -> None:
    texts = [*world.gitward.outputs, world.gitward.log_text()]
    for resource, name in (("receivers", "push"), ("notifications", "deploys")):
        texts.append(json.dumps(world.get(resource, name)))
    for value in (PUSH_SECRET, HOOK_SECRET, TOKEN, "an-old-value"):
        assert not any(value in text for text in texts)
