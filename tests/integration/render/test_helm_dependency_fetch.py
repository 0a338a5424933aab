"""Chart dependencies fetched by gitward from a real Helm repository and a real OCI registry, then
rendered by the real helm in the jail; and every way a dependency is refused, naming it.

The ``ChartSource`` is the engine's own (``reconcile.renderinputs.DependencyCharts``): Repository
objects decide which repositories may serve charts and with which credentials.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools.helmrepo import HelmRepoServer
from devtools.ociregistry import PASSWORD as OCI_PASSWORD
from devtools.ociregistry import USERNAME as OCI_USERNAME
from devtools.ociregistry import OciRegistry, package_chart

from gitward.core.errors import RenderError
from gitward.model import Project
from gitward.model.repository import Repository
from gitward.reconcile.renderinputs import DependencyCharts
from gitward.render import RenderCache, RenderParams, RenderTools, render, render_cached, render_inputs
from gitward.sources import GitCredentials

pytestmark = pytest.mark.integration

USER, PASSWORD = "charts", "s3cret-dependency-password"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def helm_repo(tmp_path: Path) -> Iterator[HelmRepoServer]:
    with HelmRepoServer(tmp_path / "helmrepo", username=USER, password=PASSWORD) as server:
        server.add_chart("greeter", "1.0.0")
        server.add_chart("greeter", "1.1.0")
        yield server


def repository(url: str) -> Repository:
    return Repository.model_validate(
        {"metadata": {"name": "charts"}, "spec": {"url": url, "username": USER, "passwordFile": "/unused"}}
    )


def charts(
    tmp_path: Path, *covered: str, project: Project | None = None, password: str = PASSWORD
) -> DependencyCharts:
    async def credentials(url: str) -> GitCredentials | None:
        if url.startswith("oci://"):
            return GitCredentials(username=OCI_USERNAME, password=OCI_PASSWORD)
        return GitCredentials(username=USER, password=password)

    return DependencyCharts(
        repositories=tuple(repository(url) for url in covered),
        project=project,
        credentials=credentials,
        dest=tmp_path / "chart-cache",
    )


def web_chart(repo: Path, dependencies: str, *, lock: str | None = None) -> Path:
    chart = repo / "charts" / "web"
    write(chart / "Chart.yaml", f"apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n{dependencies}")
    write(chart / "templates" / "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n")
    if lock is not None:
        write(chart / "Chart.lock", lock)
    return chart


async def render_chart(chart: Path, repo: Path, tools: RenderTools, source: Any) -> dict[str, Any]:
    result = await render(
        chart,
        root=repo,
        params=RenderParams(),
        tools=tools,
        kube_version="v1.36.3",
        api_versions=(),
        charts=source,
    )
    return {m["metadata"]["name"]: m.get("data") for m in result.manifests}


async def test_a_dependency_from_a_helm_repository_renders_with_it(
    tmp_path: Path, tools: RenderTools, helm_repo: HelmRepoServer
) -> None:
    repo = tmp_path / "repo"
    chart = web_chart(repo, f"  - {{name: greeter, version: '^1.0.0', repository: '{helm_repo.url}'}}\n")
    rendered = await render_chart(chart, repo, tools, charts(tmp_path, helm_repo.url))
    assert rendered["web"] is None
    assert rendered["web-config"] == {"greeting": "hello", "chartVersion": "1.1.0"}
    assert not (chart / "charts").exists()  # the checkout is never written
    assert render_inputs(chart, root=repo, params=RenderParams()).paths == ("charts/web",)


async def test_the_lock_file_pins_the_version(
    tmp_path: Path, tools: RenderTools, helm_repo: HelmRepoServer
) -> None:
    repo = tmp_path / "repo"
    dependency = f"  - {{name: greeter, version: '^1.0.0', repository: '{helm_repo.url}'}}\n"
    lock = f"dependencies:\n- {{name: greeter, version: 1.0.0, repository: '{helm_repo.url}'}}\ndigest: x\n"
    chart = web_chart(repo, dependency, lock=lock)
    rendered = await render_chart(chart, repo, tools, charts(tmp_path, helm_repo.url))
    assert rendered["web-config"]["chartVersion"] == "1.0.0"
    write(chart / "Chart.lock", "dependencies: []\n")
    with pytest.raises(
        RenderError, match=r"Chart.lock does not list dependency 'greeter' from http://127"
    ) as stale:
        await render_chart(chart, repo, tools, charts(tmp_path, helm_repo.url))
    assert stale.value.reason == "ChartLockOutOfDate"


async def test_a_chart_whose_charts_folder_holds_its_dependencies_fetches_nothing(
    tmp_path: Path, tools: RenderTools, helm_repo: HelmRepoServer
) -> None:
    repo = tmp_path / "repo"
    chart = web_chart(repo, f"  - {{name: greeter, version: '^1.0.0', repository: '{helm_repo.url}'}}\n")
    vendored = helm_repo.charts_dir / "greeter-1.0.0.tgz"
    (chart / "charts").mkdir()
    (chart / "charts" / "greeter-1.0.0.tgz").write_bytes(vendored.read_bytes())
    before = len(helm_repo.requests)
    rendered = await render_chart(chart, repo, tools, charts(tmp_path, helm_repo.url))
    assert rendered["web-config"]["chartVersion"] == "1.0.0"
    assert len(helm_repo.requests) == before


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_dependency_is_named_without_its_credentials(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = tmp_path / "repo"
    url = f"http://127.0.0.1:{closed_port()}/charts"
    chart = web_chart(repo, f"  - {{name: greeter, version: 1.0.0, repository: '{url}'}}\n")
    with pytest.raises(RenderError) as failed:
        await render_chart(chart, repo, tools, charts(tmp_path, url))
    message = str(failed.value)
    assert message.startswith(f"chart dependency 'greeter' 1.0.0 from {url} could not be fetched: ")
    assert failed.value.reason == "ChartDependencyUnavailable"
    assert PASSWORD not in message


@pytest.mark.parametrize(
    ("version", "fragment"),
    [("9.9.9", "no version of chart 'greeter'"), ("1.0.0", "HTTP 401"), (None, "not found")],
)
async def test_a_dependency_the_repository_does_not_serve_is_named(
    tmp_path: Path, tools: RenderTools, helm_repo: HelmRepoServer, version: str | None, fragment: str
) -> None:
    repo = tmp_path / "repo"
    name = "greeter" if version is not None else "absent"
    chart = web_chart(
        repo, f"  - {{name: {name}, version: '{version or '1.0.0'}', repository: '{helm_repo.url}'}}\n"
    )
    source = charts(tmp_path, helm_repo.url, password="wrong-0451" if "401" in fragment else PASSWORD)
    with pytest.raises(
        RenderError, match=rf"^chart dependency '{name}' .* could not be fetched: .*{fragment}"
    ) as failed:
        await render_chart(chart, repo, tools, source)
    assert "wrong-0451" not in str(failed.value)


async def test_a_repository_no_repository_object_covers_is_refused(
    tmp_path: Path, tools: RenderTools, helm_repo: HelmRepoServer
) -> None:
    repo = tmp_path / "repo"
    chart = web_chart(repo, f"  - {{name: greeter, version: 1.0.0, repository: '{helm_repo.url}'}}\n")
    with pytest.raises(RenderError, match=r"no Repository object covers http://127\.0\.0\.1") as refused:
        await render_chart(chart, repo, tools, charts(tmp_path, "https://charts.example.com/"))
    assert "chart dependency 'greeter'" in str(refused.value)
    assert helm_repo.requests == [] or all("greeter" not in r for r in helm_repo.requests)
    project = Project.model_validate(
        {"metadata": {"name": "team"}, "spec": {"sourceRepos": ["https://git.example.com/*"]}}
    )
    with pytest.raises(RenderError, match="is not permitted in project 'team'"):
        await render_chart(chart, repo, tools, charts(tmp_path, helm_repo.url, project=project))


@pytest.mark.parametrize(
    ("dependency", "fragment"),
    [
        ("{name: lib, version: 1.0.0}", "names no repository and charts/ does not hold it"),
        (
            "{name: lib, version: 1.0.0, repository: '@stable'}",
            r"names a repository by alias \(@stable\); write its URL",
        ),
        ("{name: lib, version: 1.0.0, repository: 'git://host/x'}", "is not an https, http, oci or file URL"),
    ],
)
async def test_dependencies_gitward_cannot_place_are_refused(
    tmp_path: Path, tools: RenderTools, dependency: str, fragment: str
) -> None:
    repo = tmp_path / "repo"
    chart = web_chart(repo, f"  - {dependency}\n")
    with pytest.raises(RenderError, match=f"^dependency 'lib'(: repository git://host/x)? {fragment}"):
        await render_chart(chart, repo, tools, charts(tmp_path))


async def test_without_a_chart_source_a_missing_dependency_is_refused(
    tmp_path: Path, tools: RenderTools, helm_repo: HelmRepoServer
) -> None:
    repo = tmp_path / "repo"
    chart = web_chart(repo, f"  - {{name: greeter, version: 1.0.0, repository: '{helm_repo.url}'}}\n")
    with pytest.raises(RenderError, match="is not in charts/ and this render fetches nothing"):
        await render_chart(chart, repo, tools, None)


async def test_a_file_dependency_is_copied_from_the_checkout(tmp_path: Path, tools: RenderTools) -> None:
    repo = tmp_path / "repo"
    write(repo / "charts" / "lib" / "Chart.yaml", "apiVersion: v2\nname: lib\nversion: 0.2.0\n")
    write(
        repo / "charts" / "lib" / "templates" / "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lib}\n",
    )
    chart = web_chart(repo, "  - {name: lib, version: 0.2.0, repository: 'file://../lib'}\n")
    rendered = await render_chart(chart, repo, tools, None)
    assert set(rendered) == {"web", "lib"}
    assert render_inputs(chart, root=repo, params=RenderParams()).paths == ("charts/web", "charts/lib")


async def test_a_dependency_from_an_oci_registry_renders_with_it(
    tmp_path: Path, tools: RenderTools, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("dependency-registry")
    with OciRegistry(folder / "registry", auth="htpasswd") as registry:
        registry.push_chart(package_chart(folder, "greeter", "2.0.0"))
        repo = tmp_path / "repo"
        url = registry.url("charts")
        chart = web_chart(repo, f"  - {{name: greeter, version: '~2.0', repository: '{url}'}}\n")
        rendered = await render_chart(chart, repo, tools, charts(tmp_path, f"oci://{registry.host}/"))
    assert rendered["web-config"]["chartVersion"] == "2.0.0"


async def test_a_newer_chart_in_the_range_renders_again_despite_the_cache(
    tmp_path: Path, tools: RenderTools, helm_repo: HelmRepoServer
) -> None:
    repo = tmp_path / "repo"
    chart = web_chart(repo, f"  - {{name: greeter, version: '^1.0.0', repository: '{helm_repo.url}'}}\n")
    cache = RenderCache()

    async def cached() -> str:
        result = await render_cached(
            chart,
            root=repo,
            tree="same-tree",
            params=RenderParams(),
            tools=tools,
            kube_version="v1.36.3",
            api_versions=(),
            cache=cache,
            charts=charts(tmp_path, helm_repo.url),
        )
        (config,) = [m for m in result.manifests if m["metadata"]["name"] == "web-config"]
        return str(config["data"]["chartVersion"])

    assert await cached() == "1.1.0"
    assert await cached() == "1.1.0"
    assert (cache.hits, cache.misses) == (1, 1)
    helm_repo.add_chart("greeter", "1.2.0")
    assert await cached() == "1.2.0"
    assert cache.misses == 2
