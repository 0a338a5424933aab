"""A Flux GitRepository's secretRef: refused in a config file, an implied Repository from the cluster."""

from __future__ import annotations

from typing import Any

from gitward.model import load_objects
from gitward.model.repository import credentials_for
from gitward.model.secretrefs import in_files
from gitward.reconcile.clustersource import read_objects

URL = "https://git.example.com/org/private-fleet.git"


def _kustomization(name: str, source: str, namespace: str = "gitward") -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"interval": "5m", "path": "./apps", "sourceRef": {"kind": "GitRepository", "name": source}},
    }


def _git_repository(name: str, namespace: str = "gitward", url: str = URL, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"url": url, "ref": {"branch": "main"}, **spec},
    }


def test_a_file_config_refuses_the_secret_ref_and_names_the_way_out() -> None:
    config = in_files(
        load_objects([_kustomization("apps", "fleet"), _git_repository("fleet", secretRef={"name": "creds"})])
    )
    assert config.applications == ()
    assert config.repositories == ()
    [error] = config.errors
    assert (error.kind, error.name) == ("Application", "apps")
    assert "GitRepository spec.secretRef is not supported in a config file" in error.message
    assert "--from-cluster" in error.message
    assert f"Repository object with passwordFile/sshPrivateKeyFile for URL {URL}" in error.message


def test_the_cluster_config_makes_it_the_credentials_of_the_url() -> None:
    documents = [
        _kustomization("apps", "fleet"),
        _kustomization("infra", "fleet"),
        _git_repository("fleet", secretRef={"name": "creds"}),
        _kustomization("public", "open"),
        _git_repository("open", url="https://git.example.com/org/open.git"),
    ]
    config = read_objects(documents).config
    assert config.errors == ()
    assert [a.name for a in config.applications] == ["apps", "infra", "public"]
    [repository] = config.repositories  # one per GitRepository, however many apps read it
    assert repository.name == "gitrepository.gitward.fleet"
    assert repository.metadata.namespace == "gitward"
    assert repository.spec.url == URL
    assert repository.spec.secret_ref is not None
    assert repository.spec.secret_ref.name == "creds"
    assert repository.spec.file_fields() == []
    apps = {a.name: a for a in config.applications}
    assert credentials_for(config.repositories, apps["apps"].spec.source.repo_url) == repository
    assert credentials_for(config.repositories, apps["public"].spec.source.repo_url) is None


def test_without_a_secret_ref_the_cluster_config_implies_no_repository() -> None:
    config = read_objects([_kustomization("apps", "fleet"), _git_repository("fleet")]).config
    assert [a.name for a in config.applications] == ["apps"]
    assert config.repositories == ()


def test_one_url_takes_one_secret() -> None:
    documents = [
        _kustomization("apps", "fleet"),
        _git_repository("fleet", secretRef={"name": "creds"}),
        _kustomization("mirror", "fleet-again"),
        _git_repository("fleet-again", secretRef={"name": "other-creds"}),
        _kustomization("same", "fleet-same"),
        _git_repository("fleet-same", secretRef={"name": "creds"}),
    ]
    config = read_objects(documents).config
    assert [a.name for a in config.applications] == ["apps", "same"]
    [error] = config.errors
    assert (error.kind, error.name) == ("Application", "mirror")
    assert "GitRepository gitward/fleet" in error.message
    assert "name the same Secret" in error.message
    assert [r.spec.secret_ref.name for r in config.repositories if r.spec.secret_ref] == ["creds"]


def test_a_secret_ref_without_a_name_is_refused() -> None:
    config = read_objects([_kustomization("apps", "fleet"), _git_repository("fleet", secretRef={})]).config
    assert config.applications == ()
    assert "GitRepository spec.secretRef.name is required" in config.errors[0].message
