"""Plain directory rendering, engine detection and the ``render`` entry point for plain files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from gitward.core.errors import RenderError
from gitward.render import RenderParams, RenderTools, detect_engine, render
from gitward.render.params import DirectoryParams, RenderSettings
from gitward.render.plain import render_plain, selected_files

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"
NO_TOOLS = RenderTools(
    kustomize=Path("/nonexistent/kustomize"),
    helm=Path("/nonexistent/helm"),
    jsonnet=Path("/nonexistent/jsonnet"),
    timeout=5,
)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def names(directory: Path, root: Path, params: DirectoryParams | None = None) -> list[str]:
    manifests = render_plain(directory, root=root, params=params or DirectoryParams())
    return [m["metadata"]["name"] for m in manifests]


def test_files_sorted_by_path_multi_document_lists_json(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", (CM % "b1") + "---\n" + (CM % "b2") + "---\n")
    write(
        tmp_path / "a.json",
        orjson.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "j1"}},
                    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "j2"}},
                ],
            }
        ).decode(),
    )
    write(tmp_path / "sub" / "c.yml", CM % "c")
    write(tmp_path / "a" / "z.yaml", CM % "az")
    write(tmp_path / "README.md", "not yaml: [")
    write(tmp_path / ".github" / "workflow.yaml", "on: push\n")
    assert names(tmp_path, tmp_path) == ["j1", "j2", "az", "b1", "b2", "c"]


def test_recurse_off_and_include_exclude(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", CM % "a")
    write(tmp_path / "skip.yaml", CM % "skip")
    write(tmp_path / "sub" / "b.yaml", CM % "b")
    assert names(tmp_path, tmp_path, DirectoryParams(recurse=False)) == ["a", "skip"]
    assert names(tmp_path, tmp_path, DirectoryParams(include=("sub/*",))) == ["b"]
    assert names(tmp_path, tmp_path, DirectoryParams(exclude=("skip.yaml",))) == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("kind: ConfigMap\nmetadata: {name: x}\n", "document 1 \\(ConfigMap\\): missing apiVersion"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "document 1: missing kind"),
        ("apiVersion: v1\nkind: ConfigMap\n", "missing metadata"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {}}\n", "missing metadata.name"),
        ("- a\n- b\n", "expected a mapping"),
        ("a: [\n", "invalid YAML"),
    ],
)
def test_errors_name_the_file_relative_to_the_repository(tmp_path: Path, text: str, problem: str) -> None:
    write(tmp_path / "apps" / "web" / "bad.yaml", text)
    with pytest.raises(RenderError, match=f"apps/web/bad.yaml: .*{problem}"):
        names(tmp_path / "apps" / "web", tmp_path)


def test_generate_name_is_accepted(tmp_path: Path) -> None:
    write(tmp_path / "job.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: hook-}\n")
    assert len(render_plain(tmp_path, root=tmp_path, params=DirectoryParams())) == 1


def test_oversized_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "big.yaml", CM % ("x" * 200))
    real_open = open

    def guarded(file: object, *args: object, **kwargs: object) -> object:
        assert not str(file).endswith("big.yaml"), "oversized file was opened"
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", guarded)
    with pytest.raises(RenderError, match=r"big\.yaml: file is larger than 100 bytes"):
        render_plain(
            tmp_path, root=tmp_path, params=DirectoryParams(), settings=RenderSettings(max_file_bytes=100)
        )


def test_detection(tmp_path: Path) -> None:
    assert detect_engine(tmp_path) == "plain"
    write(tmp_path / "Chart.yaml", "name: x\n")
    assert detect_engine(tmp_path) == "helm"
    for name in ("Kustomization", "kustomization.yml", "kustomization.yaml"):
        write(tmp_path / name, "resources: []\n")
        assert detect_engine(tmp_path) == "kustomize"
        (tmp_path / name).unlink()
    assert detect_engine(tmp_path, hint="plain") == "plain"
    with pytest.raises(RenderError, match="unknown render engine"):
        detect_engine(tmp_path, hint="jsonnet")


async def test_render_digest_and_substitution(tmp_path: Path) -> None:
    write(tmp_path / "apps" / "web" / "cm.yaml", CM % "'web-${CLUSTER}'" + "data: {mode: 0644, b: yes}\n")
    params = RenderParams(substitute={"CLUSTER": "prod"})
    result = await render(
        tmp_path / "apps" / "web",
        root=tmp_path,
        params=params,
        tools=NO_TOOLS,
        kube_version="v1.36.3",
        api_versions=(),
    )
    expected = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-prod"},
            "data": {"mode": 420, "b": True},
        }
    ]
    assert result.engine == "plain"
    assert list(result.manifests) == expected
    canonical = orjson.dumps(expected, option=orjson.OPT_SORT_KEYS)
    assert result.digest == hashlib.sha256(canonical).hexdigest()


@pytest.mark.parametrize("path", ["../elsewhere", "/etc", "apps/../../x"])
async def test_render_refuses_directories_outside_the_root(tmp_path: Path, path: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(RenderError, match=r"escapes repository|must be relative"):
        await render(
            Path(path), root=root, params=RenderParams(), tools=NO_TOOLS, kube_version="", api_versions=()
        )


async def test_render_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="path not found in repository: gone"):
        await render(
            tmp_path / "gone",
            root=tmp_path,
            params=RenderParams(),
            tools=NO_TOOLS,
            kube_version="",
            api_versions=(),
        )


# -- folders of languages gitward does not render ------------------------------------------------------


async def _render(
    directory: Path, root: Path, params: DirectoryParams | None = None
) -> list[dict[str, object]]:
    result = await render(
        directory,
        root=root,
        params=RenderParams(directory=params or DirectoryParams()),
        tools=NO_TOOLS,
        kube_version="v1.36.3",
        api_versions=(),
    )
    return list(result.manifests)


async def test_a_jsonnet_folder_needs_the_jsonnet_program_and_says_how_to_get_it(tmp_path: Path) -> None:
    write(tmp_path / "apps" / "x" / "main.jsonnet", "{ apiVersion: 'v1', kind: 'ConfigMap' }\n")
    write(tmp_path / "apps" / "x" / "README.md", "how to run it\n")
    with pytest.raises(RenderError) as raised:
        await _render(tmp_path / "apps" / "x", tmp_path)
    assert raised.value.reason == "RenderToolMissing"
    assert "jsonnet could not be started: /nonexistent/jsonnet" in str(raised.value)
    assert "set GITWARD_JSONNET to its path" in str(raised.value)


def test_jsonnet_bundler_files_and_libraries_are_never_manifests(tmp_path: Path) -> None:
    write(tmp_path / "jsonnetfile.json", '{"version": 1, "dependencies": []}\n')
    write(tmp_path / "jsonnetfile.lock.json", '{"version": 1, "dependencies": []}\n')
    for i in range(3):
        write(tmp_path / "lib" / f"l{i}.libsonnet", "{}\n")
    write(tmp_path / "cm.yaml", CM % "cm")
    assert names(tmp_path, tmp_path) == ["cm"]
    chosen = selected_files(tmp_path, root=tmp_path, params=DirectoryParams())
    assert [file.relative for file in chosen] == ["cm.yaml"]


def test_cue_and_typescript_are_named_together(tmp_path: Path) -> None:
    write(tmp_path / "app" / "deploy.cue", "package app\n")
    write(tmp_path / "app" / "main.ts", "export {}\n")
    with pytest.raises(
        RenderError,
        match=r"holds only CUE and TypeScript files \(deploy.cue, main.ts\); "
        r"gitward does not render CUE or TypeScript",
    ):
        render_plain(tmp_path / "app", root=tmp_path, params=DirectoryParams())


def test_jsonnet_files_are_selected_with_the_manifests_by_the_same_rules(tmp_path: Path) -> None:
    write(tmp_path / "main.jsonnet", "{}\n")
    write(tmp_path / "lib.libsonnet", "{}\n")
    write(tmp_path / "jsonnetfile.json", '{"version": 1}\n')
    write(tmp_path / "cm.yaml", CM % "cm")
    write(tmp_path / "sub" / "other.jsonnet", "{}\n")

    def chosen(params: DirectoryParams) -> list[str]:
        return [file.relative for file in selected_files(tmp_path, root=tmp_path, params=params)]

    assert chosen(DirectoryParams()) == ["cm.yaml", "main.jsonnet", "sub/other.jsonnet"]
    assert chosen(DirectoryParams(recurse=False)) == ["cm.yaml", "main.jsonnet"]
    assert chosen(DirectoryParams(include=("*.jsonnet",))) == ["main.jsonnet", "sub/other.jsonnet"]
    assert chosen(DirectoryParams(exclude=("sub/*",))) == ["cm.yaml", "main.jsonnet"]
    assert names(tmp_path, tmp_path, DirectoryParams(exclude=("*.jsonnet",))) == ["cm"]
    # a folder with nothing at all, or only other files, still renders to nothing
    empty = tmp_path / "docs"
    write(empty / "README.md", "docs only\n")
    assert names(empty, tmp_path) == []


def test_a_recurse_off_folder_looks_only_at_its_own_files(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", CM % "a")
    write(tmp_path / "sub" / "main.jsonnet", "{}\n")
    assert names(tmp_path, tmp_path, DirectoryParams(recurse=False)) == ["a"]
    write(tmp_path / "only" / "main.cue", "package x\n")
    write(tmp_path / "only" / "deeper" / "cm.yaml", CM % "deep")
    with pytest.raises(RenderError, match="folder only holds only CUE files"):
        render_plain(tmp_path / "only", root=tmp_path, params=DirectoryParams(recurse=False))
