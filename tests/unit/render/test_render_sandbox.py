"""The sandbox: every symlink case and every ``..``/absolute path is refused; targets never read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitward.core.errors import RenderError
from gitward.render import RenderInputs, RenderParams, RenderTools, render_inputs
from gitward.render.params import DirectoryParams, RenderSettings
from gitward.render.plain import render_plain
from gitward.render.renderers import checked_directory
from gitward.render.renderers import render as render_entry
from gitward.render.sandbox import copy_tree, safe_join, walk_files

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"
NO_TOOLS = RenderTools(kustomize=Path("/nonexistent/kustomize"), helm=Path("/nonexistent/helm"), timeout=5)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """A checkout ``repo`` with ``apps/web``, and a secret file outside it."""
    repo = tmp_path / "repo"
    app = repo / "apps" / "web"
    app.mkdir(parents=True)
    (app / "cm.yaml").write_text(CONFIGMAP % "web")
    (repo / "shared").mkdir()
    (repo / "shared" / "extra.yaml").write_text(CONFIGMAP % "extra")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(CONFIGMAP % "stolen")
    return repo, app


def render(app: Path, repo: Path) -> list[str]:
    manifests = render_plain(app, root=repo, params=DirectoryParams())
    return [manifest["metadata"]["name"] for manifest in manifests]


async def render_app(app: Path, repo: Path) -> list[str]:
    """Through the entry point, which resolves root and folder once and hands them down resolved."""
    result = await render_entry(
        app, root=repo, params=RenderParams(), tools=NO_TOOLS, kube_version="", api_versions=()
    )
    return [manifest["metadata"]["name"] for manifest in result.manifests]


@pytest.mark.parametrize(
    "make_link",
    [
        pytest.param(lambda app, repo, out: os.symlink(out / "secret.yaml", app / "x.yaml"), id="absolute"),
        pytest.param(
            lambda app, repo, out: os.symlink("../../../outside/secret.yaml", app / "x.yaml"), id="dotdot"
        ),
        pytest.param(lambda app, repo, out: os.symlink(out, app / "dir"), id="to-directory"),
        pytest.param(lambda app, repo, out: os.symlink(app / "missing.yaml", app / "x.yaml"), id="dangling"),
        pytest.param(
            lambda app, repo, out: (
                os.symlink(out / "secret.yaml", repo / "hop.yaml"),
                os.symlink("../../hop.yaml", app / "x.yaml"),
            ),
            id="chained",
        ),
    ],
)
def test_escaping_symlinks_are_refused_and_never_read(
    layout: tuple[Path, Path], make_link: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, app = layout
    outside = repo.parent / "outside"
    make_link(app, repo, outside)  # type: ignore[operator]
    opened: list[str] = []
    real_open = open

    def spy(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", spy)
    with pytest.raises(RenderError, match=r"symlink escapes repository: apps/web/(x\.yaml|dir)"):
        render(app, repo)
    assert not any("outside" in path for path in opened)


def test_symlinks_inside_the_repository_are_followed(layout: tuple[Path, Path]) -> None:
    repo, app = layout
    os.symlink("../../shared/extra.yaml", app / "extra.yaml")
    os.symlink(repo / "shared", app / "shared")
    assert render(app, repo) == ["web", "extra", "extra"]


def test_symlink_loop_is_refused(layout: tuple[Path, Path]) -> None:
    repo, app = layout
    os.symlink("..", app / "loop")
    with pytest.raises(RenderError, match="symlink loop"):
        render(app, repo)


@pytest.mark.parametrize("path", ["../outside", "apps/../../outside", "/etc", "~root", "apps/web/../../.."])
def test_safe_join_refuses_paths_out_of_the_root(layout: tuple[Path, Path], path: str) -> None:
    repo, _ = layout
    with pytest.raises(RenderError, match=r"escapes repository|must be relative"):
        safe_join(repo, path)


def test_safe_join_accepts_inner_dotdot_and_refuses_a_linked_escape(layout: tuple[Path, Path]) -> None:
    repo, _ = layout
    assert safe_join(repo, "apps/web/../../shared") == (repo / "shared").resolve()
    assert safe_join(repo, "") == repo.resolve()
    assert safe_join(repo, "apps/missing/x.yaml") == repo.resolve() / "apps" / "missing" / "x.yaml"
    os.symlink("../shared", repo / "apps" / "inner")
    assert safe_join(repo, "apps/inner/extra.yaml") == (repo / "shared" / "extra.yaml").resolve()
    os.symlink(repo.parent / "outside", repo / "link")
    with pytest.raises(RenderError, match=r"symlink escapes repository: link/secret\.yaml"):
        safe_join(repo, "link/secret.yaml")


async def test_render_entry_point_refuses_a_linked_folder_or_file_that_leaves_the_root(
    layout: tuple[Path, Path],
) -> None:
    repo, app = layout
    os.symlink(repo.parent / "outside", repo / "apps" / "out")
    with pytest.raises(RenderError, match=r"symlink escapes repository: apps/out$") as folder:
        await render_app(repo / "apps" / "out", repo)
    assert folder.value.reason == "SymlinkEscapesRepository"
    with pytest.raises(RenderError, match=r"symlink escapes repository: apps/out$"):
        render_inputs(repo / "apps" / "out", root=repo, params=RenderParams())
    os.symlink("../../../outside/secret.yaml", app / "x.yaml")
    with pytest.raises(RenderError, match=r"symlink escapes repository: apps/web/x\.yaml"):
        await render_app(app, repo)


async def test_a_root_spelled_through_a_symlink_reads_the_real_checkout(
    layout: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, app = layout
    alias = tmp_path / "alias"
    os.symlink(repo, alias)
    os.symlink("../../shared/extra.yaml", app / "extra.yaml")
    os.symlink("../shared", repo / "apps" / "linked")
    assert await render_app(alias / "apps" / "web", alias) == ["web", "extra"]
    assert await render_app(alias / "apps" / "linked", alias) == ["extra"]
    assert checked_directory(alias / "apps" / "linked", root=alias) == (repo / "shared").resolve()
    found = render_inputs(alias / "apps" / "linked", root=alias, params=RenderParams())
    assert found == RenderInputs("plain", ("shared",))
    os.symlink(repo.parent / "outside" / "secret.yaml", app / "x.yaml")
    with pytest.raises(RenderError, match=r"symlink escapes repository: apps/web/x\.yaml"):
        await render_app(alias / "apps" / "web", alias)


def test_copy_tree_checks_links_and_skips_git(layout: tuple[Path, Path], tmp_path: Path) -> None:
    repo, app = layout
    (app / ".git").mkdir()
    (app / ".git" / "config").write_text("x")
    (app / ".helmignore").write_text("x")
    os.symlink("../../shared/extra.yaml", app / "linked.yaml")
    copied = copy_tree(app, tmp_path / "copy", root=repo)
    assert copied == 3
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == [".helmignore", "cm.yaml", "linked.yaml"]
    assert not (tmp_path / "copy" / "linked.yaml").is_symlink()
    os.symlink(repo.parent / "outside", app / "out")
    with pytest.raises(RenderError, match="symlink escapes repository: apps/web/out"):
        copy_tree(app, tmp_path / "copy2", root=repo)


def test_file_count_and_size_caps(layout: tuple[Path, Path]) -> None:
    repo, app = layout
    for index in range(5):
        (app / f"f{index}.yaml").write_text(CONFIGMAP % f"n{index}")
    with pytest.raises(RenderError, match="more than 3 files"):
        list(walk_files(app, root=repo, settings=RenderSettings(max_files=3)))
    with pytest.raises(RenderError, match="more than 100 bytes"):
        list(walk_files(app, root=repo, settings=RenderSettings(max_total_bytes=100)))
