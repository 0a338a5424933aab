"""Credentials in any URL field of the config are refused at load; the error names the object and
the field and shows the URL masked, never the secret."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model import load_objects

SECRET = "s3cret-Pw0rd"
TOKEN = "ghp_Zq81NwX4kEa7Tc2Lm9"


def _app(source: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {"source": source, "destination": {"cluster": "local"}},
    }


def _argo(repo_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {"source": {"repoURL": repo_url, "path": "web"}, "destination": {"name": "local"}},
    }


def _flux(url: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"url": url, "ref": {"branch": "main"}},
        },
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "web", "namespace": "flux-system"},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "apps"}, "path": "./web"},
        },
    ]


def _repository(url: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Repository",
        "metadata": {"name": "web"},
        "spec": {"url": url, "username": "deployer", "passwordFile": "/etc/gitward/pw"},
    }


def _project(pattern: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "web"},
        "spec": {"sourceRepos": ["https://git.example.com/*", pattern]},
    }


# (what, documents, kind, field named in the error)
CASES = [
    ("application", lambda u: [_app({"repoURL": u, "path": "web"})], "Application", "spec.source.repoURL"),
    ("helm chart", lambda u: [_app({"repoURL": u, "chart": "web"})], "Application", "spec.source.repoURL"),
    ("argo cd", lambda u: [_argo(u)], "Application", "spec.source.repoURL"),
    ("flux", _flux, "Application", "GitRepository flux-system/apps spec.url"),
    ("repository", lambda u: [_repository(u)], "Repository", "spec.url"),
    ("project", lambda u: [_project(u)], "Project", "spec.sourceRepos"),
]

URLS = [
    (f"https://deployer:{SECRET}@git.example.com/org/r.git", "https://***@git.example.com/org/r.git", SECRET),
    (f"https://{TOKEN}@github.com/org/r.git", "https://***@github.com/org/r.git", TOKEN),
    (f"https://oauth2:{SECRET}@gitlab.com/org/r", "https://***@gitlab.com/org/r", SECRET),
    (f"{TOKEN}@github.com:org/r.git", "***@github.com:org/r.git", TOKEN),
    (f"deployer:{SECRET}@git.example.com:org/r.git", "***@git.example.com:org/r.git", SECRET),
]


@pytest.mark.parametrize(("what", "documents", "kind", "field"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize(("url", "shown", "secret"), URLS, ids=["pw", "token", "oauth2", "scp-tok", "scp-pw"])
def test_credentials_in_a_url_are_refused_without_showing_them(
    what: str, documents: Any, kind: str, field: str, url: str, shown: str, secret: str
) -> None:
    config = load_objects(documents(url))
    assert not config.applications
    assert not config.repositories
    assert not config.projects
    [error] = config.errors
    assert (error.kind, error.name) == (kind, "web")
    assert field in error.message
    assert shown in error.message
    assert "Repository" in error.message  # where credentials belong
    assert secret not in str(error)


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.com/org/r.git",
        "https://deployer@git.example.com/org/r.git",  # a bare user name: its password is in a Repository
        "ssh://git@git.example.com:2222/org/r.git",
        "git@github.com:org/r.git",
        "/srv/git/r.git",
    ],
)
def test_urls_without_secrets_load(url: str) -> None:
    config = load_objects([_app({"repoURL": url, "path": "web"}), _repository(url), _project(url)])
    assert config.errors == ()
    assert [a.spec.source.repo_url for a in config.applications] == [url]


def test_any_load_error_masks_a_url_credential() -> None:
    # A message built from input by any check (here: an unknown kind) still never shows a credential.
    document = {"apiVersion": f"https://u:{SECRET}@h/x", "kind": "Thing", "metadata": {"name": "a"}}
    config = load_objects([document])
    [error] = config.errors
    assert SECRET not in error.message
    assert "https://***@h/x" in error.message
