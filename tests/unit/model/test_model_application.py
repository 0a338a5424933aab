"""Application model: the docs/architecture.md example parses, defaults hold, and bad input is named
clearly."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from gitward.model import Application, describe

DATA = Path(__file__).parent / "testdata"


def _full() -> dict[str, Any]:
    return yaml.safe_load((DATA / "model_full_application.yaml").read_text())


def _minimal() -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "app"},
        "spec": {"source": {"repoURL": "https://git.example.com/org/apps.git"}},
    }


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def test_full_example_reads_camel_case_into_snake_case() -> None:
    app = Application.model_validate(_full())
    spec = app.spec
    assert app.name == "podinfo"
    assert app.metadata.namespace == "gitward"
    assert spec.source.repo_url == "https://git.example.com/org/apps.git"
    assert spec.source.path == "apps/podinfo/overlays/prod"
    assert spec.source.helm is not None
    assert spec.source.helm.release_name == "podinfo"
    assert spec.source.helm.value_files == ("values-prod.yaml",)
    assert spec.source.helm.parameters[0].value == "6.5"
    assert spec.source.render_hint == "helm"
    assert spec.destination.cluster == "prod"
    assert spec.sync_policy.automated is not None
    assert spec.sync_policy.automated.self_heal is True
    assert spec.sync_policy.interval == 5400.0
    assert spec.sync_policy.retry.backoff.max_duration == 180.0
    assert spec.sync_policy.create_namespace is True
    assert spec.sync_policy.prune_last is True
    assert spec.sync_policy.prune_propagation_policy == "background"
    assert spec.sync_policy.prunes_automatically is True
    assert app.dependencies == ("platform-crds",)
    assert spec.ignore_differences[0].json_pointers == ("/spec/replicas",)


def test_defaults() -> None:
    app = Application.model_validate(_minimal())
    spec = app.spec
    assert spec.project == "default"
    assert spec.source.revision == "HEAD"
    assert spec.source.path == ""
    assert spec.source.render_hint is None
    assert spec.destination.cluster == "in-cluster"
    assert spec.destination.namespace == ""
    assert spec.sync_policy.automated is None
    assert spec.sync_policy.interval == 300.0
    assert spec.sync_policy.retry.limit == 5
    assert spec.sync_policy.retry.backoff.duration == 5.0
    assert spec.sync_policy.retry.backoff.factor == 2.0
    assert spec.sync_policy.server_side_apply is True
    assert spec.sync_policy.create_namespace is False
    assert spec.sync_policy.prune_allowed is True
    assert spec.sync_policy.prunes_automatically is False


def test_document_round_trips_with_go_durations() -> None:
    app = Application.model_validate(_full())
    document = app.to_document()
    assert document["spec"]["syncPolicy"]["interval"] == "90m"
    assert document["spec"]["source"]["repoURL"] == app.spec.source.repo_url
    assert "status" not in document
    assert Application.model_validate(document) == app


def test_models_are_immutable() -> None:
    app = Application.model_validate(_minimal())
    with pytest.raises(pydantic.ValidationError):
        app.spec.project = "other"  # type: ignore[misc]


def test_prune_false_option_vetoes_automated_prune() -> None:
    doc = _merge(
        _minimal(), {"spec": {"syncPolicy": {"automated": {"prune": True}, "options": ["Prune=false"]}}}
    )
    policy = Application.model_validate(doc).spec.sync_policy
    assert policy.prune_allowed is False
    assert policy.prunes_automatically is False


@pytest.mark.parametrize(
    ("attempt", "delay"), [(1, 5.0), (2, 10.0), (3, 20.0), (6, 160.0), (7, 180.0), (500, 180.0)]
)
def test_backoff_delay_doubles_up_to_the_cap(attempt: int, delay: float) -> None:
    backoff = Application.model_validate(_minimal()).spec.sync_policy.retry.backoff
    assert backoff.delay(attempt) == delay


INVALID = yaml.safe_load((DATA / "model_invalid_applications.yaml").read_text())


@pytest.mark.parametrize("case", INVALID, ids=[c["case"] for c in INVALID])
def test_invalid_application_is_named(case: dict[str, Any]) -> None:
    patch = {k: case[k] for k in ("spec", "metadata", "kind") if k in case}
    with pytest.raises(pydantic.ValidationError) as info:
        Application.model_validate(_merge(_minimal(), patch))
    message = describe(info.value)
    for fragment in case["expect"]:
        assert fragment in message
    for fragment in case.get("absent", []):
        assert fragment not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.com/org/apps.git",
        "ssh://git@git.example.com/org/apps.git",
        "git@github.com:org/apps.git",
        "git://127.0.0.1:9418/apps",
        "file:///srv/git/apps",
        "/srv/git/apps.git",
        "oci://ghcr.io/org/charts",
    ],
)
def test_accepted_repository_urls(url: str) -> None:
    doc = _merge(_minimal(), {"spec": {"source": {"repoURL": url}}})
    assert Application.model_validate(doc).spec.source.repo_url == url


def test_directory_globs_accept_argo_brace_lists() -> None:
    doc = _merge(_minimal(), {"spec": {"source": {"directory": {"include": "{a.yaml,b/*.yaml}"}}}})
    directory = Application.model_validate(doc).spec.source.directory
    assert directory is not None
    assert directory.include == ("a.yaml", "b/*.yaml")
    assert directory.recurse is True


@pytest.mark.parametrize("revision", [">=1.0 <2", ">=1.0.0, <2.0.0", "~1.2", "1.x || >=3.0.0 <3.1.0"])
def test_semver_range_revisions_with_spaces_are_accepted(revision: str) -> None:
    doc = _merge(_minimal(), {"spec": {"source": {"revision": revision}}})
    assert Application.model_validate(doc).spec.source.revision == revision
