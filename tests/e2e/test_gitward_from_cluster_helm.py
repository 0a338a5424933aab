"""``gitward run --from-cluster`` runs a Flux HelmRelease whose values come from a ConfigMap and a
Secret of the management cluster, and an Argo CD AppProject read from the cluster.

The cluster serves minimal CRDs for Flux's ``HelmRelease`` and ``HelmRepository`` and Argo CD's
``AppProject`` (no Flux or Argo CD controller runs); the chart comes from the real Helm repository
server. The Secret's value reaches the rendered Secret and never gitward's output: not the app's
status, its events, the Kubernetes Events on the HelmRelease, nor gitward's log.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from devtools.helmrepo import HelmRepoServer
from tests.e2e.crdsupport import cluster_mode_environment, free_form_crd, prepare_cluster_mode
from tests.e2e.process import GitwardProcess, free_port, unique

HELM = "helm.toolkit.fluxcd.io/v2"
SOURCE = "source.toolkit.fluxcd.io/v1"
SECRET_VALUE = "tok-5f2e9a-never-shown"
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: greeter\nversion: 1.0.0\n",
    "values.yaml": "greeting: hello\ntoken: none\nreplicas: 1\n",
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeter\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n  replicas: {{ .Values.replicas | quote }}\n"
    ),
    "templates/secret.yaml": (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: greeter\n"
        "stringData:\n  token: {{ .Values.token | quote }}\n"
    ),
}


FOREIGN_CRDS = [
    free_form_crd("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases", label="foreign-helm"),
    free_form_crd(
        "source.toolkit.fluxcd.io", "v1", "HelmRepository", "helmrepositories", label="foreign-helm"
    ),
    free_form_crd("argoproj.io", "v1alpha1", "AppProject", "appprojects", label="foreign-helm"),
    free_form_crd("argoproj.io", "v1alpha1", "Application", "applications", label="foreign-helm"),
]


@dataclass(frozen=True)
class World:
    gitward: GitwardProcess
    charts: HelmRepoServer
    namespace: str
    kube: Any


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, kube_cluster: Any) -> Iterator[World]:
    root = tmp_path_factory.mktemp("foreign-helm")
    had_crds, made, namespace = prepare_cluster_mode(kube_cluster, FOREIGN_CRDS, "gw-helm")
    with HelmRepoServer(root / "charts") as charts:
        charts.add_chart("greeter", "1.0.0", CHART)
        process = GitwardProcess(root=root, env=cluster_mode_environment(root), port=free_port())
        process.start(
            None,
            source=("--from-cluster", "--namespace", namespace, "--kubeconfig", str(kube_cluster.kubeconfig)),
        )
        try:
            yield World(process, charts, namespace, kube_cluster)
        finally:
            process.kill()
            kube_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
            for name in made:
                kube_cluster.kubectl("delete", "crd", name, "--timeout=90s", check=False)
            if not had_crds:
                kube_cluster.kubectl(
                    "delete", "crd", "-l", "app.kubernetes.io/part-of=gitward", "--timeout=90s", check=False
                )


def _apply(world: World, obj: dict[str, Any]) -> None:
    world.kube.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def _live(world: World, kind: str, namespace: str) -> dict[str, str]:
    found = world.kube.kubectl("get", kind, "greeter", "-n", namespace, "-o", "json", check=False)
    return dict(json.loads(found).get("data") or {}) if found.strip() else {}


def _repository(world: World) -> dict[str, Any]:
    metadata = {"name": "charts", "namespace": world.namespace}
    return {"apiVersion": SOURCE, "kind": "HelmRepository", "metadata": metadata,
            "spec": {"url": world.charts.url, "interval": "1h"}}  # fmt: skip


def test_a_helmrelease_takes_values_from_a_configmap_and_a_secret(world: World) -> None:
    name, target = unique("greeter"), unique("gw-helm-target")
    ns = world.namespace
    values = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "greeter-values", "namespace": ns},
              "data": {"values.yaml": "greeting: from-configmap\nreplicas: 3\n"}}  # fmt: skip
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "greeter-token", "namespace": ns},
              "stringData": {"token": SECRET_VALUE}}  # fmt: skip
    repository = _repository(world)
    release = {
        "apiVersion": HELM,
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "interval": "1h",
            "targetNamespace": target,
            "install": {"createNamespace": True, "remediation": {"retries": -1}},
            "upgrade": {"remediation": {"retries": -1}},
            "chart": {"spec": {"chart": "greeter", "version": "1.x",
                               "sourceRef": {"kind": "HelmRepository", "name": "charts"}}},
            "valuesFrom": [
                {"kind": "ConfigMap", "name": "greeter-values"},
                {"kind": "Secret", "name": "greeter-token", "valuesKey": "token", "targetPath": "token"},
                {"kind": "Secret", "name": "not-there", "optional": True},
            ],
            "values": {"replicas": 2},  # inline values win over valuesFrom, as in Flux
        },
    }  # fmt: skip
    for obj in (values, secret, repository, release):
        _apply(world, obj)
    try:
        world.gitward.until(lambda: _live(world, "configmap", target).get("greeting") == "from-configmap")
        assert _live(world, "configmap", target)["replicas"] == "2"
        token = base64.b64decode(_live(world, "secret", target)["token"]).decode()
        assert token == SECRET_VALUE

        # A changed ConfigMap is read at the next render (here a refresh).
        values["data"] = {"values.yaml": "greeting: changed\n"}
        _apply(world, values)
        world.gitward.ok("app", "refresh", name)
        world.gitward.until(lambda: _live(world, "configmap", target).get("greeting") == "changed")

        shown = [
            world.gitward.ok("app", "get", name, "-o", "json").stdout,
            world.gitward.ok("app", "events", name, "-o", "json").stdout,
            world.gitward.cli("app", "diff", name, "-o", "json").stdout,
            world.kube.kubectl("get", "events", "-n", ns, "-o", "json"),
            world.gitward.log_text(),
        ]
        assert not [text for text in shown if SECRET_VALUE in text]
        assert "status" not in world.kube.get_json("helmreleases.helm.toolkit.fluxcd.io", name, "-n", ns)
    finally:
        world.kube.kubectl("delete", "helmreleases.helm.toolkit.fluxcd.io", name, "-n", ns, check=False)
        world.kube.kubectl("delete", "namespace", target, "--wait=false", "--ignore-not-found")


def test_a_missing_values_secret_is_named_without_any_value(world: World) -> None:
    name = unique("greeter-missing")
    ns = world.namespace
    release = {
        "apiVersion": HELM,
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "chart": {
                "spec": {"chart": "greeter", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}
            },
            "valuesFrom": [{"kind": "Secret", "name": "absent-values"}],
        },
    }
    _apply(world, _repository(world))
    _apply(world, release)
    try:
        message = world.gitward.until(
            lambda: (m := world.gitward.app(name).get("message", "")) and "absent-values" in m and m
        )
        assert f"Secret 'absent-values' in namespace '{ns}'" in message
        assert "not found" in message
    finally:
        world.kube.kubectl("delete", "helmreleases.helm.toolkit.fluxcd.io", name, "-n", ns, check=False)


def test_an_appproject_in_the_cluster_refuses_an_application_outside_its_destinations(world: World) -> None:
    ns, project, name = world.namespace, unique("team"), unique("argo-outside")
    appproject = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": project, "namespace": ns},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-only"}],
        },
    }
    application = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "project": project,
            "source": {"repoURL": world.charts.url, "chart": "greeter", "targetRevision": "1.0.0"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "elsewhere"},
            "syncPolicy": {"automated": {}},
        },
    }
    _apply(world, appproject)
    _apply(world, application)
    try:
        message = world.gitward.until(
            lambda: (m := world.gitward.app(name).get("message", "")) and "policy" in m and m
        )
        assert (
            f"namespace 'elsewhere' on cluster 'in-cluster' is not a permitted destination in project "
            f"{project!r}"
        ) in message
        assert not world.kube.kubectl("get", "namespace", "elsewhere", "-o", "name", check=False).strip()
    finally:
        world.kube.kubectl("delete", "applications.argoproj.io", name, "-n", ns, check=False)
