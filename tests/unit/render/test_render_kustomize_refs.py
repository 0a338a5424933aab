"""Kustomize parameters and reference checks that run before the binary is ever started."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.core.errors import RenderError
from gitward.render.kustomize import kustomize_closure, overlay_kustomization, parse_image
from gitward.render.kustomize_refs import is_remote_reference
from gitward.render.params import KustomizeParams, RenderSettings


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("nginx:1.27", {"name": "nginx", "newTag": "1.27"}),
        ("registry:5000/team/app:v2", {"name": "registry:5000/team/app", "newTag": "v2"}),
        ("app@sha256:abc", {"name": "app", "digest": "sha256:abc"}),
        ("app=registry.local/app:v3", {"name": "app", "newName": "registry.local/app", "newTag": "v3"}),
        ("app=registry.local/app", {"name": "app", "newName": "registry.local/app"}),
        ("app=other@sha256:def", {"name": "app", "newName": "other", "digest": "sha256:def"}),
    ],
)
def test_parse_image(spec: str, expected: dict[str, str]) -> None:
    assert parse_image(spec) == expected


@pytest.mark.parametrize("spec", ["nginx", "registry:5000/app", ":tag"])
def test_parse_image_refuses_entries_that_change_nothing(spec: str) -> None:
    with pytest.raises(RenderError, match="invalid kustomize image"):
        parse_image(spec)


def test_overlay_kustomization_carries_every_parameter() -> None:
    params = KustomizeParams(
        images=("a:1",), name_prefix="p-", name_suffix="-s", namespace="ns", common_labels={"team": "x"}
    )
    assert overlay_kustomization("../tree/app", params) == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../tree/app"],
        "images": [{"name": "a", "newTag": "1"}],
        "namePrefix": "p-",
        "nameSuffix": "-s",
        "namespace": "ns",
        "labels": [{"pairs": {"team": "x"}, "includeSelectors": True, "includeTemplates": True}],
    }
    assert KustomizeParams().is_empty()


@pytest.mark.parametrize(
    ("entry", "remote"),
    [
        ("https://github.com/org/repo//base?ref=v1", True),
        ("github.com/org/repo/base?ref=v1", True),
        ("git@github.com:org/repo.git//base", True),
        ("ssh://git@host/repo.git", True),
        ("HTTPS://example.com/x.yaml", True),
        ("git::https://example.com/org/repo//base", True),
        ("GitHub.com/org/repo//base", True),
        ("deploy@git.example.com/org/repo.git//base", True),
        ("file:///srv/repo.git//base", True),
        ("base/app@v2", False),
        ("../base", False),
        ("deployment.yaml", False),
    ],
)
def test_remote_references(entry: str, remote: bool) -> None:
    assert is_remote_reference(entry) is remote


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_closure_follows_bases_and_components(tmp_path: Path) -> None:
    write(tmp_path / "base" / "kustomization.yaml", "resources: [cm.yaml]\n")
    write(tmp_path / "base" / "cm.yaml", "x: 1\n")
    write(tmp_path / "comp" / "kustomization.yaml", "kind: Component\n")
    write(
        tmp_path / "env" / "prod" / "kustomization.yaml",
        "resources: [../../base]\ncomponents: [../../comp]\n",
    )
    closure = kustomize_closure(tmp_path / "env" / "prod", root=tmp_path)
    root = tmp_path.resolve()
    assert closure[0] == root / "env" / "prod"
    assert sorted(closure[1:]) == [root / "base", root / "comp"]


def test_remote_base_allowed_by_settings(tmp_path: Path) -> None:
    write(tmp_path / "kustomization.yaml", "resources: [https://example.com/org/repo//base]\n")
    with pytest.raises(RenderError, match="remote kustomize reference refused"):
        kustomize_closure(tmp_path, root=tmp_path)
    assert kustomize_closure(tmp_path, root=tmp_path, settings=RenderSettings(allow_remote_bases=True))


def test_malformed_kustomization_is_a_render_error(tmp_path: Path) -> None:
    write(tmp_path / "kustomization.yaml", "resources: base\n")
    with pytest.raises(RenderError, match="resources must be a list of strings"):
        kustomize_closure(tmp_path, root=tmp_path)
