"""``render_inputs``: the paths whose Git hashes key an app's render (what a push must re-render)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.core.errors import RenderError
from gitward.render import HelmParams, RenderInputs, RenderParams, render_inputs


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_plain_folder_is_its_own_only_input(tmp_path: Path) -> None:
    root = _write(tmp_path, {"apps/web/cm.yaml": "kind: ConfigMap\n"})
    assert render_inputs(root / "apps/web", root=root, params=RenderParams()) == RenderInputs(
        "plain", ("apps/web",)
    )


def test_overlay_reads_its_bases_outside_its_folder_but_not_those_inside(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [cm.yaml, ../common]\n",
            "base/cm.yaml": "kind: ConfigMap\n",
            "common/kustomization.yaml": "resources: []\n",
            "prod/kustomization.yaml": "resources: [../base, local]\n",
            "prod/local/kustomization.yaml": "resources: []\n",
        },
    )
    found = render_inputs(root / "prod", root=root, params=RenderParams())
    assert found == RenderInputs("kustomize", ("prod", "base", "common"))


def test_chart_reads_values_files_from_a_sibling_folder(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "charts/site/Chart.yaml": "apiVersion: v2\nname: site\nversion: 0.1.0\n",
            "charts/site/values-dev.yaml": "a: 1\n",
            "envs/prod/values.yaml": "a: 2\n",
        },
    )
    params = RenderParams(helm=HelmParams(value_files=("values-dev.yaml", "../../envs/prod/values.yaml")))
    assert render_inputs(root / "charts/site", root=root, params=params) == RenderInputs(
        "helm", ("charts/site", "envs/prod/values.yaml")
    )


def test_a_malformed_kustomization_is_refused_like_the_render_would(tmp_path: Path) -> None:
    root = _write(tmp_path, {"prod/kustomization.yaml": "resources: ../base\n"})
    with pytest.raises(RenderError, match="must be a list"):
        render_inputs(root / "prod", root=root, params=RenderParams())
