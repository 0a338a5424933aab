"""The kustomize closure walk over every field that can name a file, a folder or a URL.

Table-driven: each placement puts one entry in one field (top-level, nested, spelled in another
case, inside an inline or file generator/transformer config, or one kustomization away through a
base or a generator folder), and each kind of entry (``..``, absolute, a symlink out, URLs of every
form, a file inside) must be refused with its reason or accepted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from gitward.core.errors import RenderError
from gitward.render.kustomize import _prepare, kustomize_closure
from gitward.render.params import KustomizeParams, RenderSettings

Kustomization = dict[str, Any]
Placement = Callable[[str], Kustomization]
TARGET = {"kind": "ConfigMap", "name": "x"}


def config(kind: str, **fields: Any) -> str:
    """An inline builtin generator/transformer config, as a YAML (JSON) string."""
    return orjson.dumps({"apiVersion": "builtin", "kind": kind, "metadata": {"name": "c"}, **fields}).decode()


FILE_PLACEMENTS: dict[str, Placement] = {
    "resources": lambda e: {"resources": [e]},
    "bases": lambda e: {"bases": [e]},
    "components": lambda e: {"components": [e]},
    "generators": lambda e: {"generators": [e]},
    "transformers": lambda e: {"transformers": [e]},
    "validators": lambda e: {"validators": [e]},
    "crds": lambda e: {"crds": [e]},
    "configurations": lambda e: {"configurations": [e]},
    "openapi.path": lambda e: {"openapi": {"path": e}},
    "patches.path": lambda e: {"patches": [{"path": e, "target": TARGET}]},
    "patchesJson6902.path": lambda e: {"patchesJson6902": [{"path": e, "target": TARGET}]},
    "patchesStrategicMerge": lambda e: {"patchesStrategicMerge": [e]},
    "replacements.path": lambda e: {"replacements": [{"path": e}]},
    "configMapGenerator.files": lambda e: {"configMapGenerator": [{"name": "c", "files": [e]}]},
    "configMapGenerator.files-key": lambda e: {"configMapGenerator": [{"name": "c", "files": [f"k={e}"]}]},
    "configMapGenerator.envs": lambda e: {"configMapGenerator": [{"name": "c", "envs": [e]}]},
    "configMapGenerator.env": lambda e: {"configMapGenerator": [{"name": "c", "env": e}]},
    "secretGenerator.files": lambda e: {"secretGenerator": [{"name": "s", "files": [e]}]},
    "secretGenerator.envs": lambda e: {"secretGenerator": [{"name": "s", "envs": [e]}]},
    "secretGenerator.env": lambda e: {"secretGenerator": [{"name": "s", "env": e}]},
    "helmCharts.valuesFile": lambda e: {"helmCharts": [{"name": "c", "valuesFile": e}]},
    "helmCharts.additionalValuesFiles": lambda e: {
        "helmCharts": [{"name": "c", "additionalValuesFiles": [e]}]
    },
    "helmChartInflationGenerator.values": lambda e: {"helmChartInflationGenerator": [{"values": e}]},
    # kustomize matches field names ignoring case, Unicode folding included
    "Generators-case": lambda e: {"Generators": [e]},
    "PATCHES.Path-case": lambda e: {"PATCHES": [{"Path": e}]},
    "resources-long-s": lambda e: {"re\u017fources": [e]},
    # builtin configs given inline under generators/transformers/validators
    "inline-ConfigMapGenerator.files": lambda e: {"generators": [config("ConfigMapGenerator", files=[e])]},
    "inline-SecretGenerator.envs": lambda e: {"generators": [config("SecretGenerator", envs=[e])]},
    "inline-PatchTransformer.path": lambda e: {"transformers": [config("PatchTransformer", path=e)]},
    "inline-PatchTransformer.PATH-case": lambda e: {"transformers": [config("PatchTransformer", PATH=e)]},
    "inline-PatchJson6902Transformer.path": lambda e: {
        "transformers": [config("PatchJson6902Transformer", path=e, target=TARGET)]
    },
    "inline-PatchStrategicMergeTransformer.paths": lambda e: {
        "transformers": [config("PatchStrategicMergeTransformer", paths=[e])]
    },
    "inline-ReplacementTransformer.path": lambda e: {
        "validators": [config("ReplacementTransformer", replacements=[{"path": e}])]
    },
    "inline-HelmChartInflationGenerator.valuesFile": lambda e: {
        "generators": [config("HelmChartInflationGenerator", valuesFile=e)]
    },
    # the same config in a file that generators names (see ``layout``: gen.yaml is written by it)
    "file-config.envs": lambda e: {
        "generators": ["gen.yaml"],
        "_gen": config("ConfigMapGenerator", envs=[e]),
    },
    # one kustomization away: the field sits in ../base or in a generator folder ../gens
    "via-base": lambda e: {
        "resources": ["../base"],
        "_base": {"configMapGenerator": [{"name": "c", "env": e}]},
    },
    "via-generator-folder": lambda e: {"generators": ["../gens"], "_gens": {"transformers": [e]}},
}
FOLDER_PLACEMENTS: dict[str, Placement] = {
    "helmGlobals.chartHome": lambda e: {"helmGlobals": {"chartHome": e}},
    "helmGlobals.configHome": lambda e: {"helmGlobals": {"configHome": e}},
    "helmChartInflationGenerator.chartHome": lambda e: {"helmChartInflationGenerator": [{"chartHome": e}]},
    "helmChartInflationGenerator.helmHome": lambda e: {"helmChartInflationGenerator": [{"helmHome": e}]},
    "inline-HelmChartInflationGenerator.chartHome": lambda e: {
        "generators": [config("HelmChartInflationGenerator", chartHome=e)]
    },
}
REMOTE_ENTRIES = [
    "https://example.com/org/x.yaml",
    "HTTP://EXAMPLE.COM/x.yaml",
    "git::https://example.com/org/repo//x",
    "ssh://git@example.com/org/repo.git//x",
    "GitHub.com/org/repo//x",
    "deploy@git.example.com:org/repo.git//x",
    "deploy@git.example.com/org/repo.git//x",
    "file:///srv/repo.git//x",
]
INSIDE_CONFIG = "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {a: b}\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def layout(tmp_path: Path, kustomization: Kustomization) -> tuple[Path, Path]:
    """``repo/app`` with ``kustomization`` (its ``_base``/``_gens``/``_gen`` parts written where they
    belong), a file and a folder inside, a symlink ``link`` out of each folder, and ``outside``."""
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    write(outside / "x.yaml", INSIDE_CONFIG)
    write(outside / "kustomization.yaml", "resources: [x.yaml]\n")
    for folder, key in (("app", None), ("base", "_base"), ("gens", "_gens")):
        content = kustomization if key is None else kustomization.get(key, {})
        shown = {name: value for name, value in content.items() if not name.startswith("_")}
        write(repo / folder / "kustomization.yaml", orjson.dumps(shown).decode())
        write(repo / folder / "inside.yaml", INSIDE_CONFIG)
        (repo / folder / "charts").mkdir()
        os.symlink(outside, repo / folder / "link")
    if "_gen" in kustomization:
        write(repo / "app" / "gen.yaml", kustomization["_gen"])
    return repo, repo / "app"


def escape_entries(tmp_path: Path, name: str) -> list[tuple[str, str]]:
    """(entry, reason) for every way out: ``..``, absolute, a symlink, and every remote form."""
    return [
        (f"../../outside/{name}", "PathEscapesRepository"),
        (str(tmp_path / "outside" / name), "PathEscapesRepository"),
        (f"link/{name}" if name else "link", "SymlinkEscapesRepository"),
        *((entry, "RemoteBaseRefused") for entry in REMOTE_ENTRIES),
    ]


@pytest.mark.parametrize("placement", FILE_PLACEMENTS, ids=list(FILE_PLACEMENTS))
def test_every_file_field_refuses_every_way_out(tmp_path: Path, placement: str) -> None:
    for index, (entry, reason) in enumerate(escape_entries(tmp_path, "x.yaml")):
        repo, app = layout(tmp_path / str(index), FILE_PLACEMENTS[placement](entry))
        with pytest.raises(RenderError) as refused:
            kustomize_closure(app, root=repo)
        assert refused.value.reason == reason, (entry, str(refused.value))


@pytest.mark.parametrize("placement", FOLDER_PLACEMENTS, ids=list(FOLDER_PLACEMENTS))
def test_every_folder_field_refuses_every_way_out(tmp_path: Path, placement: str) -> None:
    for index, (entry, reason) in enumerate(escape_entries(tmp_path, "")):
        repo, app = layout(tmp_path / str(index), FOLDER_PLACEMENTS[placement](entry))
        with pytest.raises(RenderError) as refused:
            kustomize_closure(app, root=repo)
        assert refused.value.reason == reason, (entry, str(refused.value))


@pytest.mark.parametrize("placement", [*FILE_PLACEMENTS, *FOLDER_PLACEMENTS])
def test_every_field_accepts_a_name_inside_and_remote_ones_when_allowed(
    tmp_path: Path, placement: str
) -> None:
    is_file = placement in FILE_PLACEMENTS
    make = FILE_PLACEMENTS[placement] if is_file else FOLDER_PLACEMENTS[placement]
    repo, app = layout(tmp_path / "inside", make("inside.yaml" if is_file else "charts"))
    assert kustomize_closure(app, root=repo)[0] == app.resolve()
    allowed = RenderSettings(allow_remote_bases=True)
    for index, entry in enumerate(REMOTE_ENTRIES):
        repo, app = layout(tmp_path / str(index), make(entry))
        assert kustomize_closure(app, root=repo, settings=allowed)[0] == app.resolve()


@pytest.mark.parametrize(
    "kustomization",
    [
        {"helmCharts": [{"name": "c", "repo": "https://charts.example.com"}]},
        {"helmCharts": [{"name": "c", "repo": "oci://registry.example.com/charts"}]},
        {"helmChartInflationGenerator": [{"chartName": "c", "chartRepoUrl": "https://charts.example.com"}]},
        {"generators": [config("HelmChartInflationGenerator", name="c", repo="https://charts.example.com")]},
    ],
)
def test_chart_repositories_are_remote_whatever_their_form(
    tmp_path: Path, kustomization: Kustomization
) -> None:
    repo, app = layout(tmp_path, kustomization)
    with pytest.raises(RenderError, match="remote kustomize reference refused") as refused:
        kustomize_closure(app, root=repo)
    assert refused.value.reason == "RemoteBaseRefused"


@pytest.mark.parametrize(
    ("kustomization", "message"),
    [
        ({"resources": ["missing.yaml"]}, "resources: not found in the repository: missing.yaml"),
        ({"patches": [{"path": "charts"}]}, r"patches\[0\]\.path: is a folder, not a file: charts"),
        ({"configMapGenerator": [{"name": "c", "files": ["k=missing.txt"]}]}, "not found"),
        ({"resources": [""]}, "an empty entry names nothing"),
        ({"resources": "inside.yaml"}, "resources must be a list of strings"),
        ({"patches": {"path": "inside.yaml"}}, "patches must be a list of mappings"),
        ({"openapi": {"path": ["inside.yaml"]}}, "openapi.path must be a string"),
        ({"patchesStrategicMerge": ["a\nb"]}, "neither a path nor inline YAML objects"),
    ],
)
def test_malformed_or_missing_entries_are_render_errors(
    tmp_path: Path, kustomization: Kustomization, message: str
) -> None:
    repo, app = layout(tmp_path, kustomization)
    with pytest.raises(RenderError, match=message):
        kustomize_closure(app, root=repo)


@pytest.mark.parametrize(
    ("kustomization", "field"),
    [
        ({"generatorz": ["../../outside"]}, "generatorz"),
        ({"futureField": {"path": "x"}}, "futureField"),
        ({"patches": [{"path": "inside.yaml", "paths": ["../../outside/x.yaml"]}]}, r"patches\[0\]\.paths"),
        ({"configMapGenerator": [{"name": "c", "sources": ["x"]}]}, r"configMapGenerator\[0\]\.sources"),
    ],
)
def test_a_field_the_table_does_not_know_is_refused_by_name(
    tmp_path: Path, kustomization: Kustomization, field: str
) -> None:
    repo, app = layout(tmp_path, kustomization)
    with pytest.raises(RenderError, match=f"unknown kustomization field {field}") as refused:
        kustomize_closure(app, root=repo)
    assert refused.value.reason == "UnknownKustomizationField"


@pytest.mark.parametrize(
    "kustomization",
    [
        {"generators": ["apiVersion: example.com/v1\nkind: MyGenerator\nmetadata: {name: g}\n"]},
        {"transformers": [orjson.dumps({"apiVersion": "v1", "kind": "List", "items": []}).decode()]},
        {"transformers": [config("NoSuchBuiltin")]},
        {
            "generators": ["gen.yaml"],
            "_gen": "apiVersion: fn.example.com/v1\nkind: Fn\nmetadata: {name: f}\n",
        },
        {"helmChartInflationGenerator": [{"chartName": "c", "helmBin": "/bin/sh"}]},
    ],
)
def test_plugins_and_programs_are_refused_before_kustomize_runs(
    tmp_path: Path, kustomization: Kustomization
) -> None:
    repo, app = layout(tmp_path, kustomization)
    with pytest.raises(RenderError) as refused:
        kustomize_closure(app, root=repo)
    assert refused.value.reason == "KustomizePluginRefused"


def test_yaml_merge_keys_cannot_hide_a_field(tmp_path: Path) -> None:
    repo, app = layout(tmp_path, {})
    write(
        app / "kustomization.yaml",
        "helmCharts: [{name: x, valuesInline: &hidden {generators: [../../outside]}}]\n<<: *hidden\n",
    )
    with pytest.raises(RenderError, match="generators: path escapes repository"):
        kustomize_closure(app, root=repo)


def test_paths_are_followed_as_kustomize_sees_them_in_the_copy(tmp_path: Path) -> None:
    """Through a symlinked folder, ``../base`` is the sibling of the link, not of its target."""
    repo, _ = layout(tmp_path, {})
    write(repo / "apps" / "prod" / "kustomization.yaml", "resources: [../web]\n")
    write(repo / "shared" / "web" / "kustomization.yaml", "resources: [../base]\n")
    write(repo / "shared" / "base" / "kustomization.yaml", "resources: []\n")
    write(repo / "apps" / "base" / "kustomization.yaml", "generators: [../../../outside]\n")
    os.symlink("../shared/web", repo / "apps" / "web")
    with pytest.raises(RenderError, match=r"^apps/base: generators: path escapes repository"):
        kustomize_closure(repo / "apps" / "prod", root=repo)


def test_a_symlink_loop_cannot_keep_the_walk_going(tmp_path: Path) -> None:
    repo, app = layout(tmp_path, {"resources": ["loop/app"]})
    os.symlink("..", app / "loop")
    with pytest.raises(RenderError, match="symlink loop: app/loop"):
        kustomize_closure(app, root=repo)


def test_closure_lists_folders_then_files_outside_them(tmp_path: Path) -> None:
    repo, app = layout(
        tmp_path,
        {
            "resources": ["../base", "inside.yaml"],
            "configMapGenerator": [{"name": "c", "files": ["k=../shared/x.txt"]}],
        },
    )
    write(repo / "shared" / "x.txt", "x")
    root = repo.resolve()
    assert kustomize_closure(app, root=repo) == [root / "app", root / "base", root / "shared" / "x.txt"]


def test_the_copy_holds_every_folder_and_file_the_closure_names(tmp_path: Path) -> None:
    repo, app = layout(tmp_path, {"configMapGenerator": [{"name": "c", "files": ["k=../shared/x.txt"]}]})
    write(repo / "shared" / "x.txt", "x")
    write(repo / "unrelated" / "y.txt", "y")
    for folder in ("app", "base", "gens"):
        (repo / folder / "link").unlink()  # an escaping symlink anywhere in the copy fails it
    workdir = tmp_path / "work"
    workdir.mkdir()
    target, tree, shown = _prepare(
        app, root=repo, params=KustomizeParams(), workdir=workdir, settings=RenderSettings()
    )
    assert (target, shown) == (tree / "app", "app")
    assert (tree / "shared" / "x.txt").read_text() == "x"
    assert not (tree / "outside").exists()
