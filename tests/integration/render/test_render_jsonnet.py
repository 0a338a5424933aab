"""Jsonnet in directory apps, through the real go-jsonnet in the jail: values, libraries, imports.

What Argo CD does with a directory app's ``*.jsonnet`` files, and what gitward adds: an import that
would leave the checkout is refused before jsonnet runs, and jsonnet reads only the copy of what
the imports reach (shown by hiding a file the lexer found: jsonnet then cannot open it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from gitward.core.errors import RenderError
from gitward.render import (
    DirectoryParams,
    JsonnetParams,
    JsonnetVariable,
    RenderParams,
    RenderSettings,
    RenderTools,
    render,
    render_inputs,
)
from gitward.render import jsonnet as jsonnet_module

pytestmark = pytest.mark.integration

MAIN = """\
local helpers = import 'helpers.libsonnet';            // found in the library folder
local shared = import '../../shared/names.libsonnet';   // elsewhere in the checkout
local banner = importstr 'banner.txt';                  // next to the helpers, as text
function(namespace, replicas) [
  helpers.configMap(shared.prefix + std.extVar('environment'), namespace) + { data+: { banner: banner } },
  {
    apiVersion: 'v1',
    kind: 'List',
    items: [helpers.configMap('from-list-' + replicas, namespace)],
  },
]
"""
HELPERS = """\
/* a comment saying import "nowhere.libsonnet" is not an import */
{
  configMap(name, namespace):: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: name, namespace: namespace },
    data: { note: |||
      text blocks may say import "nothing.libsonnet" too
    |||, },
  },
}
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(repo / "apps" / "web" / "main.jsonnet", MAIN)
    write(repo / "apps" / "web" / "plain.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n")
    write(
        repo / "apps" / "web" / "zz.jsonnet",
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'last' } }\n",
    )
    write(repo / "vendor" / "lib" / "helpers.libsonnet", HELPERS)
    write(repo / "vendor" / "lib" / "banner.txt", "hello from the library\n")
    write(repo / "shared" / "names.libsonnet", "{ prefix: 'web-' }\n")
    return repo


def params(**jsonnet: Any) -> RenderParams:
    values = {
        "libs": ("vendor/lib",),
        "ext_vars": (JsonnetVariable(name="environment", value="prod-${ARGOCD_APP_NAME}"),),
        "tlas": (
            JsonnetVariable(name="namespace", value="team-a"),
            JsonnetVariable(name="replicas", value="1 + 2", code=True),
        ),
    }
    values.update(jsonnet)
    return RenderParams(
        directory=DirectoryParams(jsonnet=JsonnetParams(**values)), build_env={"ARGOCD_APP_NAME": "shop"}
    )


async def render_app(
    repo: Path, tools: RenderTools, render_params: RenderParams, **settings: Any
) -> list[Any]:
    result = await render(
        repo / "apps" / "web",
        root=repo,
        params=render_params,
        tools=tools,
        kube_version="v1.36.3",
        api_versions=(),
        settings=RenderSettings(**settings),
    )
    return list(result.manifests)


async def test_a_jsonnet_app_with_values_libraries_and_imports_renders_in_path_order(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = repository(tmp_path)
    manifests = await render_app(repo, tools, params())
    assert [m["metadata"]["name"] for m in manifests] == ["web-prod-shop", "from-list-3", "plain", "last"]
    first = manifests[0]
    assert first["metadata"]["namespace"] == "team-a"
    assert first["data"]["banner"] == "hello from the library\n"
    assert first["data"]["note"] == 'text blocks may say import "nothing.libsonnet" too\n'
    inputs = render_inputs(repo / "apps" / "web", root=repo, params=params())
    assert inputs.paths == ("apps/web", "shared/names.libsonnet", "vendor/lib")


async def test_a_missing_top_level_argument_is_jsonnets_own_error_naming_the_file(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = repository(tmp_path)
    with pytest.raises(
        RenderError,
        match=r"^apps/web/main.jsonnet: jsonnet failed \(exit 1\): RUNTIME ERROR: Missing argument",
    ) as failed:
        await render_app(repo, tools, params(tlas=()))
    assert str(tmp_path) not in str(failed.value)


@pytest.mark.parametrize(
    ("source", "reason", "message"),
    [
        ("import '../../../outside.libsonnet'", "PathEscapesRepository", "leads outside the repository"),
        ("import '/etc/hostname'", "PathEscapesRepository", "is an absolute path"),
        ("importstr '../../link/hostname'", "SymlinkEscapesRepository", "symlink escapes repository"),
        ("importbin @'../../../outside.libsonnet'", "PathEscapesRepository", "leads outside the repository"),
    ],
)
async def test_an_import_outside_the_checkout_is_refused_before_jsonnet_runs(
    tmp_path: Path, tools: RenderTools, source: str, reason: str, message: str
) -> None:
    repo = tmp_path / "repo"
    write(tmp_path / "outside.libsonnet", "{ stolen: true }\n")
    (repo / "link").parent.mkdir(parents=True, exist_ok=True)
    (repo / "link").symlink_to("/etc")
    write(repo / "apps" / "web" / "main.jsonnet", f"local x = {source};\n{{}}\n")
    never_runs = dataclasses.replace(tools, jsonnet=Path("/nonexistent/jsonnet"))
    with pytest.raises(RenderError, match=message) as refused:
        await render_app(repo, never_runs, RenderParams())
    assert refused.value.reason == reason
    assert str(refused.value).startswith("apps/web/main.jsonnet: import ")


async def test_a_code_value_importing_outside_the_checkout_is_refused_too(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = repository(tmp_path)
    sneaky = JsonnetVariable(name="namespace", value="(import '../../../x.libsonnet').ns", code=True)
    with pytest.raises(RenderError, match=r"^<namespace>: import '../../../x.libsonnet' leads outside"):
        await render_app(repo, tools, params(tlas=(sneaky,)))


async def test_jsonnet_reads_only_the_copy_of_what_the_imports_reach(
    tmp_path: Path, tools: RenderTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the import lexer to miss a file, jsonnet could not open it: the jail holds the copy only."""
    repo = repository(tmp_path)
    monkeypatch.setattr(jsonnet_module, "import_closure", lambda *args, **kwargs: set())
    with pytest.raises(RenderError, match=r"couldn't open import \"../../shared/names.libsonnet\""):
        await render_app(repo, tools, params())


async def test_a_library_folder_that_does_not_exist_is_refused(tmp_path: Path, tools: RenderTools) -> None:
    repo = repository(tmp_path)
    with pytest.raises(RenderError, match="jsonnet library folder 'vendor/gone' does not exist"):
        await render_app(repo, tools, params(libs=("vendor/gone",)))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("'just a string'", "evaluates to str; expected an object or an array of objects"),
        ("[1]", "document 1: expected a mapping, got int"),
        ("{ kind: 'ConfigMap' }", "missing apiVersion"),
    ],
)
async def test_a_value_that_is_not_objects_is_refused_naming_the_file(
    tmp_path: Path, tools: RenderTools, value: str, fragment: str
) -> None:
    repo = tmp_path / "repo"
    write(repo / "apps" / "web" / "main.jsonnet", value + "\n")
    with pytest.raises(RenderError, match=rf"^apps/web/main.jsonnet: .*{fragment}"):
        await render_app(repo, tools, RenderParams())


async def test_a_jsonnet_that_needs_too_much_memory_is_stopped_with_that_said(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = tmp_path / "repo"
    write(repo / "apps" / "web" / "main.jsonnet", "std.length(std.makeArray(100000000, function(i) [i]))\n")
    with pytest.raises(
        RenderError,
        match=r"^apps/web/main.jsonnet: jsonnet ran out of memory "
        r"\(each render tool may use 268435456 bytes\)",
    ) as stopped:
        await render_app(repo, tools, RenderParams(), max_memory_bytes=256 * 1024 * 1024)
    assert stopped.value.reason == "RenderMemoryLimit"


async def test_jsonnet_options_on_a_kustomize_folder_are_refused(tmp_path: Path, tools: RenderTools) -> None:
    repo = repository(tmp_path)
    write(repo / "apps" / "web" / "kustomization.yaml", "resources: [plain.yaml]\n")
    with pytest.raises(
        RenderError,
        match=r"directory\.jsonnet applies to directory apps; this folder is rendered by kustomize",
    ):
        await render_app(repo, tools, params())
