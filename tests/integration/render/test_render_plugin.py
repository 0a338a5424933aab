"""Config-management plugins through the real jail: what they get, what they cannot do, how they end.

Each plugin here is a real program (``sh``, the pinned kustomize and helm) run by ``render``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.integration.render.test_render_jail import sleeping

from gitward.core.errors import RenderError
from gitward.render import (
    PluginDefinition,
    PluginParameter,
    PluginParams,
    RenderParams,
    RenderSettings,
    RenderTools,
    render,
    render_inputs,
)

pytestmark = pytest.mark.integration

ECHO = """\
set -eu
cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: "from-$ARGOCD_APP_NAME"}
data:
  foo: "$ARGOCD_ENV_FOO"
  first: "$PARAM_VALUES_FILES_0"
  second: "$PARAM_VALUES_FILES_1"
  tag: "$PARAM_IMAGE_TAG"
  mode: "$PARAM_MODE"
  kube: "$KUBE_VERSION"
  apis: "$KUBE_API_VERSIONS"
  revision: "$ARGOCD_APP_REVISION_SHORT"
  path: "$ARGOCD_APP_SOURCE_PATH"
  cwd: "$(basename "$PWD")"
EOF
printf '%s' "$ARGOCD_APP_PARAMETERS" > /tmp/parameters.json
echo "---"
echo '{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "listed"}}]}'
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def shell(name: str, script: str, **fields: Any) -> PluginDefinition:
    return PluginDefinition(name=name, generate=("sh", "-c", script), **fields)


def plugin_params(*candidates: PluginDefinition, discover: bool = False, **fields: Any) -> RenderParams:
    """The app names the first candidate, or names none (``discover``)."""
    name = None if discover else candidates[0].name
    plugin = PluginParams(name=name, candidates=candidates, **fields)
    build_env = {
        "ARGOCD_APP_NAME": "shop",
        "ARGOCD_APP_SOURCE_PATH": "apps/web",
        "ARGOCD_APP_REVISION_SHORT": "abc1234",
    }
    return RenderParams(engine="plugin", plugin=plugin, build_env=build_env)


def repository(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(
        repo / "apps" / "web" / "kustomization.yaml",
        "resources: [../../base]\nhelmCharts:\n"
        "- {name: web, releaseName: shop, valuesInline: {greeting: hi}}\n",
    )
    write(
        repo / "apps" / "web" / "charts" / "web" / "Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n"
    )
    write(repo / "apps" / "web" / "charts" / "web" / "values.yaml", "greeting: hello\n")
    write(
        repo / "apps" / "web" / "charts" / "web" / "templates" / "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Release.Name }}-web'}\n"
        "data: {greeting: '{{ .Values.greeting }}'}\n",
    )
    write(repo / "base" / "kustomization.yaml", "resources: [cm.yaml]\n")
    write(repo / "base" / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\n")
    return repo


async def render_app(repo: Path, tools: RenderTools, params: RenderParams, **settings: Any) -> list[Any]:
    result = await render(
        repo / "apps" / "web",
        root=repo,
        params=params,
        tools=tools,
        kube_version="v1.36.3",
        api_versions=("apps/v1", "v1"),
        settings=RenderSettings(**settings),
    )
    assert result.engine == "plugin"
    return list(result.manifests)


async def test_kustomize_with_helm_as_a_plugin(tmp_path: Path, tools: RenderTools) -> None:
    repo = repository(tmp_path)
    plugin = PluginDefinition(
        name="kustomize-helm",
        generate=("kustomize", "build", "--enable-helm", "."),
        discover="kustomization.yaml",
    )
    manifests = await render_app(repo, tools, plugin_params(plugin))
    assert [(m["metadata"]["name"], m.get("data")) for m in manifests] == [
        ("base", None),
        ("shop-web", {"greeting": "hi"}),
    ]
    assert render_inputs(repo / "apps" / "web", root=repo, params=plugin_params(plugin)).paths == (
        "apps/web",
        "",
    )


async def test_a_plugin_gets_env_parameters_and_build_variables_as_argo_cd_names_them(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = repository(tmp_path)
    params = plugin_params(
        shell("echo", ECHO),
        env=(("FOO", "bar-$ARGOCD_APP_NAME-$$HOME"),),
        parameters=(
            PluginParameter(name="values-files", array=("a.yaml", "b.yaml")),
            PluginParameter(name="image", map={"tag": "v1"}),
            PluginParameter(name="mode", string="fast"),
        ),
    )
    first, listed = await render_app(repo, tools, params)
    assert first["metadata"]["name"] == "from-shop"
    assert first["data"] == {
        "foo": "bar-shop-$HOME",
        "first": "a.yaml",
        "second": "b.yaml",
        "tag": "v1",
        "mode": "fast",
        "kube": "v1.36.3",
        "apis": "apps/v1,v1",
        "revision": "abc1234",
        "path": "apps/web",
        "cwd": "web",
    }
    assert listed["metadata"]["name"] == "listed"


async def test_a_plugin_sees_a_read_only_copy_no_host_file_and_no_network(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = repository(tmp_path)
    secret = tmp_path / "outside.txt"
    secret.write_text("stolen")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    script = textwrap.dedent(f"""\
    probe() {{ if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }}
    cat <<EOF
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: probe}}
    data:
      writeCheckout: "$(probe touch kustomization.yaml)"
      writeTmp: "$(probe touch /tmp/scratch)"
      writeHome: "$(probe touch "$HOME/scratch")"
      readOutside: "$(probe cat {secret})"
      readPasswd: "$(probe cat /etc/passwd)"
      network: "$(probe sh -c 'exec 3<>/dev/tcp/127.0.0.1/{port}')"
      bash: "$(probe bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}')"
      tools: "$(ls /gitward/bin | tr '\\n' ' ')"
    EOF
    """)
    listener.settimeout(0.5)
    try:
        (probe,) = await render_app(repo, tools, plugin_params(shell("probe", script)))
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert probe["data"] == {
        "writeCheckout": "no",
        "writeTmp": "yes",
        "writeHome": "yes",
        "readOutside": "no",
        "readPasswd": "no",
        "network": "no",
        "bash": "no",
        "tools": "helm jsonnet kustomize ",
    }


async def test_a_plugin_that_times_out_is_killed_with_everything_it_started(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = repository(tmp_path)
    token = f"300.{secrets.randbelow(10**6):06d}"
    slow = shell("slow", f"sleep {token} & wait", timeout=1.0)
    with pytest.raises(
        RenderError, match=r"^plugin slow \(generate\) timed out after 1s and was killed$"
    ) as caught:
        await render_app(repo, tools, plugin_params(slow))
    assert caught.value.reason == "RenderTimeout"
    for _ in range(200):
        if not sleeping(token):
            break
        await asyncio.sleep(0.05)
    assert not sleeping(token)


async def test_init_runs_first_and_a_failing_command_shows_its_message(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = repository(tmp_path)
    init_then = PluginDefinition(
        name="two-steps",
        init=("sh", "-c", "echo 'init output is discarded'; echo prepared > $HOME/state; echo x > /tmp/gone"),
        generate=(
            "sh",
            "-c",
            "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: %s-%s}\\n' $(cat $HOME/state) "
            "$(cat /tmp/gone 2>/dev/null || echo fresh-tmp)",
        ),
    )
    (made,) = await render_app(repo, tools, plugin_params(init_then))
    assert made["metadata"]["name"] == "prepared-fresh-tmp"
    failing = PluginDefinition(
        name="broken", init=("sh", "-c", "echo 'no chart here' >&2; exit 4"), generate=("true",)
    )
    with pytest.raises(RenderError, match=r"^plugin broken \(init\) failed \(exit 4\): no chart here$"):
        await render_app(repo, tools, plugin_params(failing))
    garbage = shell("garbage", "echo 'not: [yaml'")
    with pytest.raises(RenderError, match=r"plugin garbage \(generate\).*invalid YAML"):
        await render_app(repo, tools, plugin_params(garbage))


async def test_a_missing_program_names_the_plugin_and_the_program(tmp_path: Path, tools: RenderTools) -> None:
    repo = repository(tmp_path)
    missing = PluginDefinition(name="tanka", generate=("tk-not-installed", "show"))
    with pytest.raises(RenderError, match=r"^plugin 'tanka': program 'tk-not-installed' not found") as caught:
        await render_app(repo, tools, plugin_params(missing))
    assert caught.value.reason == "RenderToolMissing"


async def test_discovery_picks_the_one_plugin_whose_glob_matches(tmp_path: Path, tools: RenderTools) -> None:
    repo = repository(tmp_path)
    cm = "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: %s}\\n' "
    kustomize = shell("by-kustomization", cm + "kustomization", discover="./kustomization.yaml")
    charts = shell("by-chart", cm + "chart", discover="charts/*/Chart.yaml")
    tanka = shell("by-tanka", cm + "tanka", discover="jsonnetfile.json")
    (found,) = await render_app(repo, tools, plugin_params(kustomize, tanka, discover=True))
    assert found["metadata"]["name"] == "kustomization"
    with pytest.raises(
        RenderError, match="plugins by-kustomization, by-chart all match folder apps/web; name one"
    ) as both:
        await render_app(repo, tools, plugin_params(kustomize, charts, discover=True))
    assert both.value.reason == "PluginAmbiguous"
    with pytest.raises(
        RenderError, match=r"no plugin's discover\.fileName matches a file in folder apps/web"
    ):
        await render_app(repo, tools, plugin_params(tanka, discover=True))
    with pytest.raises(
        RenderError,
        match=r"plugin 'by-tanka' does not apply to folder apps/web: "
        r"its discover\.fileName 'jsonnetfile\.json'",
    ) as named:
        await render_app(repo, tools, plugin_params(tanka))
    assert named.value.reason == "PluginNotDiscovered"


async def test_a_plugin_flooding_its_output_is_stopped(tmp_path: Path, tools: RenderTools) -> None:
    repo = repository(tmp_path)
    flood = shell("flood", "yes 'apiVersion: v1'")
    with pytest.raises(RenderError, match=r"plugin flood \(generate\) output is larger than 1048576 bytes"):
        await render_app(repo, tools, plugin_params(flood), max_output_bytes=1024 * 1024)


async def test_parameters_json_is_argo_cds_shape(tmp_path: Path, tools: RenderTools) -> None:
    repo = repository(tmp_path)
    script = (
        "printf \"apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: p}\\ndata: {json: '%s'}\\n\" "
        '"$ARGOCD_APP_PARAMETERS"'
    )
    params = plugin_params(
        shell("json", script),
        parameters=(
            PluginParameter(name="a", string="x"),
            PluginParameter(name="b", array=()),
            PluginParameter(name="c", map={"k": "v"}),
        ),
    )
    (made,) = await render_app(repo, tools, params)
    assert json.loads(made["data"]["json"]) == [
        {"name": "a", "string": "x"},
        {"name": "b", "array": []},
        {"name": "c", "map": {"k": "v"}},
    ]
