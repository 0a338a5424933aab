"""Accepted means acted on: sync options and Flux fields gitward would not honour are refused at load,
and the ones it honours reach the model typed (Helm parameters, Flux wait/timeout/healthChecks)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gitward.model import Application
from gitward.model.errors import ConversionError
from gitward.model.flux import from_flux
from gitward.model.helmparams import parse_path, typed_value, with_parameters
from gitward.model.source import HelmParameter
from gitward.model.syncpolicy import SyncPolicy


def app(options: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a"},
        "spec": {
            "source": {"repoURL": "https://git.example.com/r.git", "path": "p"},
            "syncPolicy": {"options": options},
        },
    }


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("ServerSideApply=false", "gitward always applies server-side"),
        ("ApplyOutOfSyncOnly=false", "applies only objects that are out of sync"),
        ("FailOnSharedResource=false", "never applies an object another application manages"),
    ],
)
def test_an_option_gitward_would_not_honour_is_refused_naming_it(option: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Application.model_validate(app([option]))
    assert f"sync option {option} is not supported" in str(caught.value)
    assert says in str(caught.value)


def test_validate_false_needs_replace_true_where_it_can_act() -> None:
    with pytest.raises(ValidationError, match="Validate=false is not supported without Replace=true"):
        Application.model_validate(app(["Validate=false"]))
    assert not Application.model_validate(
        app(["Validate=false", "Replace=true"])
    ).spec.sync_policy.validate_objects


def test_options_gitward_honours_are_accepted_with_typed_values() -> None:
    options = [
        "ServerSideApply=true",
        "ApplyOutOfSyncOnly=true",
        "FailOnSharedResource=true",
        "Replace=true",
        "Force=true",
        "PruneLast=true",
        "Validate=false",
        "RespectIgnoreDifferences=true",
        "SkipDryRunOnMissingResource=true",
        "PrunePropagationPolicy=orphan",
    ]
    policy = Application.model_validate(app(options)).spec.sync_policy
    assert policy.replace
    assert policy.force
    assert policy.prune_last
    assert policy.respect_ignore_differences
    assert not policy.validate_objects
    assert policy.skip_dry_run_on_missing_resource
    assert policy.prune_propagation_policy == "orphan"


def test_defaults_say_what_gitward_does() -> None:
    policy = SyncPolicy()
    assert policy.prune_propagation_policy == "foreground"  # and prune deletes with Foreground
    assert policy.apply_out_of_sync_only
    assert policy.fail_on_shared_resource
    assert policy.server_side_apply
    assert policy.timeout == 300.0
    assert not policy.wait
    assert policy.health_checks == ()


# -- Helm parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("image.tag", ["image", "tag"]),
        ("ingress.hosts[0].name", ["ingress", "hosts", 0, "name"]),
        ("list[2]", ["list", 2]),
        ("matrix[1][0]", ["matrix", 1, 0]),
        (r"podAnnotations.prometheus\.io/scrape", ["podAnnotations", "prometheus.io/scrape"]),
    ],
)
def test_parameter_names_are_paths_with_list_indices(name: str, path: list[Any]) -> None:
    assert parse_path(name) == path


@pytest.mark.parametrize("name", ["a..b", ".a", "a.", "[0]", "a[x]", "a[0]b", "a[99999999]"])
def test_a_parameter_name_that_does_not_parse_is_refused_at_load(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HelmParameter.model_validate({"name": name, "value": "1"})
    assert f"helm parameter {name!r}" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "typed", "forced"),
    [
        ("true", True, "true"),
        ("False", False, "False"),
        ("null", None, "null"),
        ("3", 3, "3"),
        ("0", 0, "0"),
        ("-12", -12, "-12"),
        ("007", "007", "007"),
        ("1.5", "1.5", "1.5"),
        ("v1.2", "v1.2", "v1.2"),
    ],
)
def test_values_are_typed_as_helm_set_types_them_unless_force_string(
    raw: str, typed: Any, forced: str
) -> None:
    assert typed_value(raw, force_string=False) == typed
    assert type(typed_value(raw, force_string=False)) is type(typed)
    assert typed_value(raw, force_string=True) == forced


def test_parameters_merge_into_values_growing_lists_with_nulls() -> None:
    parameters = [
        HelmParameter.model_validate(p)
        for p in [
            {"name": "replicaCount", "value": "2"},
            {"name": "image.tag", "value": "1.0", "forceString": True},
            {"name": "hosts[2].name", "value": "c.example.com"},
            {"name": "hosts[0].name", "value": "a.example.com"},
            {"name": "enabled", "value": True},
            {"name": "port", "value": 8080, "forceString": True},
        ]
    ]
    values = {"image": {"repository": "nginx"}, "hosts": [{"name": "old", "path": "/"}]}
    out = with_parameters(values, parameters)
    assert out == {
        "replicaCount": 2,
        "image": {"repository": "nginx", "tag": "1.0"},
        "hosts": [{"name": "a.example.com", "path": "/"}, None, {"name": "c.example.com"}],
        "enabled": True,
        "port": "8080",
    }
    assert values["hosts"] == [{"name": "old", "path": "/"}]  # the spec's values are not changed


# -- Flux ------------------------------------------------------------------------------------------------

REPO = {
    "apiVersion": "source.toolkit.fluxcd.io/v1",
    "kind": "GitRepository",
    "metadata": {"name": "repo", "namespace": "flux-system"},
    "spec": {"url": "https://git.example.com/r.git", "ref": {"branch": "main"}},
}


def kustomization(**spec: Any) -> dict[str, Any]:
    base = {"interval": "10m", "path": "./p", "sourceRef": {"kind": "GitRepository", "name": "repo"}}
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "k", "namespace": "flux-system"},
        "spec": {**base, **spec},
    }


def test_flux_timeout_defaults_to_the_interval_and_wait_is_honoured() -> None:
    policy = from_flux(kustomization=kustomization(), git_repository=REPO).spec.sync_policy
    assert policy.timeout == 600.0
    assert not policy.wait
    policy = from_flux(
        kustomization=kustomization(timeout="2m", wait=True), git_repository=REPO
    ).spec.sync_policy
    assert policy.timeout == 120.0
    assert policy.wait


def test_flux_health_checks_become_objects_checked_at_the_end() -> None:
    check = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "shop"}
    policy = from_flux(
        kustomization=kustomization(healthChecks=[check]), git_repository=REPO
    ).spec.sync_policy
    assert [(c.api_version, str(c.key)) for c in policy.health_checks] == [
        ("apps/v1", "Deployment.apps/shop/web")
    ]
    with pytest.raises(ConversionError, match=r"spec.healthChecks\[\].uid is not supported"):
        from_flux(kustomization=kustomization(healthChecks=[{**check, "uid": "x"}]), git_repository=REPO)


def test_flux_depends_on_another_namespace_is_refused_its_own_accepted() -> None:
    same = kustomization(dependsOn=[{"name": "infra", "namespace": "flux-system"}, {"name": "crds"}])
    assert from_flux(kustomization=same, git_repository=REPO).dependencies == ("infra", "crds")
    other = kustomization(dependsOn=[{"name": "infra", "namespace": "platform"}])
    with pytest.raises(ConversionError, match=r"spec.dependsOn\[0\].namespace 'platform'"):
        from_flux(kustomization=other, git_repository=REPO)


def test_argocd_helm_version_other_than_v3_is_refused() -> None:
    from gitward.model.argocd import from_argocd

    def argo(version: str) -> dict[str, Any]:
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "a"},
            "spec": {
                "source": {
                    "repoURL": "https://git.example.com/r.git",
                    "path": "c",
                    "helm": {"version": version},
                },
                "destination": {"name": "local"},
            },
        }

    assert from_argocd(argo("v3")).spec.source.helm is not None
    with pytest.raises(ConversionError, match=r"spec\.source\.helm\.version 'v2' is not supported"):
        from_argocd(argo("v2"))


def test_flux_polls_at_the_shorter_of_the_kustomization_and_repository_intervals() -> None:
    quick_repo = {**REPO, "spec": {**REPO["spec"], "interval": "1m"}}
    assert (
        from_flux(kustomization=kustomization(), git_repository=quick_repo).spec.sync_policy.interval == 60.0
    )
    slow_repo = {**REPO, "spec": {**REPO["spec"], "interval": "1h"}}
    policy = from_flux(kustomization=kustomization(), git_repository=slow_repo).spec.sync_policy
    assert policy.interval == 600.0
    assert policy.timeout == 600.0  # the timeout still defaults to the Kustomization's own interval
