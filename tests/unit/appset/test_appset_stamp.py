"""From parameter sets to Applications: the template rendered, the templatePatch merged, the
deletion policy set as the set asks, every Application validated, and what cannot be made told."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.appset import Stamper, merge_patch
from gitward.model.appset import GENERATED_BY_ANNOTATION, ApplicationSet
from gitward.model.foreign import CONVERTED_FROM_ANNOTATION
from gitward.model.loader import load_object

REPO = "https://git.example.com/org/apps.git"


def gitward_set(template_spec: dict[str, Any] | None = None, **spec: Any) -> ApplicationSet:
    return ApplicationSet.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "shop"},
            "spec": {
                "generators": [{"list": {"elements": []}}],
                "template": {
                    "metadata": {"name": "{{name}}", "labels": {"team": "{{team}}"}},
                    "spec": template_spec
                    or {
                        "source": {"repoURL": REPO, "path": "apps/{{name}}"},
                        "destination": {"cluster": "in-cluster", "namespace": "{{name}}"},
                    },
                },
                **spec,
            },
        }
    )


def argo_set(**spec: Any) -> ApplicationSet:
    loaded = load_object(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "shop", "namespace": "argocd"},
            "spec": {
                "goTemplate": True,
                "generators": [{"list": {"elements": []}}],
                "template": {
                    "metadata": {"name": "{{.name}}"},
                    "spec": {
                        "project": "default",
                        "source": {"repoURL": REPO, "targetRevision": "v1", "path": "apps/{{.name}}"},
                        "destination": {"server": "https://kubernetes.default.svc", "namespace": "{{.name}}"},
                    },
                },
                **spec,
            },
        }
    )
    assert isinstance(loaded, ApplicationSet)
    return loaded


def test_each_parameter_set_makes_one_validated_application() -> None:
    stamped = Stamper(gitward_set()).stamp([{"name": "web", "team": "a"}, {"name": "api", "team": "b"}])
    assert stamped.problems == ()
    assert list(stamped.apps) == ["web", "api"]
    web = stamped.apps["web"]
    assert web.spec.source.path == "apps/web"
    assert web.spec.destination.namespace == "web"
    assert web.metadata.labels == {"team": "a"}
    assert web.metadata.annotations[GENERATED_BY_ANNOTATION] == "shop"
    assert web.spec.deletion_policy == "orphan"  # gitward's default


def test_preserve_resources_makes_every_app_orphan_its_objects() -> None:
    template = {
        "source": {"repoURL": REPO, "path": "apps/{{name}}"},
        "deletionPolicy": "foreground",
    }
    kept = Stamper(gitward_set(template, syncPolicy={"preserveResourcesOnDeletion": True}))
    assert kept.stamp([{"name": "web", "team": "a"}]).apps["web"].spec.deletion_policy == "orphan"
    deleting = Stamper(gitward_set(template))
    assert deleting.stamp([{"name": "web", "team": "a"}]).apps["web"].spec.deletion_policy == "foreground"


def test_an_argo_cd_template_is_read_as_an_argo_cd_application_with_its_finalizer() -> None:
    app = Stamper(argo_set()).stamp([{"name": "web"}]).apps["web"]
    assert app.spec.source.revision == "v1"
    assert app.spec.destination.cluster == "in-cluster"
    assert app.spec.deletion_policy == "foreground"  # Argo CD adds its resources finalizer
    assert app.metadata.annotations[CONVERTED_FROM_ANNOTATION] == "argoproj.io/v1alpha1/Application"
    preserved = Stamper(argo_set(syncPolicy={"preserveResourcesOnDeletion": True})).stamp([{"name": "web"}])
    assert preserved.apps["web"].spec.deletion_policy == "orphan"


def test_template_patch_is_a_merge_patch_rendered_with_go_templates() -> None:
    patch = """
spec:
  source:
    helm:
      valueFiles:
      {{- range $file := .files }}
        - {{ $file }}
      {{- end }}
{{- if .autoSync }}
  syncPolicy:
    automated:
      prune: {{ .prune }}
{{- end }}
"""
    appset = argo_set(templatePatch=patch)
    stamped = Stamper(appset).stamp(
        [
            {"name": "web", "files": ["a.yaml", "b.yaml"], "autoSync": True, "prune": True},
            {"name": "api", "files": [], "autoSync": False, "prune": False},
        ]
    )
    assert stamped.problems == ()
    web, api = stamped.apps["web"], stamped.apps["api"]
    assert web.spec.source.helm is not None
    assert web.spec.source.helm.value_files == ("a.yaml", "b.yaml")
    assert web.spec.sync_policy.automated is not None
    assert web.spec.sync_policy.automated.prune is True
    assert api.spec.sync_policy.automated is None


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ('[{"op": "replace", "path": "/spec/project", "value": "x"}]', "JSON patch operations"),
        ("spec:\n  project: other", "may not change spec.project"),
        ("spec: [", "templatePatch is not valid YAML"),
    ],
)
def test_a_patch_gitward_does_not_apply_is_a_problem_naming_it(patch: str, message: str) -> None:
    stamped = Stamper(argo_set(templatePatch=patch)).stamp([{"name": "web"}])
    assert stamped.apps == {}
    assert len(stamped.problems) == 1
    assert message in stamped.problems[0]


def test_merge_patch_merges_maps_replaces_lists_and_removes_nulls() -> None:
    target = {"a": {"b": 1, "c": [1, 2]}, "d": 4}
    assert merge_patch(target, {"a": {"c": [3], "e": 5}, "d": None}) == {"a": {"b": 1, "c": [3], "e": 5}}


def test_what_cannot_be_made_is_a_problem_and_the_rest_is_made() -> None:
    stamped = Stamper(gitward_set()).stamp(
        [
            {"name": "web", "team": "a"},
            {"name": "Not_A_Name", "team": "a"},  # the Application refuses the name
            {"name": "api"},  # no team: the default syntax names the missing parameter
        ]
    )
    assert list(stamped.apps) == ["web"]
    assert "parameter set 2" in stamped.problems[0]
    assert "not a valid name" in stamped.problems[0]
    assert "parameter set 3: parameter {{team}} is not given by the generators" in stamped.problems[1]


def test_two_sets_making_one_name_make_neither() -> None:
    stamped = Stamper(gitward_set()).stamp([{"name": "web", "team": "a"}, {"name": "web", "team": "b"}])
    assert stamped.apps == {}
    assert stamped.problems == (
        "application 'web' is made by more than one parameter set; none of them is made",
    )


def test_an_argo_cd_field_gitward_does_not_run_is_a_problem_of_that_app() -> None:
    appset = argo_set(templatePatch="spec:\n  source:\n    kustomize: {patches: []}")
    stamped = Stamper(appset).stamp([{"name": "web"}])
    assert stamped.apps == {}
    assert "spec.source.kustomize.patches is not supported by gitward" in stamped.problems[0]
