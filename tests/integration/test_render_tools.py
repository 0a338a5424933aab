"""kustomize and helm through ``render``, with the real pinned binaries, and a tool that hangs."""

from __future__ import annotations

import asyncio
import gzip
import os
import stat
from pathlib import Path

import pytest
from devtools.toolchain import tool_path

from gitward.core.errors import RenderError
from gitward.render import (
    HelmParams,
    KustomizeParams,
    RenderCache,
    RenderParams,
    RenderSettings,
    RenderTools,
    render,
    render_cached,
    render_local,
)

KUBE = "v1.36.3"


@pytest.fixture(scope="module")
def tools() -> RenderTools:
    return RenderTools(kustomize=tool_path("kustomize"), helm=tool_path("helm"), timeout=60)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: ghcr.io/org/web:1.0.0}]
"""


@pytest.fixture
def kustomize_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    write(repo / "apps" / "web" / "base" / "deployment.yaml", DEPLOYMENT)
    write(repo / "apps" / "web" / "base" / "kustomization.yaml", "resources: [deployment.yaml]\n")
    write(
        repo / "apps" / "web" / "overlays" / "prod" / "kustomization.yaml",
        "resources: [../../base]\nnamePrefix: prod-\n"
        "configMapGenerator: [{name: settings, literals: [mode=0644]}]\n",
    )
    write(repo / "unrelated" / "big.yaml", "x: 1\n")
    return repo


async def test_kustomize_overlay_with_base_and_images(kustomize_repo: Path, tools: RenderTools) -> None:
    params = RenderParams(
        kustomize=KustomizeParams(
            images=("ghcr.io/org/web=registry.local/web:2.0.0",),
            namespace="prod",
            common_labels={"team": "a"},
        ),
        substitute={"UNUSED": "x"},
    )
    result = await render(
        kustomize_repo / "apps" / "web" / "overlays" / "prod",
        root=kustomize_repo,
        params=params,
        tools=tools,
        kube_version=KUBE,
        api_versions=(),
    )
    assert result.engine == "kustomize"
    by_kind = {m["kind"]: m for m in result.manifests}
    deployment = by_kind["Deployment"]
    assert deployment["metadata"]["name"] == "prod-web"
    assert deployment["metadata"]["namespace"] == "prod"
    assert deployment["metadata"]["labels"]["team"] == "a"
    assert deployment["spec"]["selector"]["matchLabels"]["team"] == "a"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/web:2.0.0"
    assert by_kind["ConfigMap"]["metadata"]["name"].startswith("prod-settings-")
    assert by_kind["ConfigMap"]["data"] == {"mode": "0644"}


async def test_kustomize_tag_only_image(kustomize_repo: Path, tools: RenderTools) -> None:
    params = RenderParams(kustomize=KustomizeParams(images=("ghcr.io/org/web:1.2.3",)))
    result = await render(
        kustomize_repo / "apps" / "web" / "base",
        root=kustomize_repo,
        params=params,
        tools=tools,
        kube_version=KUBE,
        api_versions=(),
    )
    [deployment] = result.manifests
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/org/web:1.2.3"


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ("[../../../../outside]", "escapes repository"),
        ("[/etc]", "must be relative"),
        ("[https://github.com/org/repo//base?ref=v1]", "remote kustomize reference refused"),
        ("[github.com/org/repo/base?ref=v1]", "remote kustomize reference refused"),
        ("[../missing]", "not found in the repository"),
    ],
)
async def test_kustomize_references_are_checked_before_running(
    kustomize_repo: Path, tools: RenderTools, resources: str, message: str
) -> None:
    write(kustomize_repo.parent / "outside" / "kustomization.yaml", "resources: []\n")
    write(kustomize_repo / "apps" / "web" / "bad" / "kustomization.yaml", f"resources: {resources}\n")
    with pytest.raises(RenderError, match=message):
        await render(
            kustomize_repo / "apps" / "web" / "bad",
            root=kustomize_repo,
            params=RenderParams(),
            tools=tools,
            kube_version=KUBE,
            api_versions=(),
        )


async def test_kustomize_symlink_out_of_the_base_is_refused(kustomize_repo: Path, tools: RenderTools) -> None:
    (kustomize_repo.parent / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")
    os.symlink(kustomize_repo.parent / "secret.yaml", kustomize_repo / "apps" / "web" / "base" / "s.yaml")
    with pytest.raises(RenderError, match=r"symlink escapes repository: apps/web/base/s\.yaml"):
        await render(
            kustomize_repo / "apps" / "web" / "overlays" / "prod",
            root=kustomize_repo,
            params=RenderParams(),
            tools=tools,
            kube_version=KUBE,
            api_versions=(),
        )


async def test_kustomize_error_message_is_the_tools(kustomize_repo: Path, tools: RenderTools) -> None:
    write(kustomize_repo / "apps" / "broken" / "kustomization.yaml", "resources: [nameless.yaml]\n")
    write(kustomize_repo / "apps" / "broken" / "nameless.yaml", "apiVersion: v1\nkind: ConfigMap\n")
    with pytest.raises(RenderError, match=r"kustomize failed \(exit 1\): Error: .*nameless\.yaml"):
        await render(
            kustomize_repo / "apps" / "broken",
            root=kustomize_repo,
            params=RenderParams(),
            tools=tools,
            kube_version=KUBE,
            api_versions=(),
        )


@pytest.fixture
def chart_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    chart = repo / "charts" / "web"
    write(chart / "Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    write(chart / "values.yaml", "replicaCount: 1\ncolor: blue\nmode: default\n")
    write(
        chart / "templates" / "deployment.yaml",
        """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
  namespace: {{ .Release.Namespace }}
  annotations:
    kube: {{ .Capabilities.KubeVersion.Version | quote }}
    monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, color: {{ .Values.color }}, mode: {{ .Values.mode }}}}
    spec: {containers: [{name: web, image: "web:1"}]}
""",
    )
    write(
        chart / "crds" / "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: widgets.example.com}\n",
    )
    write(chart / "values-prod.yaml", "color: green\nmode: prod\n")
    write(repo / "shared" / "values-common.yaml", "replicaCount: 4\n")
    return repo


async def test_helm_chart_with_values_value_files_and_release_name(
    chart_repo: Path, tools: RenderTools
) -> None:
    params = RenderParams(
        helm=HelmParams(
            release_name="shop",
            namespace="store",
            value_files=("../../shared/values-common.yaml", "values-prod.yaml"),
            values={"mode": "inline"},
        )
    )
    result = await render(
        chart_repo / "charts" / "web",
        root=chart_repo,
        params=params,
        tools=tools,
        kube_version="v1.35.2",
        api_versions=("monitoring.coreos.com/v1",),
    )
    assert result.engine == "helm"
    by_kind = {m["kind"]: m for m in result.manifests}
    assert "CustomResourceDefinition" in by_kind  # --include-crds
    deployment = by_kind["Deployment"]
    assert deployment["metadata"]["name"] == "shop-web"
    assert deployment["metadata"]["namespace"] == "store"
    assert deployment["metadata"]["annotations"] == {"kube": "v1.35.2", "monitoring": "true"}
    assert deployment["spec"]["replicas"] == 4
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert (labels["color"], labels["mode"]) == ("green", "inline")  # file order, then inline values win


@pytest.mark.parametrize(
    ("value_file", "message"),
    [
        ("../../../outside.yaml", "escapes repository"),
        ("/etc/hostname", "must be relative"),
        ("https://example.com/v.yaml", "remote value files"),
        ("missing.yaml", "value file not found"),
    ],
)
async def test_helm_value_files_outside_are_refused(
    chart_repo: Path, tools: RenderTools, value_file: str, message: str
) -> None:
    (chart_repo.parent / "outside.yaml").write_text("color: stolen\n")
    params = RenderParams(helm=HelmParams(value_files=(value_file,)))
    with pytest.raises(RenderError, match=message):
        await render(
            chart_repo / "charts" / "web",
            root=chart_repo,
            params=params,
            tools=tools,
            kube_version=KUBE,
            api_versions=(),
        )


async def test_helm_chart_archive_bomb_is_refused(chart_repo: Path, tools: RenderTools) -> None:
    archive = chart_repo / "charts" / "web" / "charts" / "dep-0.1.0.tgz"
    archive.parent.mkdir()
    archive.write_bytes(gzip.compress(b"\0" * (4 * 1024 * 1024)))
    settings = RenderSettings(max_chart_unpacked_bytes=1024 * 1024)
    with pytest.raises(
        RenderError, match=r"charts/web/charts/dep-0\.1\.0\.tgz: chart archive unpacks to more"
    ):
        await render(
            chart_repo / "charts" / "web",
            root=chart_repo,
            params=RenderParams(),
            tools=tools,
            kube_version=KUBE,
            api_versions=(),
            settings=settings,
        )


async def test_helm_missing_dependency_is_not_downloaded(chart_repo: Path, tools: RenderTools) -> None:
    write(
        chart_repo / "charts" / "web" / "Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n"
        "dependencies: [{name: redis, version: 1.0.0, repository: https://charts.example.com}]\n",
    )
    # without a chart source (``gitward render PATH``) nothing is fetched, and the dependency is named
    with pytest.raises(
        RenderError,
        match=r"^dependency 'redis' from https://charts\.example\.com is not in charts/ and this render",
    ):
        await render(
            chart_repo / "charts" / "web",
            root=chart_repo,
            params=RenderParams(),
            tools=tools,
            kube_version=KUBE,
            api_versions=(),
        )


def hanging_tool(tmp_path: Path) -> Path:
    script = tmp_path / "hang.sh"
    marker = tmp_path / "child.pid"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {marker}\nwait\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


async def test_hanging_tool_is_killed_at_the_timeout(kustomize_repo: Path, tmp_path: Path) -> None:
    """Unjailed (the jail's own test is in ``render/test_render_jail.py``): the runner kills the group."""
    script = hanging_tool(tmp_path)
    tools = RenderTools(kustomize=script, helm=script, timeout=1.0)
    with pytest.raises(RenderError, match=r"kustomize timed out after 1s and was killed") as caught:
        await render(
            kustomize_repo / "apps" / "web" / "base",
            root=kustomize_repo,
            params=RenderParams(),
            tools=tools,
            kube_version=KUBE,
            api_versions=(),
            settings=RenderSettings(sandbox="off"),
        )
    assert caught.value.reason == "RenderTimeout"
    child = int((tmp_path / "child.pid").read_text())
    # the whole process group was killed, including what the tool started (a zombie counts as dead)
    for _ in range(200):
        if not is_running(child):
            break
        await asyncio.sleep(0.05)
    assert not is_running(child)


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def test_render_cached_keys_on_tree_and_tool_version(kustomize_repo: Path, tools: RenderTools) -> None:
    cache = RenderCache(max_entries=4)
    directory = kustomize_repo / "apps" / "web" / "overlays" / "prod"

    async def run(tree: str) -> object:
        return await render_cached(
            directory,
            root=kustomize_repo,
            tree=tree,
            params=RenderParams(),
            tools=tools,
            kube_version=KUBE,
            api_versions=(),
            cache=cache,
        )

    first = await run("t1")
    assert await run("t1") is first
    await run("t2")
    assert (cache.hits, cache.misses) == (1, 2)
    [key] = [k for k in cache._entries if k.tree == "t1"]
    assert key.tool.startswith("kustomize v5.8.1")


def test_render_local_with_helm_values_files(chart_repo: Path, tools: RenderTools, tmp_path: Path) -> None:
    local_values = tmp_path / "mine.yaml"
    local_values.write_text("replicaCount: 7\n")
    manifests = render_local(chart_repo / "charts" / "web", helm_values=[local_values], tools=tools)
    [deployment] = [m for m in manifests if m["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] == 7


async def test_kustomize_exec_function_is_never_run(
    kustomize_repo: Path, tools: RenderTools, tmp_path: Path
) -> None:
    marker = tmp_path / "executed"
    app = kustomize_repo / "apps" / "evil"
    write(app / "evil.sh", f"#!/bin/sh\ntouch {marker}\ncat\n")
    (app / "evil.sh").chmod(0o755)
    write(
        app / "fn.yaml",
        "apiVersion: example.com/v1\nkind: Evil\nmetadata:\n  name: evil\n  annotations:\n"
        "    config.kubernetes.io/function: |\n      exec:\n        path: ./evil.sh\n",
    )
    write(app / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n")
    write(app / "kustomization.yaml", "resources: [cm.yaml]\ntransformers: [fn.yaml]\n")
    with pytest.raises(RenderError, match=r"apps/evil/fn\.yaml: only kustomize's builtin") as refused:
        await render(
            app, root=kustomize_repo, params=RenderParams(), tools=tools, kube_version=KUBE, api_versions=()
        )
    assert refused.value.reason == "KustomizePluginRefused"
    assert not marker.exists()
