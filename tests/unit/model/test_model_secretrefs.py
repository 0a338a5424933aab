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


def _receiver(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Receiver",
        "metadata": {"name": name, "namespace": "gitward"},
        "spec": {"type": "github", **spec},
    }


def _notification(name: str, *targets: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Notification",
        "metadata": {"name": name, "namespace": "gitward"},
        "spec": {"triggers": ["SyncFailed"], "targets": list(targets)},
    }


HOOKS = [
    _receiver("push-secret", secretRef={"name": "push"}),
    _receiver("push-file", secretFile="/etc/gitward/push"),
    _notification(
        "by-secret",
        {"type": "webhook", "secretRef": {"name": "hooks"}},  # url and secret from the Secret
        {"type": "github", "secretRef": {"name": "hooks"}, "repository": "o/r"},
    ),
    _notification(
        "by-file",
        {"type": "webhook", "url": "https://hooks.example.com/x", "secretFile": "/s"},
        {"type": "slack", "urlFile": "/u"},
        {"type": "github", "tokenFile": "/t"},
    ),
    _notification("inline-url", {"type": "webhook", "url": "https://h/x", "secretRef": {"name": "hooks"}}),
]


def test_the_cluster_config_refuses_receivers_and_notification_targets_naming_files() -> None:
    config = in_cluster(load_objects(HOOKS))
    assert [r.name for r in config.receivers] == ["push-secret"]
    assert [n.name for n in config.notifications] == ["by-secret", "inline-url"]
    errors = {(e.kind, e.name): e.message for e in config.errors}
    assert set(errors) == {("Receiver", "push-file"), ("Notification", "by-file")}
    assert "secretFile names a file" in errors[("Receiver", "push-file")]
    assert "key 'secret' of a Secret in the Receiver's namespace" in errors[("Receiver", "push-file")]
    named = "spec.targets[0].secretFile, spec.targets[1].urlFile, spec.targets[2].tokenFile name files"
    assert named in errors[("Notification", "by-file")]
    assert "keys 'secret', 'url', 'token'" in errors[("Notification", "by-file")]


def test_the_file_config_refuses_receivers_and_notification_targets_naming_a_secret() -> None:
    config = in_files(load_objects(HOOKS))
    assert [r.name for r in config.receivers] == ["push-file"]
    assert [n.name for n in config.notifications] == ["by-file"]
    errors = {(e.kind, e.name): e.message for e in config.errors}
    assert set(errors) == {
        ("Receiver", "push-secret"),
        ("Notification", "by-secret"),
        ("Notification", "inline-url"),
    }
    assert "spec.secretFile" in errors[("Receiver", "push-secret")]
    assert errors[("Notification", "by-secret")].startswith(
        "spec.targets[0].secretRef, spec.targets[1].secretRef"
    )
    assert all("--from-cluster" in message for message in errors.values())


def test_a_target_or_receiver_takes_its_secret_from_exactly_one_place() -> None:
    config = load_objects(
        [
            _receiver("both", secretFile="/s", secretRef={"name": "s"}),
            _receiver("neither"),
            _notification("both", {"type": "github", "tokenFile": "/t", "secretRef": {"name": "s"}}),
            _notification("neither", {"type": "teams"}),
        ]
    )
    assert not config.receivers
    assert not config.notifications
    messages = {(e.kind, e.name): e.message for e in config.errors}
    assert "exactly one of secretFile (a config file) and secretRef" in messages[("Receiver", "both")]
    assert "exactly one of secretFile" in messages[("Receiver", "neither")]
    assert "secretRef and tokenFile exclude each other" in messages[("Notification", "both")]
    assert (
        "exactly one of urlFile (a config file) and secretRef (a Secret with the key 'url'"
        in (messages[("Notification", "neither")])
    )
