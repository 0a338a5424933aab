"""secretRef or files: the cluster config refuses file fields, the file config refuses secretRef."""

from __future__ import annotations

from typing import Any

from gitward.model import load_objects
from gitward.model.secretrefs import in_cluster, in_files


def _repository(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": name, "namespace": "gitward"},
        "spec": {"url": f"https://git.example.com/{name}", **spec},
    }


def _cluster(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "gitward.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": name}, "spec": spec}


DOCUMENTS = [
    _repository("by-secret", secretRef={"name": "git-creds"}),
    _repository("by-file", username="u", passwordFile="/run/secrets/password"),
    _cluster("prod-secret", secretRef={"name": "prod-kubeconfig"}),
    _cluster("prod-file", kubeconfig="/etc/kube/prod"),
]


def test_the_cluster_config_refuses_fields_naming_files() -> None:
    config = in_cluster(load_objects(DOCUMENTS))
    assert [r.name for r in config.repositories] == ["by-secret"]
    assert [c.name for c in config.clusters] == ["prod-secret"]
    errors = {(e.kind, e.name): e.message for e in config.errors}
    assert set(errors) == {("Repository", "by-file"), ("Cluster", "prod-file")}
    assert "passwordFile name files" in errors[("Repository", "by-file")]
    assert "spec.secretRef" in errors[("Repository", "by-file")]
    assert "key 'kubeconfig' of a Secret" in errors[("Cluster", "prod-file")]


def test_the_file_config_refuses_secret_ref() -> None:
    config = in_files(load_objects(DOCUMENTS))
    assert [r.name for r in config.repositories] == ["by-file"]
    assert [c.name for c in config.clusters] == ["prod-file"]
    errors = {(e.kind, e.name): e.message for e in config.errors}
    assert set(errors) == {("Repository", "by-secret"), ("Cluster", "prod-secret")}
    assert all("--from-cluster" in message for message in errors.values())


def test_secret_ref_and_files_exclude_each_other_and_a_cluster_needs_one_kubeconfig() -> None:
    config = load_objects(
        [
            _repository("both", secretRef={"name": "s"}, bearerTokenFile="/t"),
            _cluster("neither"),
            _cluster("both", kubeconfig="/k", secretRef={"name": "s"}),
        ]
    )
    assert not config.repositories
    assert not config.clusters
    messages = {(e.kind, e.name): e.message for e in config.errors}
    assert "secretRef and bearerTokenFile exclude each other" in messages[("Repository", "both")]
    assert "exactly one of kubeconfig" in messages[("Cluster", "neither")]
    assert "exactly one of kubeconfig" in messages[("Cluster", "both")]


def _provider(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "OIDCProvider",
        "metadata": {"name": name, "namespace": "gitward"},
        "spec": {"issuer": "https://sso.example.com", "clientID": "gitward", **spec},
    }


PROVIDERS = [
    _provider("by-secret", secretRef={"name": "oidc"}),
    _provider("by-file", clientSecretFile="/etc/gitward/oidc-secret"),
    _provider("public"),  # no client secret at all: accepted anywhere
]


def test_the_cluster_config_refuses_an_oidc_client_secret_file_naming_the_field_and_the_key() -> None:
    config = in_cluster(load_objects(PROVIDERS))
    assert [p.name for p in config.oidc_providers] == ["by-secret", "public"]
    (error,) = config.errors
    assert (error.kind, error.name) == ("OIDCProvider", "by-file")
    assert "clientSecretFile names a file" in error.message
    assert "key 'clientSecret' of a Secret in the OIDCProvider's namespace" in error.message
    assert "spec.secretRef" in error.message


def test_the_file_config_refuses_an_oidc_secret_ref() -> None:
    config = in_files(load_objects(PROVIDERS))
    assert [p.name for p in config.oidc_providers] == ["by-file", "public"]
    (error,) = config.errors
    assert (error.kind, error.name) == ("OIDCProvider", "by-secret")
    assert "--from-cluster" in error.message
    assert "spec.clientSecretFile" in error.message


def test_an_oidc_secret_ref_and_file_exclude_each_other() -> None:
    config = load_objects([_provider("both", secretRef={"name": "s"}, clientSecretFile="/s")])
    assert not config.oidc_providers
    (error,) = config.errors
    assert "secretRef and clientSecretFile exclude each other" in error.message
