"""A kustomize render of a folder with no kustomization of its own, as Flux does it: the real
kustomize builds a kustomization generated into the copy from the manifests below the folder.

A Flux Kustomization with ``targetNamespace`` on a folder of plain manifests is the common case; the
namespace must land on every object, files that hold no object must be left out, and a subfolder
with its own kustomization is built as one resource. The user's folder is never written to.
"""

from __future__ import annotations

from pathlib import Path

from gitward.render import RenderParams, RenderTools, render
from gitward.render.params import KustomizeParams


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n"


async def test_a_folder_without_a_kustomization_renders_like_flux_with_the_target_namespace(
    tmp_path: Path, tools: RenderTools
) -> None:
    app = tmp_path / "repo" / "apps" / "web"
    write(app / "cm.yaml", CONFIGMAP % "top")
    write(app / "values.yaml", "replicas: 3\nimage: web\n")  # no object: left out
    write(
        app / "nested" / "deeper" / "cm.json",
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}}',
    )
    write(app / "kustomized" / "kustomization.yaml", "resources: [cm.yaml]\nnamePrefix: k-\n")
    write(app / "kustomized" / "cm.yaml", CONFIGMAP % "inner")
    write(app / "kustomized" / "unlisted.yaml", CONFIGMAP % "unlisted")  # its kustomization decides
    params = RenderParams(engine="kustomize", kustomize=KustomizeParams(namespace="team"))

    result = await render(
        app, root=tmp_path / "repo", params=params, tools=tools, kube_version="", api_versions=()
    )

    names = sorted(m["metadata"]["name"] for m in result.manifests)
    assert names == ["deep", "k-inner", "top"]
    assert {m["metadata"]["namespace"] for m in result.manifests} == {"team"}
    assert not (app / "kustomization.yaml").exists()
