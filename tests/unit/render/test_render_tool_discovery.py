"""Finding helm and kustomize: the variable, PATH, then gitward's own folder; versions and hints."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gitward.core.errors import RenderError
from gitward.render import RenderParams, RenderTools, render
from gitward.render.tools import (
    HELM,
    KUSTOMIZE,
    check_renderer,
    executable_dirs,
    find_tool,
    install_hint,
    parse_version,
)


def _program(folder: Path, name: str, body: str = "exit 0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_variable_wins_then_path_then_the_own_folder(tmp_path: Path) -> None:
    on_path = _program(tmp_path / "path", "helm")
    own = _program(tmp_path / "own", "helm")
    given = tmp_path / "given" / "helm"
    env = {"PATH": str(tmp_path / "path"), "GITWARD_HELM": str(given)}
    assert find_tool("helm", environ=env, folders=[own.parent]) == given  # as given, even if absent
    del env["GITWARD_HELM"]
    assert find_tool("helm", environ=env, folders=[own.parent]) == on_path
    env["PATH"] = str(tmp_path / "empty")
    assert find_tool("helm", environ=env, folders=[own.parent]) == own
    assert find_tool("helm", environ=env, folders=[tmp_path / "nowhere"]) is None


def test_a_file_that_cannot_run_in_the_own_folder_is_not_taken(tmp_path: Path) -> None:
    (tmp_path / "kustomize").write_text("not a program")
    assert find_tool("kustomize", environ={"PATH": ""}, folders=[tmp_path]) is None


def test_own_folders_are_the_started_programs_and_the_interpreters(tmp_path: Path) -> None:
    real = _program(tmp_path / "venv" / "bin", "gitward")
    link = tmp_path / "links" / "gitward"
    link.parent.mkdir()
    link.symlink_to(real)
    python = tmp_path / "venv2" / "bin" / "python"
    found = executable_dirs(argv0=str(link), executable=str(python))
    assert found == [link.parent, real.parent, python.parent]
    assert executable_dirs(argv0="gitward", executable="") == []  # a bare name says nothing of a folder


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("v3.22.0+gabc1234", (3, 22, 0)),
        ("v5.8.1", (5, 8, 1)),
        ("{Version:kustomize/v4.5.7 GitCommit:56d82a8}", (4, 5, 7)),
        ("v4.0", (4, 0, 0)),
        ("(devel)", None),
    ],
)
def test_versions_are_read_from_what_the_tools_print(text: str, version: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == version


def test_a_supported_version_is_found_and_in_range(tmp_path: Path) -> None:
    _program(tmp_path, "helm", 'echo "v3.22.0+g1a2b3c4"')
    check = check_renderer(HELM, environ={"PATH": str(tmp_path)}, folders=[])
    assert check.found
    assert check.version == "v3.22.0+g1a2b3c4"
    assert check.in_range is True
    assert "renderer helm v3.22.0+g1a2b3c4 found at" in check.describe()


def test_a_version_outside_the_range_is_said(tmp_path: Path) -> None:
    _program(tmp_path, "kustomize", 'echo "v4.5.7"')
    check = check_renderer(KUSTOMIZE, environ={"PATH": str(tmp_path)}, folders=[])
    assert check.found
    assert check.in_range is False
    assert f"outside the supported range {KUSTOMIZE.supported}" in check.describe()


def test_a_tool_that_fails_its_version_command_cannot_be_used(tmp_path: Path) -> None:
    _program(tmp_path, "helm", 'echo "broken install" >&2; exit 3')
    check = check_renderer(HELM, environ={"PATH": str(tmp_path)}, folders=[])
    assert not check.found
    assert "failed (exit 3): broken install" in check.describe()


def test_a_missing_renderer_says_where_it_looked_and_how_to_install(tmp_path: Path) -> None:
    check = check_renderer(HELM, environ={"PATH": str(tmp_path)}, folders=[])
    assert not check.found
    described = check.describe()
    assert described.startswith("renderer helm missing: GITWARD_HELM is not set")
    assert install_hint("helm") in described
    assert HELM.supported in install_hint("helm")
    assert "https://helm.sh/" in install_hint("helm")
    assert install_hint("bwrap") == ""


@pytest.mark.parametrize(
    ("files", "tool"),
    [
        (
            {
                "Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n",
                "templates/cm.yaml": "kind: ConfigMap\n",
            },
            "helm",
        ),
        ({"kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": "kind: ConfigMap\n"}, "kustomize"),
    ],
)
async def test_an_app_that_needs_a_missing_tool_fails_with_the_install_hint(
    tmp_path: Path, files: dict[str, str], tool: str
) -> None:
    root = tmp_path / "repo"
    for name, text in files.items():
        (root / "app" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "app" / name).write_text(text)
    tools = RenderTools(kustomize=Path("kustomize-not-here"), helm=Path("helm-not-here"), timeout=5)
    with pytest.raises(RenderError) as caught:
        await render(
            root / "app",
            root=root,
            params=RenderParams(),
            tools=tools,
            kube_version="v1.36.3",
            api_versions=(),
        )
    assert caught.value.reason == "RenderToolMissing"
    assert install_hint(tool) in caught.value.message
