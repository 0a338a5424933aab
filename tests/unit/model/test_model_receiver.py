"""The Receiver kind: loaded with the rest of the config, validated, its secret only ever a file path."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.core.repourl import repository_key, same_repository
from gitward.model import Receiver, load_object, load_objects


def _receiver(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Receiver",
        "metadata": {"name": name},
        "spec": {"type": "github", "secretFile": "/etc/gitward/github-secret", **spec},
    }


def test_receiver_loads_with_type_and_secret_file() -> None:
    loaded = load_object(_receiver("github"))
    assert isinstance(loaded, Receiver)
    assert loaded.name == "github"
    assert loaded.spec.type == "github"
    assert loaded.spec.secret_file == "/etc/gitward/github-secret"


def test_bad_receivers_are_reported_and_good_ones_kept() -> None:
    config = load_objects(
        [
            _receiver("good", type="gitlab"),
            _receiver("unknown-type", type="svn"),
            _receiver("inline-secret", secret="hunter2"),
            _receiver("no-file", secretFile=""),
        ]
    )
    assert [r.name for r in config.receivers] == ["good"]
    errors = {e.name: e.message for e in config.errors}
    assert set(errors) == {"unknown-type", "inline-secret", "no-file"}
    assert all("hunter2" not in message for message in errors.values())


def test_two_receivers_with_one_name_are_both_refused() -> None:
    config = load_objects([_receiver("hook"), _receiver("hook", type="gitea")])
    assert config.receivers == ()
    assert {e.name for e in config.errors} == {"hook"}


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://GitHub.com/Org/Repo.git", "github.com/Org/Repo"),
        ("https://github.com/Org/Repo/", "github.com/Org/Repo"),
        ("git@github.com:Org/Repo.git", "github.com/Org/Repo"),
        ("ssh://git@github.com:2222/Org/Repo.git", "github.com/Org/Repo"),
        ("https://user:token@github.com/Org/Repo", "github.com/Org/Repo"),
        ("git://github.com/Org/Repo", "github.com/Org/Repo"),
        ("file:///srv/git/apps.git", "/srv/git/apps"),
        ("/srv/git/apps.git/", "/srv/git/apps"),
        ("", ""),
    ],
)
def test_repository_key_reduces_every_spelling_to_host_and_path(url: str, key: str) -> None:
    assert repository_key(url) == key


def test_different_repositories_do_not_match() -> None:
    assert same_repository("git@github.com:org/apps.git", "https://github.com/org/apps")
    assert not same_repository("https://github.com/org/apps", "https://github.com/org/apps-extra")
    assert not same_repository("https://github.com/org/apps", "https://gitlab.com/org/apps")
    assert not same_repository("", "")
