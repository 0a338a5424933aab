"""One escape attempt per kustomization field family, end to end through ``render`` with the real
kustomize, and one kustomization that uses every family inside the checkout and renders.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from gitward.core.errors import RenderError
from gitward.render import RenderParams, RenderTools, render


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n"
TARGET = {"kind": "ConfigMap", "name": "web"}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """``repo/apps/web`` with a ConfigMap and a symlink ``link`` out; ``outside`` holds a
    kustomization, a secret and a patch, next to the checkout."""
    outside = tmp_path / "outside"
    write(outside / "kustomization.yaml", "resources: [stolen.yaml]\n")
    write(outside / "stolen.yaml", CONFIGMAP % "stolen")
    write(outside / "secret.env", "PASSWORD=hunter2\n")
    write(
        outside / "patch.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {k: stolen}\n"
    )
    repo = tmp_path / "repo"
    write(repo / "apps" / "web" / "cm.yaml", CONFIGMAP % "web")
    os.symlink(outside, repo / "apps" / "web" / "link")
    return repo


ESCAPES = {
    "generators-folder-outside": ({"generators": ["../../../outside"]}, "PathEscapesRepository"),
    "generators-git-url": (
        {"generators": ["git::https://git.example.com/org/repo//gen"]},
        "RemoteBaseRefused",
    ),
    "transformers-folder-outside": ({"transformers": ["../../../outside"]}, "PathEscapesRepository"),
    "transformers-https-url": ({"transformers": ["https://example.com/t.yaml"]}, "RemoteBaseRefused"),
    "transformers-inline-config-url": (
        {
            "transformers": [
                orjson.dumps(
                    {
                        "apiVersion": "builtin",
                        "kind": "PatchTransformer",
                        "metadata": {"name": "p"},
                        "path": "https://example.com/patch.yaml",
                    }
                ).decode()
            ]
        },
        "RemoteBaseRefused",
    ),
    "validators-symlink": ({"validators": ["link"]}, "SymlinkEscapesRepository"),
    "components-outside": ({"components": ["../../../outside"]}, "PathEscapesRepository"),
    "configMapGenerator-files": (
        {"configMapGenerator": [{"name": "c", "files": ["pw=../../../outside/secret.env"]}]},
        "PathEscapesRepository",
    ),
    "secretGenerator-envs-symlink": (
        {"secretGenerator": [{"name": "s", "envs": ["link/secret.env"]}]},
        "SymlinkEscapesRepository",
    ),
    "patches-path": (
        {"patches": [{"path": "../../../outside/patch.yaml", "target": TARGET}]},
        "PathEscapesRepository",
    ),
    "patchesStrategicMerge-url": (
        {"patchesStrategicMerge": ["https://example.com/p.yaml"]},
        "RemoteBaseRefused",
    ),
    "patchesJson6902-absolute": (
        {"patchesJson6902": [{"path": "/etc/passwd", "target": TARGET}]},
        "PathEscapesRepository",
    ),
    "helmCharts-repo": (
        {"helmCharts": [{"name": "c", "repo": "https://charts.example.com"}]},
        "RemoteBaseRefused",
    ),
    "helmCharts-valuesFile": (
        {"helmCharts": [{"name": "c", "valuesFile": "../../../outside/secret.env"}]},
        "PathEscapesRepository",
    ),
    "helmGlobals-chartHome": ({"helmGlobals": {"chartHome": "link"}}, "SymlinkEscapesRepository"),
    "openapi-path": ({"openapi": {"path": "https://example.com/schema.json"}}, "RemoteBaseRefused"),
    "crds": ({"crds": ["../../../outside/stolen.yaml"]}, "PathEscapesRepository"),
    "configurations": ({"configurations": ["link/stolen.yaml"]}, "SymlinkEscapesRepository"),
    "replacements-path": (
        {"replacements": [{"path": "../../../outside/patch.yaml"}]},
        "PathEscapesRepository",
    ),
    "resources-scp-url": ({"resources": ["deploy@git.example.com:org/repo.git//base"]}, "RemoteBaseRefused"),
    "Generators-other-case": ({"GENERATORS": ["../../../outside"]}, "PathEscapesRepository"),
}


@pytest.mark.parametrize("case", ESCAPES, ids=list(ESCAPES))
async def test_every_field_family_is_refused_before_kustomize_runs(
    repo: Path, tools: RenderTools, case: str
) -> None:
    fields, reason = ESCAPES[case]
    app = repo / "apps" / "web"
    write(app / "kustomization.yaml", orjson.dumps({"resources": ["cm.yaml"], **fields}).decode())
    with pytest.raises(RenderError) as refused:
        await render(app, root=repo, params=RenderParams(), tools=tools, kube_version="", api_versions=())
    assert refused.value.reason == reason, str(refused.value)
    assert "hunter2" not in str(refused.value)
    assert "stolen" not in str(refused.value).replace("stolen.yaml", "")


async def test_every_field_family_inside_the_checkout_renders(tmp_path: Path, tools: RenderTools) -> None:
    repo = tmp_path / "repo"
    app, base, shared = repo / "apps" / "web", repo / "apps" / "base", repo / "shared"
    write(base / "kustomization.yaml", "resources: [cm.yaml]\n")
    write(base / "cm.yaml", CONFIGMAP % "web")
    write(shared / "kustomization.yaml", "kind: Component\ncommonAnnotations: {component: shared}\n")
    write(
        app / "gen.yaml",
        "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: generated}\nenvs: [app.env]\n",
    )
    write(app / "app.env", "MODE=prod\n")
    write(app / "greeting.txt", "hello")
    write(
        app / "patch-smp.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {smp: 'yes'}\n"
    )
    write(app / "patch-json.yaml", "- {op: add, path: /data/json, value: 'yes'}\n")
    write(
        app / "patch-any.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {any: 'yes'}\n"
    )
    write(
        app / "replacements.yaml",
        "source: {kind: ConfigMap, name: web, fieldPath: data.k}\n"
        "targets: [{select: {kind: ConfigMap, name: web}, fieldPaths: [data.copied],"
        " options: {create: true}}]\n",
    )
    write(app / "crd.json", "{}\n")  # the legacy OpenAPI definitions kustomize reads from crds
    write(app / "config.yaml", "namePrefix: [{path: metadata/name, kind: W}]\n")
    transformer = orjson.dumps(
        {
            "apiVersion": "builtin",
            "kind": "LabelTransformer",
            "metadata": {"name": "l"},
            "labels": {"team": "web"},
            "fieldSpecs": [{"path": "metadata/labels", "create": True}],
        }
    ).decode()
    kustomization = {
        "resources": ["../base"],
        "components": ["../../shared"],
        "generators": ["gen.yaml"],
        "transformers": [transformer],
        "configMapGenerator": [{"name": "files", "files": ["greet=greeting.txt"]}],
        "secretGenerator": [{"name": "secret", "envs": ["app.env"]}],
        "patches": [{"path": "patch-any.yaml"}],
        "patchesStrategicMerge": ["patch-smp.yaml"],
        "patchesJson6902": [
            {"path": "patch-json.yaml", "target": {"version": "v1", "kind": "ConfigMap", "name": "web"}}
        ],
        "replacements": [{"path": "replacements.yaml"}],
        "crds": ["crd.json"],
        "configurations": ["config.yaml"],
    }
    write(app / "kustomization.yaml", orjson.dumps(kustomization).decode())
    result = await render(
        app, root=repo, params=RenderParams(), tools=tools, kube_version="", api_versions=()
    )
    by_name = {manifest["metadata"]["name"].rsplit("-", 1)[0]: manifest for manifest in result.manifests}
    assert by_name["web"]["data"] == {"k": "v", "smp": "yes", "json": "yes", "any": "yes", "copied": "v"}
    assert by_name["web"]["metadata"]["labels"] == {"team": "web"}
    assert by_name["web"]["metadata"]["annotations"] == {"component": "shared"}
    assert by_name["generated"]["data"] == {"MODE": "prod"}
    assert by_name["files"]["data"] == {"greet": "hello"}
    assert by_name["secret"]["kind"] == "Secret"
