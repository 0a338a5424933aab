"""load_objects: each document on its own, bad ones reported with kind and name, others kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.model import Project, is_gitward_application, is_gitward_object, load_object, load_objects

DATA = Path(__file__).parent / "testdata"


def _docs(name: str) -> list[Any]:
    return list(yaml.safe_load_all((DATA / name).read_text()))


def _app(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {"source": {"repoURL": "https://git.example.com/org/apps.git"}, **spec},
    }


def test_mixed_config_loads_the_good_and_reports_the_bad() -> None:
    config = load_objects(_docs("model_mixed_config.yaml"))
    assert [a.name for a in config.applications] == ["from-argo", "from-flux", "good"]
    assert [c.name for c in config.clusters] == ["prod"]
    assert [p.name for p in config.projects] == ["team-a"]
    errors = {(e.kind, e.name): e.message for e in config.errors}
    assert set(errors) == {
        ("Application", "broken"),
        ("ConfigMap", "stray"),
        ("Application", "future"),
        ("ApplicationSett", "typo"),
    }
    assert "spec.syncPolicy.interval" in errors[("Application", "broken")]
    assert "every-now-and-then" in errors[("Application", "broken")]
    assert "not a gitward object" in errors[("ConfigMap", "stray")]
    assert "apiVersion" in errors[("Application", "future")]
    assert "kind 'ApplicationSett' is not supported" in errors[("ApplicationSett", "typo")]
    assert config.failed("Application") == {"broken", "future"}


def test_errors_point_at_their_document() -> None:
    config = load_objects([_app("ok"), _app("bad", project="Not_A_Name")])
    assert [(e.name, e.document) for e in config.errors] == [("bad", 1)]
    assert str(config.errors[0]).startswith("Application bad: spec.project")


def test_duplicate_names_refuse_every_copy() -> None:
    config = load_objects([_app("twin"), _app("solo"), _app("twin", project="other")])
    assert [a.name for a in config.applications] == ["solo"]
    assert [(e.name, e.document) for e in config.errors] == [("twin", 0), ("twin", 2)]
    assert all("defined 2 times" in e.message for e in config.errors)


def test_a_broken_copy_still_counts_as_a_duplicate() -> None:
    broken = _app("twin", syncPolicy={"interval": "never"})
    config = load_objects([_app("twin"), broken])
    assert config.applications == ()
    assert len(config.errors) == 2


def test_same_name_in_different_kinds_is_fine() -> None:
    project = {"apiVersion": "gitward.dev/v1alpha1", "kind": "Project", "metadata": {"name": "web"}}
    config = load_objects([_app("web"), project])
    assert config.errors == ()
    assert config.application("web") is not None
    assert config.project("web") is not None


def test_argo_and_gitward_apps_share_one_namespace_of_names() -> None:
    argo = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {"source": {"repoURL": "https://git.example.com/x.git"}, "destination": {}},
    }
    config = load_objects([_app("web"), argo])
    assert config.applications == ()
    assert {e.kind for e in config.errors} == {"Application"}


def test_non_mapping_and_empty_documents() -> None:
    config = load_objects([None, ["a", "list"], "text", _app("ok")])
    assert [a.name for a in config.applications] == ["ok"]
    assert [(e.document, e.message) for e in config.errors] == [
        (1, "document is not a mapping"),
        (2, "document is not a mapping"),
    ]


def test_missing_kind_and_api_version_are_reported() -> None:
    config = load_objects([{"metadata": {"name": "x"}}])
    assert len(config.errors) == 1
    assert "not a gitward object" in config.errors[0].message


def test_secret_values_never_appear_in_errors() -> None:
    docs = [
        _app("a", source={"repoURL": "https://bob:Pa55w0rd@git.example.com/x.git"}),
        _app("b", source={"repoURL": "https://git.example.com/x.git", "substitute": {"TOKEN": ["Pa55w0rd"]}}),
        _app("c", source={"repoURL": "https://git.example.com/x.git", "helm": {"values": "Pa55w0rd"}}),
    ]
    config = load_objects(docs)
    assert len(config.errors) == 3
    for error in config.errors:
        assert "Pa55w0rd" not in str(error)


def test_implicit_default_project_allows_everything() -> None:
    config = load_objects([_app("a")])
    default = config.project("default")
    assert default is not None
    assert default.spec.source_repos == ("*",)
    assert default.spec.cluster_resource_whitelist is None
    assert config.project("team-x") is None


def test_user_defined_default_project_replaces_the_implicit_one() -> None:
    project = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "default"},
        "spec": {"sourceRepos": ["https://git.example.com/*"]},
    }
    default = load_objects([project]).project("default")
    assert default is not None
    assert default.spec.source_repos == ("https://git.example.com/*",)
    assert Project.implicit_default().spec.source_repos == ("*",)


def test_project_spec_typos_are_errors() -> None:
    project = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "p"},
        "spec": {"sourceRepo": ["*"]},
    }
    config = load_objects([project])
    assert "spec.sourceRepo: unknown field" in config.errors[0].message


def test_cluster_requires_a_kubeconfig() -> None:
    cluster = {"apiVersion": "gitward.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "c"}, "spec": {}}
    config = load_objects([cluster])
    assert "exactly one of kubeconfig (a file) and secretRef (a Secret)" in config.errors[0].message


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"apiVersion": "gitward.dev/v1alpha1", "kind": "Application"}, True),
        ({"apiVersion": "gitward.dev/v1", "kind": "Application"}, True),
        ({"apiVersion": "gitward.dev/v1alpha1", "kind": "Project"}, False),
        ({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"}, False),
        ({"apiVersion": "apps/v1", "kind": "Deployment"}, False),
        ({"kind": "Application"}, False),
        ({"apiVersion": 7, "kind": "Application"}, False),
    ],
)
def test_is_gitward_application(obj: dict[str, Any], expected: bool) -> None:
    assert is_gitward_application(obj) is expected


def test_is_gitward_object() -> None:
    assert is_gitward_object({"apiVersion": "gitward.dev/v1alpha1", "kind": "Cluster"})
    assert not is_gitward_object({"apiVersion": "v1", "kind": "Namespace"})


def test_load_object_single() -> None:
    app = load_object(_app("solo"))
    assert app.kind == "Application"
    assert app.name == "solo"
