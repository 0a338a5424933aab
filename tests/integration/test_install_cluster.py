"""``gitward install`` on a real API server: the CRDs are Established and validate like the models, and
the controller's RBAC is enough and no more, proved with a token of its ServiceAccount loaded the way a
pod loads it (``cluster/incluster.py`` over a temporary root holding the token, the CA and the
namespace)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from devtools.toolchain import KubectlError
from tests.integration.cluster_support import unique
from typer.testing import CliRunner

from gitward.cli.main import app as cli
from gitward.cluster.incluster import in_cluster_kubeconfig
from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.errors import ClusterError
from gitward.install.manifests import CONTROLLER_ROLE
from gitward.model import load_object
from gitward.model.crds import KINDS

API = "gitward.dev/v1alpha1"
ACCOUNT = Path("var/run/secrets/kubernetes.io/serviceaccount")


@pytest.fixture(scope="module")
def installed(kube_cluster: Any) -> Iterator[str]:
    """``gitward install`` (CRDs and RBAC, without the apply role and the workload) into a fresh namespace."""
    namespace = unique("gw-install")
    args = ["install", "-n", namespace, "--no-apply-role", "--no-workload"]
    args += ["--kubeconfig", str(kube_cluster.kubeconfig)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert f"applied ClusterRoleBinding {CONTROLLER_ROLE}-{namespace}" in result.output
    assert "gitward-apply" not in result.output
    try:
        kube_cluster.kubectl(
            *("wait", "--for=condition=Established", "--timeout=60s", "crd"),
            *(f"{info.plural}.gitward.dev" for info in KINDS.values()),
        )
        yield namespace
    finally:
        kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
        kube_cluster.kubectl("delete", "clusterrolebinding", f"{CONTROLLER_ROLE}-{namespace}", check=False)
        kube_cluster.kubectl("delete", "clusterrole", CONTROLLER_ROLE, check=False)
        kube_cluster.kubectl("delete", "crd", "-l", "app.kubernetes.io/part-of=gitward", check=False)


@pytest.fixture
def other_namespace(kube_cluster: Any) -> Iterator[str]:
    name = unique("gw-apps")
    kube_cluster.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        kube_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _application(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    spec = {"source": {"repoURL": "https://git.example/team/apps.git", "path": "guestbook"}, **spec}
    return {
        "apiVersion": API,
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def _apply(kube_cluster: Any, obj: dict[str, Any], *, check: bool = True) -> str:
    return str(kube_cluster.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(obj), check=check))


def _refusal(kube_cluster: Any, obj: dict[str, Any]) -> str:
    with pytest.raises(KubectlError) as refused:
        _apply(kube_cluster, obj)
    return str(refused.value)


def test_every_crd_is_established(installed: str, kube_cluster: Any) -> None:
    live = kube_cluster.get_json("crd", "-l", "app.kubernetes.io/part-of=gitward")["items"]
    assert sorted(c["spec"]["names"]["kind"] for c in live) == sorted(KINDS)
    for crd in live:
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True", crd["metadata"]["name"]
        assert "NonStructuralSchema" not in conditions


def test_an_application_is_accepted_and_its_defaults_are_the_models(
    installed: str, other_namespace: str, kube_cluster: Any
) -> None:
    written = _application(other_namespace, "guestbook", syncPolicy={"interval": "2m", "automated": {}})
    _apply(kube_cluster, written)
    stored = kube_cluster.get_json("gwapp", "-n", other_namespace, "guestbook")
    assert stored["spec"]["destination"] == {"cluster": "in-cluster", "namespace": ""}
    assert stored["spec"]["syncPolicy"]["retry"]["backoff"]["maxDuration"] == "3m"
    assert load_object(stored).spec == load_object(written).spec


def test_get_gwapp_shows_the_status_columns(installed: str, other_namespace: str, kube_cluster: Any) -> None:
    _apply(kube_cluster, _application(other_namespace, "columns"))
    header = kube_cluster.kubectl("get", "gwapp", "-n", other_namespace).splitlines()[0].split()
    assert header == ["NAME", "SYNC", "HEALTH", "REVISION", "MESSAGE", "AGE"]
    status = {
        "sync": {"status": "Synced", "revision": "4f2a9c1"},
        "health": {"status": "Healthy"},
        "conditions": [{"type": "Ready", "status": "True", "message": "applied-4-objects"}],
    }
    kube_cluster.kubectl(
        *("patch", "gwapp", "columns", "-n", other_namespace, "--subresource=status", "--type=merge"),
        *("-p", json.dumps({"status": status})),
    )
    row = kube_cluster.kubectl("get", "gitward", "-n", other_namespace, "--no-headers").split()
    assert row[:5] == ["application.gitward.dev/columns", "Synced", "Healthy", "4f2a9c1", "applied-4-objects"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"suspend": "maybe"}, "spec.suspend"),
        ({"source": {"repoURL": "https://git.example/a.git", "path": 3}}, "spec.source.path"),
        ({"syncPolicy": {"interval": "soon"}}, "spec.syncPolicy.interval"),
        ({"source": None}, "spec.source"),
        ({"destination": {"clusterr": "prod"}}, "spec.destination.clusterr"),
    ],
    ids=["wrong-type", "wrong-type-nested", "bad-duration", "missing-required", "unknown-field"],
)
def test_a_bad_application_is_refused_naming_the_field(
    installed: str, other_namespace: str, kube_cluster: Any, change: dict[str, Any], named: str
) -> None:
    app = _application(other_namespace, "bad")
    app["spec"] = {k: v for k, v in {**app["spec"], **change}.items() if v is not None}
    assert named in _refusal(kube_cluster, app)
    assert not kube_cluster.kubectl("get", "gwapp", "-n", other_namespace, "bad", "--ignore-not-found")


def test_unknown_enum_values_and_union_rules_are_refused(
    installed: str, other_namespace: str, kube_cluster: Any
) -> None:
    meta = {"name": "bad", "namespace": other_namespace}
    receiver = {"apiVersion": API, "kind": "Receiver", "metadata": meta}
    message = _refusal(kube_cluster, {**receiver, "spec": {"type": "carrier-pigeon", "secretFile": "/s"}})
    assert "spec.type" in message
    assert 'Unsupported value: "carrier-pigeon"' in message
    notification = {
        "apiVersion": API,
        "kind": "Notification",
        "metadata": meta,
        "spec": {"triggers": ["SyncFailed"], "targets": [{"type": "slack", "secretFile": "/s"}]},
    }
    message = _refusal(kube_cluster, notification)
    assert "spec.targets[0]" in message
    assert "secretFile is not allowed when type is slack" in message


# -- the ServiceAccount's token, loaded as in a pod ----------------------------------------------


def _pod_root(tmp_path: Path, kube_cluster: Any, namespace: str) -> tuple[Path, dict[str, str]]:
    """A root holding what the kubelet mounts, and the environment a pod gets."""
    config = yaml.safe_load(kube_cluster.kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    if "certificate-authority-data" in cluster:
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    else:
        ca = (kube_cluster.kubeconfig.parent / cluster["certificate-authority"]).read_text()
    token = kube_cluster.kubectl("create", "token", "gitward", "-n", namespace, "--duration=10m").strip()
    account = tmp_path / ACCOUNT
    account.mkdir(parents=True)
    (account / "token").write_text(token)
    (account / "ca.crt").write_text(ca)
    (account / "namespace").write_text(namespace)
    host, _, port = cluster["server"].removeprefix("https://").rpartition(":")
    return account, {"KUBERNETES_SERVICE_HOST": host.strip("[]"), "KUBERNETES_SERVICE_PORT": port}


@pytest.fixture
async def as_gitward(tmp_path: Path, kube_cluster: Any, installed: str) -> AsyncIterator[LightkubeClient]:
    account, environ = _pod_root(tmp_path, kube_cluster, installed)
    text = in_cluster_kubeconfig(environ, account_dir=account)
    assert text is not None
    assert (account / "token").read_text() not in text  # the file is named, never copied
    path = tmp_path / "in-cluster.kubeconfig"
    path.write_text(text)
    client = await LightkubeClient.from_kubeconfig(path)
    try:
        yield client
    finally:
        await client.close()


async def test_the_controller_rbac_is_sufficient(
    as_gitward: LightkubeClient, installed: str, other_namespace: str, kube_cluster: Any
) -> None:
    apps, version = await as_gitward.list(API, "Application")
    assert all(a["metadata"]["namespace"] for a in apps)  # every namespace, not the pod's only

    async def first_added() -> dict[str, Any]:
        async for event in as_gitward.watch(API, "Application", resource_version=version, timeout_seconds=30):
            if event.type == "ADDED" and event.object["metadata"]["name"] == "watched":
                return event.object
        raise AssertionError("the watch ended without the new Application")

    watching = asyncio.create_task(first_added())
    await asyncio.sleep(0)
    _apply(kube_cluster, _application(other_namespace, "watched"))
    async with asyncio.timeout(60):
        seen = await watching
    status = {"status": {"sync": {"status": "OutOfSync"}, "observedGeneration": 1}}
    patched = await as_gitward.patch(
        API, "Application", other_namespace, "watched", status, subresource="status", field_manager="gitward"
    )
    assert patched["status"]["sync"]["status"] == "OutOfSync"
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "watched-", "namespace": other_namespace},
        "involvedObject": {
            **{"apiVersion": API, "kind": "Application", "namespace": other_namespace},
            **{"name": "watched", "uid": seen["metadata"]["uid"]},
        },
        "reason": "OutOfSync",
        "message": "2 objects differ from Git",
        "type": "Normal",
        "source": {"component": "gitward"},
    }
    created = await as_gitward.create(event, field_manager="gitward")
    assert created["metadata"]["name"].startswith("watched-")
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "gitward-leader", "namespace": installed},
        "spec": {"holderIdentity": "gitward-0", "leaseDurationSeconds": 15},
    }
    assert (await as_gitward.apply(lease, field_manager="gitward"))["spec"]["holderIdentity"] == "gitward-0"
    kube_cluster.kubectl("create", "secret", "generic", "repo-creds", "-n", installed, "--from-literal=k=v")
    assert await as_gitward.get("v1", "Secret", installed, "repo-creds") is not None


async def _forbidden(action: Any) -> None:
    with pytest.raises(ClusterError) as refused:
        await action
    assert refused.value.status == 403


async def test_the_controller_rbac_is_minimal(
    as_gitward: LightkubeClient, installed: str, other_namespace: str, kube_cluster: Any
) -> None:
    kube_cluster.kubectl(
        "create", "secret", "generic", "elsewhere", "-n", other_namespace, "--from-literal=k=v"
    )
    _apply(kube_cluster, _application(other_namespace, "kept"))
    await _forbidden(as_gitward.get("v1", "Secret", other_namespace, "elsewhere"))
    await _forbidden(as_gitward.list("v1", "Secret"))
    await _forbidden(
        as_gitward.delete(
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "applications.gitward.dev"
        )
    )
    await _forbidden(as_gitward.delete(API, "Application", other_namespace, "kept"))
    await _forbidden(
        as_gitward.apply(_application(other_namespace, "kept", suspend=True), field_manager="gitward")
    )
    await _forbidden(
        as_gitward.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "x", "namespace": other_namespace},
            },
            field_manager="gitward",
        )
    )
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "l", "namespace": other_namespace},
    }
    await _forbidden(as_gitward.apply(lease, field_manager="gitward"))
    assert kube_cluster.get_json("crd", "applications.gitward.dev")["metadata"]["name"]
