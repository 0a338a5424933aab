"""Flux HelmReleases read as gitward Applications: each field honoured or refused by name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitward.model import load_objects
from gitward.model.secretrefs import in_files

NS = "flux-system"


def release(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "interval": "10m",
        "chart": {"spec": {"chart": "podinfo", "version": ">=6.0.0 <7.0.0",
                           "sourceRef": {"kind": "HelmRepository", "name": "charts"}}},
    }  # fmt: skip
    base.update(spec)
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": NS},
        "spec": base,
    }


def helm_repository(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": NS},
        "spec": {"url": "https://charts.example.com/", "interval": "1m", **spec},
    }


def git_repository(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "fleet", "namespace": NS},
        "spec": {"url": "https://git.example.com/org/fleet.git", "ref": {"branch": "main"}, **spec},
    }


def oci_repository(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": "podinfo-chart", "namespace": NS},
        "spec": {"url": "oci://registry.example.com/charts/podinfo", "ref": {"semver": "6.x"}, **spec},
    }


def only_app(*documents: dict[str, Any], from_cluster: bool = False) -> Any:
    config = load_objects(documents, from_cluster=from_cluster)
    assert config.errors == ()
    (app,) = config.applications
    return app


def refusal(*documents: dict[str, Any], from_cluster: bool = False) -> str:
    config = load_objects(documents, from_cluster=from_cluster)
    assert config.applications == ()
    assert [(e.kind, e.name) for e in config.errors] == [("Application", "podinfo")]
    return config.errors[0].message


def test_a_release_from_an_http_helm_repository() -> None:
    doc = release(values={"replicaCount": 2}, targetNamespace="web", install={"createNamespace": True})
    app = only_app(doc, helm_repository())
    source = app.spec.source
    assert (source.repo_url, source.chart, source.revision) == (
        "https://charts.example.com/",
        "podinfo",
        ">=6.0.0 <7.0.0",
    )
    assert source.helm.values == {"replicaCount": 2}
    assert source.helm.release_name == "web-podinfo"  # Flux's default: targetNamespace-name
    assert source.helm.namespace == "web"
    assert app.spec.destination.namespace == "web"
    policy = app.spec.sync_policy
    assert policy.interval == 60.0  # the repository's shorter interval
    assert policy.automated.prune
    assert not policy.automated.self_heal  # drift detection is off by default
    assert policy.retry.limit == 0  # Flux does not retry a failed install unless told
    assert policy.wait  # Helm waits for the release's objects
    assert policy.create_namespace
    assert app.spec.deletion_policy == "background"  # Flux uninstalls a deleted HelmRelease
    assert app.metadata.annotations["gitward.dev/converted-from"] == "helm.toolkit.fluxcd.io/v2/HelmRelease"


def test_without_target_namespace_the_release_lives_in_the_helmrelease_namespace() -> None:
    app = only_app(release(), helm_repository())
    assert app.spec.destination.namespace == NS
    assert app.spec.source.helm.release_name == "podinfo"


def test_a_release_from_an_oci_helm_repository() -> None:
    repo = helm_repository(url="oci://127.0.0.1:5000/charts", type="oci", insecure=True)
    app = only_app(release(), repo)
    assert (app.spec.source.repo_url, app.spec.source.chart) == ("oci://127.0.0.1:5000/charts", "podinfo")


def test_a_chart_in_a_git_repository_with_values_files_from_the_repository_root() -> None:
    chart = {"spec": {"chart": "./charts/podinfo", "sourceRef": {"kind": "GitRepository", "name": "fleet"},
                      "valuesFiles": ["charts/podinfo/values-prod.yaml"]}}  # fmt: skip
    app = only_app(release(chart=chart), git_repository())
    source = app.spec.source
    assert (source.repo_url, source.revision, source.path, source.chart) == (
        "https://git.example.com/org/fleet.git",
        "main",
        "charts/podinfo",
        None,
    )
    assert source.helm.value_files == ("values-prod.yaml",)
    assert source.render_hint == "helm"


def test_a_chart_ref_to_an_oci_repository() -> None:
    doc = release(chartRef={"kind": "OCIRepository", "name": "podinfo-chart"})
    del doc["spec"]["chart"]
    app = only_app(doc, oci_repository())
    source = app.spec.source
    assert (source.repo_url, source.chart, source.revision) == (
        "oci://registry.example.com/charts",
        "podinfo",
        "6.x",
    )


def test_remediation_retries_drift_detection_history_and_uninstall() -> None:
    doc = release(
        install={"remediation": {"retries": 3}},
        upgrade={"remediation": {"retries": 3, "remediateLastFailure": False}},
        driftDetection={"mode": "enabled", "ignore": [
            {"paths": ["/spec/replicas"], "target": {"kind": "Deployment", "group": "apps"}}]},
        maxHistory=4,
        uninstall={"deletionPropagation": "foreground"},
        timeout="2m",
        suspend=True,
        dependsOn=[{"name": "cert-manager"}],
    )  # fmt: skip
    app = only_app(doc, helm_repository())
    assert app.spec.sync_policy.retry.limit == 3
    assert app.spec.sync_policy.automated.self_heal
    assert app.spec.sync_policy.timeout == 120.0
    assert [(r.group, r.kind, r.json_pointers) for r in app.spec.ignore_differences] == [
        ("apps", "Deployment", ("/spec/replicas",))
    ]
    assert app.spec.revision_history_limit == 4
    assert app.spec.deletion_policy == "foreground"
    assert app.spec.suspend
    assert app.dependencies == ("cert-manager",)


def test_values_from_is_read_in_the_cluster_and_refused_in_files() -> None:
    doc = release(valuesFrom=[
        {"kind": "ConfigMap", "name": "podinfo-values"},
        {"kind": "Secret", "name": "podinfo-secret", "valuesKey": "token", "targetPath": "auth.token",
         "optional": True},
    ])  # fmt: skip
    message = refusal(doc, helm_repository())
    assert "spec.valuesFrom needs gitward run --from-cluster" in message
    app = only_app(doc, helm_repository(), from_cluster=True)
    refs = app.spec.source.helm.values_from
    assert [(r.kind, r.name, r.namespace, r.values_key, r.target_path, r.optional) for r in refs] == [
        ("ConfigMap", "podinfo-values", NS, "values.yaml", None, False),
        ("Secret", "podinfo-secret", NS, "token", "auth.token", True),
    ]


def test_a_gitward_application_naming_values_from_is_refused_in_a_file_config() -> None:
    app = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {"source": {"repoURL": "https://charts.example.com/", "chart": "web",
                            "helm": {"valuesFrom": [{"kind": "Secret", "name": "s"}]}}},
    }  # fmt: skip
    config = in_files(load_objects([app]))
    assert config.applications == ()
    assert "spec.source.helm.valuesFrom needs the config to come from the cluster" in config.errors[0].message


def test_a_helm_repository_secret_is_an_implied_repository_in_the_cluster() -> None:
    config = load_objects([release(), helm_repository(secretRef={"name": "charts-auth"})], from_cluster=True)
    assert config.errors == ()
    (implied,) = config.repositories
    assert implied.name == "helmrepository.flux-system.charts"
    assert implied.spec.url == "https://charts.example.com/"
    assert implied.spec.secret_ref.name == "charts-auth"


@pytest.mark.parametrize(
    ("spec", "repo", "fragment"),
    [
        ({"postRenderers": [{"kustomize": {}}]}, {}, "spec.postRenderers is not supported"),
        ({"serviceAccountName": "deployer"}, {}, "spec.serviceAccountName is not supported"),
        ({"storageNamespace": "x"}, {}, "spec.storageNamespace is not supported"),
        ({"test": {"enable": True}}, {}, "spec.test is not supported"),
        ({"install": {"remediation": {"retries": 3}}, "upgrade": {"remediation": {"retries": 1}}}, {},
         "spec.install.remediation.retries and spec.upgrade.remediation.retries differ"),
        ({"upgrade": {"remediation": {"remediateLastFailure": True}}}, {},
         "spec.upgrade.remediation.remediateLastFailure is not supported: gitward never uninstalls"),
        ({"upgrade": {"remediation": {"strategy": "uninstall"}}}, {},
         "spec.upgrade.remediation.strategy is not supported"),
        ({"upgrade": {"crds": "Skip"}}, {}, "spec.upgrade.crds 'Skip' is not supported"),
        ({"install": {"disableHooks": True}}, {}, "spec.install.disableHooks is not supported"),
        ({"install": {"disableWait": True}}, {}, "spec.install.disableWait and spec.upgrade.disableWait"),
        ({"uninstall": {"keepHistory": True}}, {}, "spec.uninstall.keepHistory is not supported"),
        ({"driftDetection": {"mode": "enabled", "ignore": [{"paths": ["/a"]}]}}, {},
         "spec.driftDetection.ignore[0].target.kind is required"),
        ({"valuesFrom": [{"kind": "ConfigMap", "name": "v"}]}, {}, "spec.valuesFrom needs gitward run"),
        ({}, {"timeout": "1m"}, "HelmRepository spec.timeout is not supported"),
        ({}, {"provider": "aws"}, "HelmRepository spec.provider 'aws' is not supported"),
        ({}, {"passCredentials": True}, "HelmRepository spec.passCredentials is not supported"),
        ({}, {"type": "oci"}, "spec.url must be an oci:// URL exactly when spec.type is oci"),
        ({}, {"insecure": True}, "spec.insecure is supported only for a loopback OCI registry"),
        ({"chart": {"spec": {"chart": "p", "sourceRef": {"kind": "Bucket", "name": "b"}}}}, {},
         "sourceRef.kind Bucket is not supported by gitward"),
        ({"chart": {"spec": {"chart": "p", "verify": {"provider": "cosign"},
                             "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}, {},
         "spec.chart.spec.verify is not supported"),
        ({"chartRef": {"kind": "HelmChart", "name": "x"}, "chart": None}, {},
         "spec.chartRef.kind 'HelmChart' is not supported"),
    ],
)  # fmt: skip
def test_fields_gitward_does_not_honour_are_refused_by_name(
    spec: dict[str, Any], repo: dict[str, Any], fragment: str
) -> None:
    doc = release(**spec)
    if doc["spec"].get("chart") is None:
        doc["spec"].pop("chart")
    message = refusal(doc, helm_repository(**repo))
    assert fragment in message


def test_git_chart_fields_flux_would_ignore_are_refused() -> None:
    chart = {"spec": {"chart": "charts/podinfo", "sourceRef": {"kind": "GitRepository", "name": "fleet"}}}
    with_version = copy.deepcopy(chart)
    with_version["spec"]["version"] = "1.2.3"
    assert "spec.chart.spec.version is ignored by Flux" in refusal(
        release(chart=with_version), git_repository()
    )
    outside = copy.deepcopy(chart)
    outside["spec"]["valuesFiles"] = ["values/prod.yaml"]
    assert "is outside the chart folder" in refusal(release(chart=outside), git_repository())
    strategy = copy.deepcopy(chart)
    strategy["spec"]["reconcileStrategy"] = "ChartVersion"
    assert "reconcileStrategy 'ChartVersion' is not supported" in refusal(
        release(chart=strategy), git_repository()
    )


def test_a_missing_source_is_named() -> None:
    assert "HelmRepository flux-system/charts referenced by the HelmRelease is not defined" in refusal(
        release()
    )


def test_an_unread_version_of_helmrelease_names_the_one_gitward_reads() -> None:
    doc = release()
    doc["apiVersion"] = "helm.toolkit.fluxcd.io/v2beta1"
    assert "it reads helm.toolkit.fluxcd.io/v2" in refusal(doc, helm_repository())
