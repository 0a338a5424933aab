"""Argo CD and Flux objects read as gitward Applications, and what cannot be run faithfully refused."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
import yaml

from gitward.core.errors import ValidationError
from gitward.model import ConversionError, from_argocd, from_flux, load_objects
from gitward.model.foreign import (
    CONVERTED_FROM_ANNOTATION,
    describe_foreign,
    foreign_object_message,
    foreign_refusal,
)
from gitward.model.loader import lists_as_application

ARGO = yaml.safe_load(
    """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  labels: {team: web}
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: web
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: v1.0.0
    path: helm-guestbook
    helm:
      releaseName: gb
      valueFiles: [values-prod.yaml]
      values: |
        replicaCount: 3
        image: {tag: "1.2"}
      parameters:
        - {name: service.type, value: NodePort, forceString: true}
  destination: {name: prod, namespace: guestbook}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true, ServerSideApply=true]
    retry: {limit: 3, backoff: {duration: 10s, factor: 3, maxDuration: 5m}}
  ignoreDifferences:
    - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
  revisionHistoryLimit: 5
status: {sync: {status: Synced}}
"""
)


def _argo(**patch: Any) -> dict[str, Any]:
    doc = yaml.safe_load(yaml.safe_dump(ARGO))
    doc["spec"].update(patch)
    return doc


def test_argo_application_fields_map() -> None:
    app = from_argocd(ARGO)
    spec = app.spec
    assert app.name == "guestbook"
    assert app.metadata.labels == {"team": "web"}
    assert app.metadata.annotations[CONVERTED_FROM_ANNOTATION] == "argoproj.io/v1alpha1/Application"
    assert spec.project == "web"
    assert spec.source.revision == "v1.0.0"
    assert spec.source.path == "helm-guestbook"
    assert spec.source.helm is not None
    assert spec.source.helm.release_name == "gb"
    assert spec.source.helm.values == {"replicaCount": 3, "image": {"tag": "1.2"}}
    assert spec.source.helm.parameters[0].force_string is True
    assert spec.source.directory is None
    assert (spec.destination.cluster, spec.destination.namespace) == ("prod", "guestbook")
    assert spec.sync_policy.automated is not None
    assert spec.sync_policy.automated.prune is True
    assert spec.sync_policy.create_namespace is True
    assert spec.sync_policy.retry.limit == 3
    assert spec.sync_policy.retry.backoff.max_duration == 300.0
    assert spec.ignore_differences[0].kind == "Deployment"


def test_argo_values_object_wins_over_values_string() -> None:
    doc = _argo()
    doc["spec"]["source"]["helm"]["valuesObject"] = {"replicaCount": 9}
    assert from_argocd(doc).spec.source.helm.values == {"replicaCount": 9}  # type: ignore[union-attr]


def test_argo_plain_source_does_not_recurse_and_defaults() -> None:
    doc = _argo(
        source={"repoURL": "https://git.example.com/x.git", "path": "manifests"},
        destination={"server": "https://kubernetes.default.svc"},
        syncPolicy=None,
    )
    spec = from_argocd(doc).spec
    assert spec.source.revision == "HEAD"
    assert spec.source.directory is not None
    assert spec.source.directory.recurse is False
    assert spec.source.render_hint is None
    assert spec.destination.cluster == "in-cluster"
    assert spec.sync_policy.automated is None


def test_argo_revision_history_limit_loads_into_the_spec() -> None:
    assert from_argocd(_argo(revisionHistoryLimit=2)).spec.revision_history_limit == 2
    spec = yaml.safe_load(yaml.safe_dump(ARGO))["spec"]
    del spec["revisionHistoryLimit"]
    assert from_argocd({**ARGO, "spec": spec}).spec.revision_history_limit is None
    with pytest.raises(pydantic.ValidationError, match="revisionHistoryLimit"):
        from_argocd(_argo(revisionHistoryLimit=-1))


def test_argo_automated_disabled_means_manual() -> None:
    doc = _argo(syncPolicy={"automated": {"enabled": False, "prune": True}})
    assert from_argocd(doc).spec.sync_policy.automated is None


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"sources": [{"repoURL": "https://x/y.git", "plugin": {"x": 1}}]}, "spec.sources[0].plugin.x"),
        ({"destination": {"server": "https://10.0.0.1:6443"}}, "destination.name"),
        ({"destination": {"name": "a", "server": "https://kubernetes.default.svc"}}, "either name or server"),
        ({"source": {"repoURL": "https://x/y.git", "plugin": {"kind": "cmp"}}}, "spec.source.plugin.kind"),
        (
            {"source": {"repoURL": "https://x/y.git", "directory": {"jsonnet": {"libs": ["x"], "x": 1}}}},
            "spec.source.directory.jsonnet.x",
        ),
        ({"source": {"repoURL": "https://x/y.git", "kustomize": {"patches": []}}}, "kustomize.patches"),
        ({"syncPolicy": {"managedNamespaceMetadata": {}}}, "syncPolicy.managedNamespaceMetadata"),
        (
            {"ignoreDifferences": [{"kind": "Secret", "jsonPointers": ["/data"], "compareOptions": 1}]},
            "ignoreDifferences[0].compareOptions",
        ),
        ({"somethingNew": True}, "spec.somethingNew"),
    ],
)
def test_argo_unsupported_fields_are_refused_by_name(patch: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConversionError, match=r"not supported|destination") as info:
        from_argocd(_argo(**patch))
    assert fragment in str(info.value)


def test_argo_ignore_differences_by_jq_expression_and_field_manager_are_read() -> None:
    rules = [
        {"group": "apps", "kind": "Deployment", "jqPathExpressions": ['.spec.x[] | select(.name == "a")']},
        {"group": "*", "kind": "*", "managedFieldsManagers": ["kube-controller-manager"]},
    ]
    spec = from_argocd(_argo(ignoreDifferences=rules)).spec
    assert spec.ignore_differences[0].jq_path_expressions == ('.spec.x[] | select(.name == "a")',)
    assert spec.ignore_differences[1].managed_fields_managers == ("kube-controller-manager",)


def test_argo_jq_expression_outside_the_subset_is_refused_naming_the_construct() -> None:
    rules = [{"kind": "Deployment", "jqPathExpressions": [".spec.template | map(.x)"]}]
    with pytest.raises(pydantic.ValidationError, match="'map' is not supported"):
        from_argocd(_argo(ignoreDifferences=rules))


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("password: [unclosed", "not valid YAML"),
        ("- a list", "must be a YAML mapping"),
    ],
)
def test_argo_inline_values_are_parsed_safely(values: str, fragment: str) -> None:
    doc = _argo()
    doc["spec"]["source"]["helm"]["values"] = values
    with pytest.raises(ConversionError) as info:
        from_argocd(doc)
    assert fragment in str(info.value)
    assert "unclosed" not in str(info.value)


def test_argo_invalid_result_is_a_validation_error() -> None:
    doc = _argo(syncPolicy={"syncOptions": ["NoSuchOption=true"]})
    with pytest.raises(pydantic.ValidationError):
        from_argocd(doc)


KUSTOMIZATION = yaml.safe_load(
    """
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  interval: 10m
  retryInterval: 2m
  path: ./apps/prod
  prune: true
  force: true
  targetNamespace: apps
  sourceRef: {kind: GitRepository, name: fleet}
  dependsOn: [{name: infra}]
  postBuild: {substitute: {CLUSTER: prod}}
  images:
    - {name: podinfo, newName: ghcr.io/x/podinfo, newTag: 6.5.0}
    - {name: nginx, digest: "sha256:abc"}
    - {name: redis, newTag: "7"}
  commonMetadata: {labels: {env: prod}}
  wait: true
  timeout: 5m
"""
)
REPOSITORY = yaml.safe_load(
    """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec:
  url: ssh://git@git.example.com/org/fleet.git
  ref: {branch: main, tag: v2.0.0}
  interval: 1m
"""
)


def _flux(kustomization: dict[str, Any] | None = None, repository: dict[str, Any] | None = None) -> Any:
    k = yaml.safe_load(yaml.safe_dump(KUSTOMIZATION))
    r = yaml.safe_load(yaml.safe_dump(REPOSITORY))
    k["spec"].update(kustomization or {})
    r["spec"].update(repository or {})
    return from_flux(kustomization=k, git_repository=r)


def test_flux_pair_fields_map() -> None:
    app = _flux()
    spec = app.spec
    assert app.name == "apps"
    assert spec.source.repo_url == "ssh://git@git.example.com/org/fleet.git"
    assert spec.source.revision == "v2.0.0"  # tag takes precedence over branch, as in Flux
    assert spec.source.path == "apps/prod"
    assert spec.source.substitute == {"CLUSTER": "prod"}
    assert spec.source.kustomize is not None
    assert spec.source.kustomize.namespace == "apps"
    assert spec.source.kustomize.images == (
        "podinfo=ghcr.io/x/podinfo:6.5.0",
        "nginx@sha256:abc",
        "redis:7",
    )
    assert spec.source.kustomize.common_labels == {"env": "prod"}
    assert spec.destination.namespace == "apps"
    assert spec.sync_policy.automated is not None
    assert spec.sync_policy.automated.prune is True
    assert spec.sync_policy.automated.self_heal is True
    assert spec.sync_policy.interval == 60.0  # the GitRepository's 1m: the shorter interval polls
    assert spec.sync_policy.timeout == 300.0  # its timeout: 5m, which bounds every wait of a sync
    assert spec.sync_policy.wait is True
    assert spec.sync_policy.retry.limit == -1
    assert spec.sync_policy.retry.backoff.delay(9) == 120.0
    assert spec.sync_policy.force is True
    assert app.dependencies == ("infra",)


@pytest.mark.parametrize(
    ("ref", "revision"),
    [
        ({}, "master"),
        ({"branch": "main"}, "main"),
        ({"branch": "main", "semver": ">=1.0.0"}, ">=1.0.0"),
        ({"tag": "v1", "commit": "3f1c2a"}, "3f1c2a"),
        ({"name": "refs/heads/x", "tag": "v1"}, "refs/heads/x"),
    ],
)
def test_flux_revision_precedence(ref: dict[str, str], revision: str) -> None:
    assert _flux(repository={"ref": ref}).spec.source.revision == revision


@pytest.mark.parametrize(("kustomization", "repository"), [({"suspend": True}, {}), ({}, {"suspend": True})])
def test_flux_suspend_is_the_apps_suspend(kustomization: dict[str, Any], repository: dict[str, Any]) -> None:
    """Suspended, not turned manual: the status then says the app is suspended, as Flux shows it."""
    app = _flux(kustomization, repository=repository)
    assert app.spec.suspend is True
    assert app.spec.sync_policy.automated is not None
    assert _flux().spec.suspend is False


@pytest.mark.parametrize(
    ("kustomization", "repository", "fragment"),
    [
        ({"decryption": {"provider": "sops"}}, {}, "spec.decryption"),
        ({"patches": []}, {}, "spec.patches"),
        ({"kubeConfig": {"secretRef": {"name": "k"}}}, {}, "spec.kubeConfig"),
        ({"postBuild": {"substituteFrom": [{"kind": "Secret", "name": "s"}]}}, {}, "substituteFrom"),
        ({"sourceRef": {"kind": "OCIRepository", "name": "fleet"}}, {}, "OCIRepository"),
        ({}, {"verify": {"mode": "HEAD"}}, "verify"),
        ({}, {"include": []}, "include"),
        ({}, {"timeout": "60s"}, "GitRepository spec.timeout is not supported"),
        (
            {},
            {"secretRef": {"name": "fleet-auth"}},
            "GitRepository spec.secretRef is not supported in a config file (it needs gitward run "
            "--from-cluster, which reads the Secret): declare a Repository object with "
            "passwordFile/sshPrivateKeyFile for URL ssh://git@git.example.com/org/fleet.git",
        ),
    ],
)
def test_flux_unsupported_fields_are_refused(
    kustomization: dict[str, Any], repository: dict[str, Any], fragment: str
) -> None:
    k = yaml.safe_load(yaml.safe_dump(KUSTOMIZATION))
    k["spec"].update(kustomization)
    r = yaml.safe_load(yaml.safe_dump(REPOSITORY))
    r["spec"].update(repository)
    config = load_objects([k, r])
    assert config.applications == ()
    assert [e.name for e in config.errors] == ["apps"]
    assert fragment in config.errors[0].message


def test_flux_loader_pairs_by_namespace_and_name_in_any_order() -> None:
    other_ns = yaml.safe_load(yaml.safe_dump(REPOSITORY))
    other_ns["metadata"]["namespace"] = "elsewhere"
    config = load_objects([KUSTOMIZATION, other_ns])
    assert config.applications == ()
    assert "GitRepository flux-system/fleet" in config.errors[0].message
    config = load_objects([REPOSITORY, KUSTOMIZATION])
    assert [a.name for a in config.applications] == ["apps"]
    assert config.errors == ()


# -- Argo CD and Flux kinds gitward does not run ----------------------------------------------------

FOREIGN = [
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "ApplicationSet"),
    ("argoproj.io/v1alpha1", "AppProject"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
    ("source.toolkit.fluxcd.io/v1beta2", "OCIRepository"),
    ("source.toolkit.fluxcd.io/v1", "Bucket"),
    ("source.toolkit.fluxcd.io/v1", "HelmChart"),
    ("source.toolkit.fluxcd.io/v1", "ExternalArtifact"),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
    ("source.extensions.fluxcd.io/v1beta1", "ArtifactGenerator"),
    ("image.toolkit.fluxcd.io/v1beta2", "ImagePolicy"),
    ("image.toolkit.fluxcd.io/v1beta2", "ImageRepository"),
    ("image.toolkit.fluxcd.io/v1beta2", "ImageUpdateAutomation"),
    ("notification.toolkit.fluxcd.io/v1beta3", "Alert"),
    ("notification.toolkit.fluxcd.io/v1beta3", "Provider"),
    ("notification.toolkit.fluxcd.io/v1", "Receiver"),
]


@pytest.mark.parametrize(("api_version", "kind"), FOREIGN)
def test_every_argo_and_flux_kind_is_described(api_version: str, kind: str) -> None:
    message = foreign_object_message(api_version, kind, "x")
    assert message is not None
    assert message.startswith(f"{kind} x ({api_version}) is ")
    assert "gitward does not run" in message
    assert message.endswith("instead")


@pytest.mark.parametrize(
    ("group", "kind"),
    [
        ("apps", "Deployment"),
        ("", "ConfigMap"),
        ("kustomize.config.k8s.io", "Kustomization"),  # a kustomization.yaml, not Flux
        ("gitward.dev", "Application"),
        ("example.com", "HelmRelease"),  # same kind, another project's group
    ],
)
def test_other_kinds_are_not_foreign(group: str, kind: str) -> None:
    assert describe_foreign(group, kind) is None


def test_a_helm_chart_says_what_it_is_and_what_to_write_instead() -> None:
    assert describe_foreign("source.toolkit.fluxcd.io", "HelmChart") == (
        "is a Flux Helm chart source; gitward does not run Flux HelmCharts: "
        "declare an Application with a Helm source instead"
    )
    assert foreign_object_message("helm.toolkit.fluxcd.io/v2", "HelmRelease", "podinfo") == (
        "HelmRelease podinfo (helm.toolkit.fluxcd.io/v2) is a Flux Helm release; gitward does not run "
        "Flux HelmReleases rendered by an app: declare it with its chart's source in the gitward config, "
        "or render a gitward.dev/v1alpha1 Application with a Helm source instead"
    )


def test_refusal_names_each_foreign_object_once_and_ignores_the_rest() -> None:
    assert foreign_refusal([("v1", "ConfigMap", "a"), ("widgets.example.com/v1", "Widget", "w")]) is None
    error = foreign_refusal(
        [
            ("source.toolkit.fluxcd.io/v1", "HelmRepository", "podinfo"),
            ("v1", "ConfigMap", "a"),
            ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "podinfo"),
            ("helm.toolkit.fluxcd.io/v2", "HelmRelease", "podinfo"),
        ]
    )
    assert isinstance(error, ValidationError)
    assert error.reason == "ForeignObject"
    text = str(error)
    assert text.startswith("HelmRepository podinfo (source.toolkit.fluxcd.io/v1) is a Flux Helm repository")
    assert text.count("HelmRelease podinfo (helm.toolkit.fluxcd.io/v2) is a Flux Helm release") == 1
    assert "ConfigMap" not in text
    assert text.endswith("; nothing is applied")


def test_a_long_refusal_counts_what_it_does_not_name() -> None:
    many = [("helm.toolkit.fluxcd.io/v2", "HelmRelease", f"r{i}") for i in range(8)]
    error = foreign_refusal(many)
    assert error is not None
    assert "HelmRelease r4 " in str(error)
    assert "HelmRelease r5 " not in str(error)
    assert "and 3 more Argo CD or Flux objects" in str(error)


def test_kinds_gitward_does_not_run_are_config_errors_not_applications() -> None:
    config = load_objects(
        yaml.safe_load_all(
            """
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: podinfo-artifacts, namespace: flux-system}
spec: {sources: [{alias: podinfo, kind: GitRepository, name: podinfo}]}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmChart
metadata: {name: podinfo, namespace: flux-system}
spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: podinfo}}
---
apiVersion: gitward.dev/v1alpha1
kind: Application
metadata: {name: web}
spec: {source: {repoURL: "https://git.example.com/org/apps.git"}}
"""
        )
    )
    assert [a.name for a in config.applications] == ["web"]
    errors = {(e.kind, e.name): e for e in config.errors}
    assert set(errors) == {("ArtifactGenerator", "podinfo-artifacts"), ("HelmChart", "podinfo")}
    assert errors[("ArtifactGenerator", "podinfo-artifacts")].message.startswith(
        "ArtifactGenerator podinfo-artifacts (source.extensions.fluxcd.io/v1beta1) "
        "is a Flux artifact generator; gitward does not run Flux ArtifactGenerators"
    )
    assert "declare an Application with a Helm source instead" in errors[("HelmChart", "podinfo")].message
    assert not any(lists_as_application(e) for e in config.errors)


def test_an_argo_or_flux_application_of_an_unread_version_is_an_invalid_application() -> None:
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"path": "./apps"},
    }
    repository = {
        "apiVersion": "source.toolkit.fluxcd.io/v1beta1",
        "kind": "GitRepository",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {"url": "https://git.example.com/org/apps.git"},
    }
    config = load_objects([kustomization, repository])
    by_kind = {e.kind: e for e in config.errors}
    assert set(by_kind) == {"Application", "GitRepository"}
    assert by_kind["Application"].name == "apps"
    assert "'kustomize.toolkit.fluxcd.io/v1beta1' is not read by gitward" in by_kind["Application"].message
    assert (
        "kustomize.toolkit.fluxcd.io/v1 and kustomize.toolkit.fluxcd.io/v1beta2"
        in by_kind["Application"].message
    )
    assert lists_as_application(by_kind["Application"])
    assert not lists_as_application(by_kind["GitRepository"])
