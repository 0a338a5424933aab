"""ApplicationSets in the config: gitward's kind and Argo CD's read as written, checked at load
(templates parsed, unknown fields and generators refused by name), and their CRD."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gitward.model import load_objects
from gitward.model.appset import ApplicationSet
from gitward.model.crds import crds

ARGO = yaml.safe_load(
    """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: cluster-addons, namespace: argocd}
spec:
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
  - matrix:
      generators:
      - git:
          repoURL: https://github.com/argoproj/argo-cd.git
          revision: HEAD
          directories:
          - path: applicationset/examples/matrix/cluster-addons/*
      - clusters:
          selector:
            matchLabels: {env: prod}
  template:
    metadata:
      name: '{{.path.basename}}-{{.name}}'
    spec:
      project: default
      source:
        repoURL: https://github.com/argoproj/argo-cd.git
        targetRevision: HEAD
        path: '{{.path.path}}'
      destination:
        name: '{{.name}}'
        namespace: '{{.path.basename}}'
  syncPolicy:
    applicationsSync: create-delete
    preserveResourcesOnDeletion: true
"""
)


def gitward_set(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "apps"},
        "spec": {
            "generators": [{"list": {"elements": [{"name": "web"}]}}],
            "template": {
                "metadata": {"name": "{{name}}"},
                "spec": {"source": {"repoURL": "https://x/r.git"}},
            },
            **spec,
        },
    }


def only_error(document: dict[str, Any]) -> str:
    config = load_objects([document])
    assert config.application_sets == ()
    (error,) = config.errors
    assert error.kind == "ApplicationSet"
    return error.message


def test_an_argo_cd_application_set_is_read_as_written() -> None:
    config = load_objects([ARGO])
    assert config.errors == ()
    (appset,) = config.application_sets
    assert appset.argocd
    assert appset.spec.go_template
    assert appset.spec.sync_policy.policy == "create-delete"
    assert appset.spec.sync_policy.deletes
    assert not appset.spec.sync_policy.updates
    matrix = appset.spec.generators[0].matrix
    assert matrix is not None
    assert matrix.generators[1].clusters is not None


def test_the_default_policy_creates_and_updates_and_never_deletes() -> None:
    (appset,) = load_objects([gitward_set()]).application_sets
    assert not appset.argocd
    assert appset.spec.sync_policy.policy == "create-update"
    assert not appset.spec.sync_policy.deletes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"strategy": {"type": "RollingSync"}},
            "spec.strategy (progressive syncs) is not supported by gitward",
        ),
        (
            {"ignoreApplicationDifferences": []},
            "spec.ignoreApplicationDifferences is not supported by gitward",
        ),
        ({"preservedFields": {}}, "spec.preservedFields is not supported by gitward"),
        ({"syncPolicy": {"syncOptions": []}}, "spec.syncPolicy.syncOptions is not supported by gitward"),
        ({"generators": [{"pullRequest": {}}]}, "the pullRequest generator is not supported by gitward"),
        ({"generators": [{"plugin": {}}]}, "the plugin generator is not supported by gitward"),
        ({"generators": [{"list": {"elementsYaml": "[]"}}]}, "elementsYaml: unknown field"),
        ({"generators": [{"clusters": {"flatList": True}}]}, "flatList: unknown field"),
        (
            {"generators": [{"list": {"elements": [], "template": {}}}]},
            "list.template (a generator's own template)",
        ),
        ({"goTemplateOptions": ["missingkey=zero"]}, "goTemplateOptions 'missingkey=zero' is not supported"),
        (
            {"template": {"metadata": {"name": '{{ env "X" }}'}, "spec": {}}},
            "function 'env' is not supported",
        ),
        ({"templatePatch": '{{ template "x" }}'}, "{{template}} is not supported"),
        ({"goTemplate": False, "templatePatch": "spec: {}"}, "templatePatch needs goTemplate: true"),
        ({"template": {"metadata": {"name": "x"}, "spec": {"sources": []}}}, "spec.template.spec.sources"),
        (
            {"template": {"metadata": {"name": "x"}, "spec": {"info": [], "nope": 1}}},
            "spec.template.spec.nope",
        ),
    ],
)
def test_what_gitward_does_not_run_is_refused_at_load_naming_it(change: dict[str, Any], message: str) -> None:
    document = yaml.safe_load(yaml.safe_dump(ARGO))
    document["spec"].update(change)
    assert message in only_error(document)


def test_an_argo_cd_set_with_finalizers_of_its_own_is_refused() -> None:
    document = yaml.safe_load(yaml.safe_dump(ARGO))
    document["metadata"]["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    assert "metadata.finalizers of an ApplicationSet is not supported" in only_error(document)


def test_a_gitward_template_takes_gitward_fields_only() -> None:
    message = only_error(gitward_set(template={"metadata": {"name": "x"}, "spec": {"ignoreDifference": []}}))
    assert "spec.template.spec.ignoreDifference is not supported by gitward" in message
    finalizers = only_error(
        gitward_set(template={"metadata": {"name": "x", "finalizers": ["f"]}, "spec": {}})
    )
    assert "spec.template.spec.deletionPolicy" in finalizers


def test_a_git_generator_takes_directories_or_files() -> None:
    both = {"repoURL": "https://x/r.git", "directories": [{"path": "a"}], "files": [{"path": "b"}]}
    assert "directories or files (one of them)" in only_error(gitward_set(generators=[{"git": both}]))
    excluded = {"repoURL": "https://x/r.git", "directories": [{"path": "a", "exclude": True}]}
    assert "at least one path that is not excluded" in only_error(gitward_set(generators=[{"git": excluded}]))


def test_two_sets_of_one_name_are_both_refused() -> None:
    config = load_objects([gitward_set(), gitward_set()])
    assert config.application_sets == ()
    assert all("defined 2 times" in e.message for e in config.errors)


def test_the_crd_schema_comes_from_the_same_model() -> None:
    (crd,) = [c for c in crds() if c["spec"]["names"]["kind"] == "ApplicationSet"]
    assert crd["spec"]["names"]["shortNames"] == ["gwappset", "gwappsets"]
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    generator = spec["properties"]["generators"]["items"]["properties"]
    assert set(generator) == {"list", "clusters", "git", "matrix", "merge", "selector"}
    assert (
        spec["properties"]["template"]["properties"]["spec"]["x-kubernetes-preserve-unknown-fields"] is True
    )
    nested = generator["matrix"]["properties"]["generators"]["items"]["properties"]
    assert "matrix" in nested
    leaf = nested["matrix"]["properties"]["generators"]["items"]["properties"]
    assert "matrix" not in leaf  # nesting stops after one level, as in Argo CD
    ApplicationSet.model_validate(gitward_set())
