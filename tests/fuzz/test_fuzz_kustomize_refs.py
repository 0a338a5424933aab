"""Fuzzing the kustomize closure walk (``render/kustomize_refs.py``; docs/reliability.md row 3 and
"Render sandbox").

Kustomizations are generated from every field family that names a file, a folder or a URL (top
level, nested, in inline and file generator/transformer configs, one kustomization away through a
base), holding entries inside the checkout, ``..`` and absolute paths out of it, symlinks out and
in loops, URLs of every form, inline configs, names in other cases and shapes kustomize would not
decode. Properties: the walk ends, fails only with ``RenderError``, and everything it accepts
resolves inside the checkout (never the secret next to it); a kustomization naming only files
inside is accepted with every one of them in its closure; one entry leading out of the checkout,
wherever it is placed among entries inside, refuses the walk with an escape reason.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from fuzzkit import outcome, share
from hypothesis import example, given
from hypothesis import strategies as st

from gitward.core.errors import RenderError
from gitward.render.kustomize_refs import kustomization_closure
from gitward.render.params import RenderSettings

pytestmark = pytest.mark.fuzz

SECRET = "outside-secret-0451"
CONFIG = "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {a: b}\n"
SETTINGS = RenderSettings()


def builtin(kind: str, **fields: Any) -> str:
    return orjson.dumps({"apiVersion": "builtin", "kind": kind, "metadata": {"name": "c"}, **fields}).decode()


Placement = Callable[[str], dict[str, Any]]
# (field family, how an entry is placed, whether it names a folder)
PLACEMENTS: dict[str, tuple[Placement, bool]] = {
    "resources": (lambda e: {"resources": [e]}, False),
    "Bases": (lambda e: {"Bases": [e]}, False),
    "components": (lambda e: {"components": [e]}, False),
    "generators": (lambda e: {"generators": [e]}, False),
    "transformers": (lambda e: {"transformers": [e]}, False),
    "crds": (lambda e: {"crds": [e]}, False),
    "configurations": (lambda e: {"configurations": [e]}, False),
    "openapi.path": (lambda e: {"openapi": {"path": e}}, False),
    "patches.path": (lambda e: {"patches": [{"path": e}]}, False),
    "patchesStrategicMerge": (lambda e: {"patchesStrategicMerge": [e]}, False),
    "replacements.path": (lambda e: {"replacements": [{"path": e}]}, False),
    "configMapGenerator.files": (
        lambda e: {"configMapGenerator": [{"name": "c", "files": [f"k={e}"]}]},
        False,
    ),
    "secretGenerator.envs": (lambda e: {"secretGenerator": [{"name": "s", "envs": [e]}]}, False),
    "configMapGenerator.env": (lambda e: {"configMapGenerator": [{"name": "c", "env": e}]}, False),
    "helmCharts.valuesFile": (lambda e: {"helmCharts": [{"name": "c", "valuesFile": e}]}, False),
    "inline ConfigMapGenerator": (
        lambda e: {"generators": [builtin("ConfigMapGenerator", files=[e])]},
        False,
    ),
    "inline PatchTransformer": (lambda e: {"transformers": [builtin("PatchTransformer", path=e)]}, False),
    "helmGlobals.chartHome": (lambda e: {"helmGlobals": {"chartHome": e}}, True),
    "helmChartInflationGenerator.chartHome": (
        lambda e: {"helmChartInflationGenerator": [{"chartHome": e}]},
        True,
    ),
}


@contextmanager
def checkout() -> Iterator[tuple[Path, Path]]:
    """``repo`` with folders app, base, gens (each with inside.yaml), charts, and links out of it
    (``app/link``) and to an ancestor (``app/loop``); ``outside`` next to it holds the secret."""
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp).resolve()
        repo, outside = base / "repo", base / "outside"
        outside.mkdir()
        (outside / "x.yaml").write_text(SECRET)
        (outside / "kustomization.yaml").write_text("resources: [x.yaml]\n")
        for folder in ("app", "base", "gens", "charts"):
            (repo / folder).mkdir(parents=True)
            (repo / folder / "inside.yaml").write_text(CONFIG)
        os.symlink(outside, repo / "app" / "link")
        os.symlink("..", repo / "app" / "loop")
        for folder in ("app", "base"):
            os.symlink("inside.yaml", repo / folder / "alias.yaml")  # an in-repo link
        yield repo, outside


def write(folder: Path, kustomization: dict[str, Any] | str) -> None:
    text = kustomization if isinstance(kustomization, str) else orjson.dumps(kustomization).decode()
    (folder / "kustomization.yaml").write_text(text)


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One kustomization from placements; entries of a repeated field are concatenated."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key in out and isinstance(value, list) and isinstance(out[key], list):
                out[key] = out[key] + value
            else:
                out[key] = value
    return out


def walk(repo: Path) -> tuple[Any, RenderError | None]:
    return outcome(lambda: kustomization_closure(repo / "app", root=repo, settings=SETTINGS), RenderError)


def assert_inside(closure: Any, repo: Path, outside: Path) -> None:
    for lexical, real in closure.real.items():
        resolved = Path(os.path.realpath(real))
        assert resolved == repo or resolved.is_relative_to(repo), (lexical, real)
        assert not resolved.is_relative_to(outside)
        assert real.exists()


ENTRY_POOL = [
    "inside.yaml", "alias.yaml", "../base", "../gens", "../charts", ".", "..", "../..", "missing.yaml",
    "../../outside/x.yaml", "{outside}/x.yaml", "{outside}", "link", "link/x.yaml", "loop", "loop/app",
    "loop/app/inside.yaml", "https://example.com/x.yaml", "git@git.example.com:o/r", "github.com/o/r",
    "../base?ref=main", "", " ", "a\nb", "\x00", "~/x", "\\..\\..\\outside", CONFIG,
    builtin("LabelTransformer", labels={"a": "b"}), "apiVersion: v1\nkind: Plugin\n", "[1, 2]",
]  # fmt: skip
entries = st.sampled_from(ENTRY_POOL) | st.text(max_size=12)
shapes = st.sampled_from(["list", "string", "number", "null", "mapping"])
FIELDS = [*(k for k in PLACEMENTS if "." not in k and " " not in k), "RESOURCES", "resourcez", "helmBin"]


def shaped(shape: str, values: list[str]) -> Any:
    return {"list": values, "string": values[0] if values else "", "number": 7, "null": None,
            "mapping": {"path": values[0] if values else ""}}[shape]  # fmt: skip


placed = st.builds(lambda p, e: PLACEMENTS[p][0](e), st.sampled_from(list(PLACEMENTS)), entries)
kustomizations = st.dictionaries(
    st.sampled_from(FIELDS),
    st.builds(shaped, shapes, st.lists(entries, min_size=1, max_size=3)),
    max_size=4,
) | st.builds(merge, st.lists(placed, max_size=4))


def resolve_placeholders(value: Any, outside: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{outside}", str(outside))
    if isinstance(value, list):
        return [resolve_placeholders(v, outside) for v in value]
    if isinstance(value, dict):
        return {k: resolve_placeholders(v, outside) for k, v in value.items()}
    return value


@given(
    kustomizations, kustomizations, st.sampled_from(["", "not: [valid", "- a list\n", "a: 1\n---\nb: 2\n"])
)
@example({"resources": ["loop/app"]}, {}, "")  # a path through a link to its own ancestor
@example({"resources": ["../base"]}, {"resources": ["../app"]}, "")  # two bases naming each other
@example({"resources": ["\x00"]}, {}, "")  # NUL: was a ValueError from the system call
@share(0.5)
def test_the_walk_ends_fails_only_with_render_error_and_stays_inside(
    app: dict[str, Any], base: dict[str, Any], broken: str
) -> None:
    with checkout() as (repo, outside):
        write(repo / "app", resolve_placeholders(app, outside))
        write(repo / "base", resolve_placeholders(base, outside))
        if broken:
            write(repo / "gens", broken)
        closure, _ = walk(repo)
        if closure is not None:
            assert closure.folders[0] == "app"
            assert_inside(closure, repo, outside)


INSIDE = {False: ["inside.yaml", "alias.yaml", "../base/inside.yaml"], True: ["../charts", "."]}
HOSTILE = [
    ("../../outside/x.yaml", "PathEscapesRepository"),
    ("{outside}/x.yaml", "PathEscapesRepository"),
    ("link/x.yaml", "SymlinkEscapesRepository"),
    ("https://example.com/x.yaml", "RemoteBaseRefused"),
    ("git@git.example.com:o/r.git//x", "RemoteBaseRefused"),
]
FOLDER_HOSTILE = [("../../outside", "PathEscapesRepository"), ("link", "SymlinkEscapesRepository")]
# (placement, which inside entry); each placement once, so no mapping field is written twice
inside_placements = st.lists(
    st.tuples(st.sampled_from(list(PLACEMENTS)), st.integers(0, 2)), max_size=5, unique_by=lambda c: c[0]
)


def inside_parts(chosen: list[tuple[str, int]]) -> list[dict[str, Any]]:
    parts = []
    for name, index in chosen:
        place, folder = PLACEMENTS[name]
        options = INSIDE[folder]
        parts.append(place(options[index % len(options)]))
    return parts


@given(inside_placements, st.booleans())
def test_a_kustomization_naming_only_files_inside_is_accepted_with_all_of_them(
    chosen: list[tuple[str, int]], through_base: bool
) -> None:
    with checkout() as (repo, outside):
        folder = repo / ("base" if through_base else "app")
        if through_base:
            write(repo / "app", {"resources": ["../base"]})
        write(folder, merge(inside_parts(chosen)))
        closure, error = walk(repo)
        assert error is None, str(error)
        assert_inside(closure, repo, outside)
        reached = {Path(os.path.realpath(p)) for p in closure.real.values()}
        for name, index in chosen:
            _, names_folder = PLACEMENTS[name]
            options = INSIDE[names_folder]
            named = Path(os.path.realpath(folder / options[index % len(options)]))
            # a folder named where kustomize takes one is walked as a kustomization, the rest listed
            assert named in reached or (named.is_dir() and named in {repo / "app", folder})


@given(
    inside_placements,
    st.sampled_from(list(PLACEMENTS)),
    st.integers(0, 4),
    st.integers(0, 5),
    st.booleans(),
)
@example([], "resources", 2, 0, False)
@example([("resources", 0)], "helmGlobals.chartHome", 1, 0, True)
def test_one_entry_leading_out_refuses_the_walk_wherever_it_is(
    chosen: list[tuple[str, int]], hostile_in: str, which: int, position: int, through_base: bool
) -> None:
    place, folder = PLACEMENTS[hostile_in]
    pool = FOLDER_HOSTILE if folder else HOSTILE
    entry, reason = pool[which % len(pool)]
    with checkout() as (repo, outside):
        if entry.startswith("link") and through_base:
            os.symlink(outside, repo / "base" / "link")
        parts = inside_parts([c for c in chosen if c[0] != hostile_in])
        parts.insert(position % (len(parts) + 1), place(entry))
        kustomization = resolve_placeholders(merge(parts), outside)
        if through_base:
            write(repo / "app", {"resources": ["../base"]})
            write(repo / "base", kustomization)
        else:
            write(repo / "app", kustomization)
        closure, error = walk(repo)
        assert closure is None, (entry, hostile_in)
        assert error is not None
        assert error.reason == reason, str(error)
