"""Helm chart dependencies: never fetched, and a ``file://`` one may not point outside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.core.errors import RenderError
from gitward.render import RenderParams, RenderTools, render


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


TEMPLATE = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Chart.Name }}}\n"


def chart(folder: Path, name: str, extra: str = "") -> None:
    write(folder / "Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n{extra}")
    write(folder / "templates" / "cm.yaml", TEMPLATE)


async def render_chart(repo: Path, tools: RenderTools) -> list[str]:
    result = await render(
        repo / "charts" / "web",
        root=repo,
        params=RenderParams(),
        tools=tools,
        kube_version="",
        api_versions=(),
    )
    return sorted(manifest["metadata"]["name"] for manifest in result.manifests)


@pytest.mark.parametrize(
    ("where", "text", "reason"),
    [
        (
            "Chart.yaml",
            "dependencies: [{name: lib, version: 0.1.0, repository: 'file://../../../outside'}]",
            "PathEscapesRepository",
        ),
        (
            "Chart.yaml",
            "dependencies: [{name: lib, version: 0.1.0, repository: 'file:///etc'}]",
            "PathEscapesRepository",
        ),
        (
            "Chart.yaml",
            "Dependencies: [{name: lib, Repository: 'FILE://../../../outside'}]",
            "PathEscapesRepository",
        ),
        (
            "Chart.yaml",
            "dependencies: [{name: lib, repository: 'file://../link'}]",
            "SymlinkEscapesRepository",
        ),
        (
            "requirements.yaml",
            "dependencies: [{name: lib, repository: 'file://../../../outside'}]",
            "PathEscapesRepository",
        ),
        (
            "charts/sub/Chart.yaml",
            "dependencies: [{name: lib, repository: 'file://../../../../../outside'}]",
            "PathEscapesRepository",
        ),
    ],
)
async def test_a_file_dependency_outside_the_checkout_is_refused_before_helm_runs(
    tmp_path: Path, tools: RenderTools, where: str, text: str, reason: str
) -> None:
    repo = tmp_path / "repo"
    chart(tmp_path / "outside", "lib")
    (repo / "charts").mkdir(parents=True)
    (repo / "charts" / "link").symlink_to(tmp_path / "outside")
    chart(repo / "charts" / "web", "web")
    chart(repo / "charts" / "web" / "charts" / "sub", "sub")
    target = repo / "charts" / "web" / where
    write(target, (target.read_text() if target.exists() else "") + text + "\n")
    with pytest.raises(RenderError) as refused:
        await render_chart(repo, tools)
    assert refused.value.reason == reason, str(refused.value)


async def test_vendored_dependencies_render_offline_whatever_their_repository(
    tmp_path: Path, tools: RenderTools
) -> None:
    repo = tmp_path / "repo"
    chart(repo / "charts" / "lib", "lib")
    dependencies = (
        "dependencies:\n"
        "  - {name: lib, version: 0.1.0, repository: 'file://../lib'}\n"
        "  - {name: remote, version: 0.1.0, repository: 'https://charts.example.com'}\n"
    )
    chart(repo / "charts" / "web", "web", dependencies)
    chart(repo / "charts" / "web" / "charts" / "lib", "lib")
    chart(repo / "charts" / "web" / "charts" / "remote", "remote")
    assert await render_chart(repo, tools) == ["lib", "remote", "web"]
