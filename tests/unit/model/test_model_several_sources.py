"""Several sources (``spec.sources``): gitward's own field and Argo CD's multi-source apps."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from gitward.model import Application, from_argocd
from gitward.model.crds import crds
from gitward.model.errors import ConversionError

CHARTS = "https://git.example.com/org/charts.git"
CONFIG = "https://git.example.com/org/config.git"


def argo(sources: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web"},
        "spec": {"sources": sources, "destination": {"namespace": "web"}, **spec},
    }


def test_argo_sources_become_the_app_sources_and_source_is_the_first() -> None:
    app = from_argocd(argo([
        {"repoURL": CHARTS, "targetRevision": "v1", "path": "charts/web",
         "helm": {"valueFiles": ["$values/envs/prod.yaml"]}},
        {"repoURL": CONFIG, "targetRevision": "main", "ref": "values"},
        {"repoURL": CONFIG, "path": "extra"},
    ]))  # fmt: skip
    first, ref, plain = app.spec.sources
    assert app.spec.source == first
    assert first.helm is not None
    assert first.helm.value_files == ("$values/envs/prod.yaml",)
    assert first.value_refs() == ("values",)
    assert (ref.ref, ref.renders, ref.directory) == ("values", False, None)
    assert plain.renders
    assert plain.directory is not None
    assert plain.directory.recurse is False  # Argo CD's plain-directory default, as for one source
    assert [s.repo_url for s in app.spec.all_sources] == [CHARTS, CONFIG, CONFIG]


def test_argo_ignores_source_when_sources_is_set() -> None:
    app = from_argocd(argo([{"repoURL": CONFIG, "path": "a"}], source={"repoURL": CHARTS, "path": "b"}))
    assert [s.repo_url for s in app.spec.all_sources] == [CONFIG]


def test_a_document_round_trips() -> None:
    app = from_argocd(argo([{"repoURL": CONFIG, "path": "a"}, {"repoURL": CHARTS, "path": "b"}]))
    again = Application.model_validate(app.to_document())
    assert again.spec.sources == app.spec.sources


@pytest.mark.parametrize(
    ("sources", "fragment"),
    [
        ([{"repoURL": CHARTS, "path": "c", "helm": {"valueFiles": ["$other/v.yaml"]}}],
         "names $other, which no source's ref is"),
        ([{"repoURL": CONFIG, "ref": "values"}], "nothing to render"),
        ([{"repoURL": CONFIG, "ref": "v", "path": "a"}, {"repoURL": CHARTS, "ref": "v", "path": "b"}],
         "two of spec.sources have the same ref"),
        ([{"repoURL": "https://charts.example.com", "chart": "web", "ref": "v"}], "names a Git source"),
        ([{"repoURL": CHARTS, "path": "c", "helm": {"valueFiles": ["$v/../../etc/passwd"]}},
          {"repoURL": CONFIG, "ref": "v"}], "must not contain '..'"),
    ],
)  # fmt: skip
def test_sources_the_model_refuses(sources: list[dict[str, Any]], fragment: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        from_argocd(argo(sources))
    assert fragment in str(info.value)


def test_unsupported_fields_of_a_source_are_named_with_its_index() -> None:
    with pytest.raises(ConversionError, match=r"spec\.sources\[1\]\.plugin\.version is not supported"):
        from_argocd(argo([{"repoURL": CONFIG, "path": "a"}, {"repoURL": CONFIG, "plugin": {"version": "x"}}]))
    with pytest.raises(ConversionError, match=r"spec\.source\.ref is only meaningful"):
        from_argocd({**argo([]), "spec": {"source": {"repoURL": CONFIG, "ref": "v"}}})


def test_gitward_sources_and_source_must_agree() -> None:
    base = {"apiVersion": "gitward.dev/v1alpha1", "kind": "Application", "metadata": {"name": "w"}}
    spec = {"source": {"repoURL": CHARTS, "path": "a"}, "sources": [{"repoURL": CONFIG, "path": "b"}]}
    with pytest.raises(pydantic.ValidationError, match="set either source or sources"):
        Application.model_validate({**base, "spec": spec})
    with pytest.raises(pydantic.ValidationError, match=r"source\.ref names a source for the others"):
        Application.model_validate({**base, "spec": {"source": {"repoURL": CHARTS, "ref": "v"}}})


def test_a_gitward_application_may_give_sources_alone_in_a_file_and_as_a_custom_resource() -> None:
    sources = [{"repoURL": CHARTS, "path": "a"}, {"repoURL": CONFIG, "path": "b"}]
    doc = {"apiVersion": "gitward.dev/v1alpha1", "kind": "Application", "metadata": {"name": "w"},
           "spec": {"sources": sources}}  # fmt: skip
    app = Application.model_validate(doc)
    assert app.spec.source.repo_url == CHARTS
    (crd,) = [c for c in crds() if c["spec"]["names"]["kind"] == "Application"]
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert "source" not in spec.get("required", ())  # the API server takes sources alone too
    assert "sources" in spec["properties"]
    with pytest.raises(pydantic.ValidationError, match="source"):
        Application.model_validate({**doc, "spec": {}})
