"""``gitward run --from-cluster``: the config is the cluster's gitward custom resources.

A real ``gitward run`` process reads the Application objects of one namespace; each test drives it
with kubectl only: an Application created is synced, an edit of its path is synced without a
restart, its status is written back (``kubectl wait --for=condition=Ready``, the printer columns of
``kubectl get gwapp``), an object the loader refuses shows why in its own status while the others
run, and a deleted Application's objects are pruned as its deletionPolicy says.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from devtools.gitservers import HttpGitServer
from tests.e2e.crdsupport import cluster_mode_environment
from tests.e2e.process import GitwardProcess, configmap, free_port, unique

from gitward.model.crds import KINDS, crds

GROUP = "gitward.dev"


@dataclass(frozen=True)
class World:
    gitward: GitwardProcess
    url: str
    namespace: str  # where the Application objects are
    target: str  # where the apps deploy
    kube: Any


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("from-cluster")
    had_crds = bool(
        kube_cluster.kubectl("get", "crd", "-l", "app.kubernetes.io/part-of=gitward", "-o", "name")
    )
    kube_cluster.kubectl(
        "apply", "--server-side", "--field-manager=gitward-test", "-f", "-", stdin=yaml.safe_dump_all(crds())
    )
    kube_cluster.kubectl(
        *("wait", "--for=condition=Established", "--timeout=60s", "crd"),
        *(f"{info.plural}.{GROUP}" for info in KINDS.values()),
    )
    # Flux's kinds are read when their CRDs exist at start: minimal ones unless Flux is installed.
    flux_crds = [
        crd
        for crd in _flux_crds()
        if not kube_cluster.kubectl("get", "crd", crd["metadata"]["name"], check=False)
    ]
    if flux_crds:
        kube_cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(flux_crds))
        kube_cluster.kubectl(
            *("wait", "--for=condition=Established", "--timeout=60s", "crd"),
            *(crd["metadata"]["name"] for crd in flux_crds),
        )
    namespace, target = unique("gw-crs"), unique("gw-target")
    kube_cluster.kubectl("create", "namespace", namespace)
    with HttpGitServer(root / "git") as git:
        git.create_repo(
            "apps",
            {
                "blue/cfg.yaml": configmap("cfg", {"color": "blue"}),
                "green/cfg.yaml": configmap("cfg", {"color": "green"}),
            },
        )
        process = GitwardProcess(root=root, env=cluster_mode_environment(root), port=free_port())
        process.start(
            None,
            source=(
                *("--from-cluster", "--namespace", namespace),
                *("--kubeconfig", str(kube_cluster.kubeconfig)),
            ),
        )
        try:
            yield World(process, git.url("apps"), namespace, target, kube_cluster)
        finally:
            kube_cluster.kubectl(
                "delete", "applications.gitward.dev", "--all", "-n", namespace, "--wait=false"
            )
            process.kill()
            kube_cluster.kubectl(
                "delete", "namespace", namespace, target, "--wait=false", "--ignore-not-found"
            )
            if not had_crds:
                kube_cluster.kubectl(
                    "delete", "crd", "-l", "app.kubernetes.io/part-of=gitward", "--wait=false"
                )
            for crd in flux_crds:
                kube_cluster.kubectl("delete", "crd", crd["metadata"]["name"], "--wait=false")


def _flux_crds() -> list[dict[str, Any]]:
    """Flux's Kustomization and GitRepository as schemaless CRDs: gitward reads them, nothing else does."""

    def crd(group: str, kind: str, plural: str) -> dict[str, Any]:
        schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {
                "group": group,
                "names": {
                    "kind": kind,
                    "plural": plural,
                    "singular": kind.lower(),
                    "listKind": f"{kind}List",
                },
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": schema,
                        "subresources": {"status": {}},
                    }
                ],
            },
        }

    return [
        crd("kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations"),
        crd("source.toolkit.fluxcd.io", "GitRepository", "gitrepositories"),
    ]


def _application(world: World, name: str, *, path: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": world.namespace},
        "spec": {
            "source": {"repoURL": world.url, "revision": "main", "path": path},
            "destination": {"cluster": "in-cluster", "namespace": world.target},
            "deletionPolicy": "foreground",
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "interval": "1h",
                "options": ["CreateNamespace=true"],
                "retry": {"limit": -1, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "5s"}},
            },
        },
    }


def _apply(world: World, obj: dict[str, Any]) -> None:
    world.kube.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def _get(world: World, name: str) -> dict[str, Any]:
    found: dict[str, Any] = world.kube.get_json("applications.gitward.dev", name, "-n", world.namespace)
    return found


def _color(world: World) -> str | None:
    out = world.kube.kubectl(
        "get", "configmap", "cfg", "-n", world.target, "-o", "jsonpath={.data.color}", check=False
    )
    return out.strip() or None


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def _ready_at_generation(world: World, name: str) -> bool:
    obj = _get(world, name)
    generation = obj["metadata"]["generation"]
    ready = _condition(obj, "Ready")
    return (
        ready.get("status") == "True"
        and ready.get("observedGeneration") == generation
        and obj["status"].get("observedGeneration") == generation
    )


def test_application_created_edited_refused_and_deleted(world: World) -> None:
    name = unique("cr-app")
    _apply(world, _application(world, name, path="blue"))
    world.gitward.until(lambda: _color(world) == "blue")

    world.kube.kubectl(
        *("wait", "--for=condition=Ready", f"applications.{GROUP}/{name}"),
        *("-n", world.namespace, "--timeout=120s"),
    )
    obj = _get(world, name)
    status = obj["status"]
    assert status["sync"]["status"] == "Synced"
    assert status["health"]["status"] == "Healthy"
    assert len(status["sync"]["revision"]) == 40
    assert {c["type"] for c in status["conditions"]} == {"Ready", "Reconciling", "Stalled"}
    assert all(c["lastTransitionTime"].endswith("Z") for c in status["conditions"])
    rows = [(r["kind"], r["namespace"], r["name"], r["sync"], r["health"]) for r in status["resources"]]
    assert rows == [("ConfigMap", world.target, "cfg", "Synced", "Healthy")]
    assert status["resourceCount"] == 1
    columns = world.kube.kubectl("get", "gwapp", name, "-n", world.namespace)
    header, row = columns.strip().splitlines()
    assert header.split()[:5] == ["NAME", "SYNC", "HEALTH", "REVISION", "MESSAGE"]
    assert row.split()[:4] == [name, "Synced", "Healthy", status["sync"]["revision"]]

    # An edit of the path is synced by the running process, and the status follows the generation.
    world.kube.kubectl(
        "patch",
        "applications.gitward.dev",
        name,
        "-n",
        world.namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"source": {"path": "green"}}}),
    )
    world.gitward.until(lambda: _color(world) == "green")
    world.gitward.until(lambda: _ready_at_generation(world, name))
    assert _get(world, name)["metadata"]["generation"] == 2

    # One the loader refuses (a path out of the repository, which the schema lets through) shows why
    # in its own status; the good one keeps running.
    bad = unique("cr-bad")
    _apply(world, _application(world, bad, path="../escape"))
    stalled = world.gitward.until(
        lambda: _condition(_get(world, bad), "Stalled").get("status") == "True" and _get(world, bad)
    )
    assert "must not contain '..'" in _condition(stalled, "Stalled")["message"]
    assert _condition(stalled, "Ready")["status"] == "False"
    assert _ready_at_generation(world, name)

    # Deleted: its objects go as its deletionPolicy (foreground) says.
    world.kube.kubectl("delete", "applications.gitward.dev", name, bad, "-n", world.namespace)
    world.gitward.until(lambda: _color(world) is None)
    assert name not in {a["name"] for a in world.gitward.ok("app", "list", "-o", "json").json()}


def _events(world: World, name: str) -> list[dict[str, Any]]:
    found = world.kube.get_json(
        "events", "-n", world.namespace, "--field-selector", f"involvedObject.name={name}"
    )
    return [e for e in found.get("items") or [] if e["involvedObject"].get("kind") == "Application"]


def test_what_gitward_does_is_told_in_events_on_the_application(world: World) -> None:
    name = unique("cr-events")
    _apply(world, _application(world, name, path="blue"))
    world.gitward.until(lambda: _color(world) == "blue")
    uid = _get(world, name)["metadata"]["uid"]
    synced = world.gitward.until(
        lambda: next((e for e in _events(world, name) if e["reason"] == "Synced"), None)
    )
    assert synced["type"] == "Normal"
    assert synced["involvedObject"]["uid"] == uid
    assert synced["involvedObject"]["apiVersion"] == f"{GROUP}/v1alpha1"
    assert synced["reportingComponent"] == "gitward"
    assert synced["message"].startswith("synced ")

    # The same drift healed twice is one Drift Event counted twice, not two Events.
    for healed, color in enumerate(("red", "yellow"), start=1):
        world.kube.kubectl(
            *("patch", "configmap", "cfg", "-n", world.target, "--type=merge"),
            *("-p", json.dumps({"data": {"color": color}})),
        )
        world.gitward.until(lambda: _color(world) == "blue")
        world.gitward.until(
            lambda: (
                sum(e["count"] for e in _events(world, name) if e["reason"] == "Drift") >= healed  # noqa: B023 (used within the iteration)
            )
        )
    drift = [e for e in _events(world, name) if e["reason"] == "Drift"]
    assert len(drift) == 1
    assert drift[0]["count"] == 2
    assert drift[0]["type"] == "Warning"
    assert "/data/color" in drift[0]["message"]
    world.kube.kubectl("delete", "applications.gitward.dev", name, "-n", world.namespace)
    world.gitward.until(lambda: _color(world) is None)


def _secret(world: World, name: str, data: dict[str, str]) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": world.namespace},
        "stringData": data,
    }
    world.kube.kubectl("apply", "-f", "-", stdin=json.dumps(secret))


def test_a_repository_secret_ref_lets_a_private_repository_sync(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    password, wrong = "Sx7-right-pass-91", "Wq4-wrong-pass-27"
    with HttpGitServer(tmp_path_factory.mktemp("private-git"), username="deploy", password=password) as git:
        git.create_repo("private", {"blue/cfg.yaml": configmap("cfg", {"color": "private"})})
        url = git.url("private")
        _secret(world, "git-creds", {"username": "deploy", "password": wrong})
        repository = {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "Repository",
            "metadata": {"name": unique("private-repo"), "namespace": world.namespace},
            "spec": {"url": url, "secretRef": {"name": "git-creds"}},
        }
        _apply(world, repository)
        name = unique("cr-private")
        app = _application(world, name, path="blue")
        app["spec"]["source"]["repoURL"] = url
        _apply(world, app)
        try:
            # A wrong password: the app says it cannot fetch, and the password is nowhere.
            refused = world.gitward.until(
                lambda: (
                    _condition(_get(world, name), "Ready").get("status") == "False"
                    and "fetch" in _condition(_get(world, name), "Ready").get("message", "").lower()
                    and _get(world, name)
                )
            )
            shown = json.dumps(refused["status"]) + world.gitward.ok("app", "get", name, "-o", "json").stdout
            assert "authentication failed" in _condition(refused, "Ready")["message"].lower()
            assert wrong not in shown
            assert password not in shown
            assert _color(world) is None

            # The Secret fixed: the running process syncs at its next try.
            _secret(world, "git-creds", {"username": "deploy", "password": password})
            world.gitward.until(lambda: _color(world) == "private")
            world.gitward.until(lambda: _condition(_get(world, name), "Ready").get("status") == "True")
            assert password not in world.gitward.log_text()
            assert wrong not in world.gitward.log_text()
        finally:
            world.kube.kubectl("delete", "applications.gitward.dev", name, "-n", world.namespace)
            world.gitward.until(lambda: _color(world) is None)
            world.kube.kubectl(
                "delete", "repositories.gitward.dev", repository["metadata"]["name"], "-n", world.namespace
            )
            world.kube.kubectl("delete", "secret", "git-creds", "-n", world.namespace)


def test_a_flux_git_repository_secret_ref_lets_a_private_repository_sync(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A Flux Kustomization and GitRepository applied with kubectl; the GitRepository's secretRef names
    a Secret with Flux's keys (username, password), which gitward reads to fetch the private repository."""
    password = "Fz8-flux-pass-63"
    target = unique("gw-flux")
    world.kube.kubectl("create", "namespace", target)
    with HttpGitServer(tmp_path_factory.mktemp("flux-git"), username="deploy", password=password) as git:
        git.create_repo(
            "fleet",
            {
                "apps/cfg.yaml": configmap("cfg", {"color": "flux-private"}),
                "apps/kustomization.yaml": "resources: [cfg.yaml]\n",
            },
        )
        _secret(world, "flux-git-auth", {"username": "deploy", "password": password})
        source, name = unique("fleet"), unique("flux-private")
        _apply(
            world,
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": source, "namespace": world.namespace},
                "spec": {
                    "url": git.url("fleet"),
                    "ref": {"branch": "main"},
                    "interval": "1h",
                    "secretRef": {"name": "flux-git-auth"},
                },
            },
        )
        _apply(
            world,
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": world.namespace},
                "spec": {
                    "interval": "1h",
                    "retryInterval": "2s",
                    "path": "./apps",
                    "prune": True,
                    "targetNamespace": target,
                    "sourceRef": {"kind": "GitRepository", "name": source},
                },
            },
        )

        def color() -> str | None:
            out = world.kube.kubectl(
                "get", "configmap", "cfg", "-n", target, "-o", "jsonpath={.data.color}", check=False
            )
            return out.strip() or None

        try:
            world.gitward.until(lambda: color() == "flux-private")
            app = json.loads(world.gitward.ok("app", "get", name, "-o", "json").stdout)
            assert password not in json.dumps(app)
            assert password not in world.gitward.log_text()
        finally:
            world.kube.kubectl(
                "delete", "kustomizations.kustomize.toolkit.fluxcd.io", name, "-n", world.namespace
            )
            world.gitward.until(lambda: color() is None)
            world.kube.kubectl(
                "delete", "gitrepositories.source.toolkit.fluxcd.io", source, "-n", world.namespace
            )
            world.kube.kubectl("delete", "secret", "flux-git-auth", "-n", world.namespace)
            world.kube.kubectl("delete", "namespace", target, "--wait=false")
