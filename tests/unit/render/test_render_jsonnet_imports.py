"""The Jsonnet import lexer and resolution, table by table; and jsonnet as a renderer gitward finds."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gitward.core.errors import RenderError
from gitward.render.jsonnet_imports import Import, imports_of, resolve_import
from gitward.render.tools import JSONNET, RENDERERS, check_renderer


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("import 'a.libsonnet'", [Import("import", "a.libsonnet")]),
        ('local x = import "b.json"; x', [Import("import", "b.json")]),
        (
            "importstr 'c.txt' + importbin 'd.bin'",
            [Import("importstr", "c.txt"), Import("importbin", "d.bin")],
        ),
        ("import @'e\\f''g.libsonnet'", [Import("import", "e\\f'g.libsonnet")]),
        ('import "h\\u0041\\"\\\\.libsonnet"', [Import("import", 'hA"\\.libsonnet')]),
        ("import /* between */ 'i.libsonnet'", [Import("import", "i.libsonnet")]),
        ("import\n  # comment\n  'j.libsonnet'", [Import("import", "j.libsonnet")]),
        ("// import 'no1'\n# import 'no2'\n/* import 'no3' */ {}", []),
        ("{ s: 'import \"no4\"', t: \"importstr 'no5'\" }", []),
        ("local importer = 'x'; importer 'not-an-import'", []),
        (
            "{ a: |||\n    import 'no6'\n    more\n  |||, b: import 'k.libsonnet' }",
            [Import("import", "k.libsonnet")],
        ),
        ("{ a: |||-\n  text\n|||, b: import 'l.libsonnet' }", [Import("import", "l.libsonnet")]),
        (
            "{ a: |||\n\n    after a blank line\n  |||, b: import 'm.libsonnet' }",
            [Import("import", "m.libsonnet")],
        ),
        ("import (('n.libsonnet'))", []),
        ("local u = 'unterminated", []),
        ("{a: $.b, 'import': 1, import: 2}", []),
    ],
)
def test_imports_are_read_as_jsonnet_reads_them(text: str, found: list[Import]) -> None:
    assert imports_of(text) == found


def _tree(root: Path) -> Path:
    for path in (
        "apps/web/local.libsonnet",
        "vendor/lib.libsonnet",
        "apps/lib.libsonnet",
        "shared/x.libsonnet",
    ):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("{}")
    (root / "apps" / "web" / "out").symlink_to("/etc")
    return root.resolve()


@pytest.mark.parametrize(
    ("target", "resolved"),
    [
        ("local.libsonnet", "apps/web/local.libsonnet"),  # the importing file's folder first
        ("lib.libsonnet", "vendor/lib.libsonnet"),  # then the libraries, right-most first
        ("../../shared/x.libsonnet", "shared/x.libsonnet"),
        ("./../lib.libsonnet", "apps/lib.libsonnet"),
    ],
)
def test_imports_resolve_as_go_jsonnet_resolves_them(tmp_path: Path, target: str, resolved: str) -> None:
    root = _tree(tmp_path)
    found = resolve_import(
        root,
        importer="apps/web/main.jsonnet",
        folder="apps/web",
        target=target,
        jpaths=["apps/web", "apps", "vendor"],
    )
    assert found == resolved


@pytest.mark.parametrize(
    ("target", "reason", "message"),
    [
        ("/etc/passwd", "PathEscapesRepository", "is an absolute path"),
        ("../../../x", "PathEscapesRepository", "leads outside the repository"),
        ("out/passwd", "SymlinkEscapesRepository", "symlink escapes repository: apps/web/out/passwd"),
        ("nowhere.libsonnet", "JsonnetImportNotFound", "not found in its folder or the library folders"),
        ("", "PathEscapesRepository", "absolute path"),
    ],
)
def test_imports_that_leave_the_checkout_or_are_missing_are_refused(
    tmp_path: Path, target: str, reason: str, message: str
) -> None:
    root = _tree(tmp_path)
    with pytest.raises(RenderError, match=message) as refused:
        resolve_import(
            root, importer="apps/web/main.jsonnet", folder="apps/web", target=target, jpaths=["apps/web"]
        )
    assert refused.value.reason == reason
    assert str(refused.value).startswith(f"apps/web/main.jsonnet: import {target!r}")


def test_a_candidate_outside_met_before_a_library_match_is_refused(tmp_path: Path) -> None:
    """go-jsonnet would look outside first, so the import is refused even though a library has it."""
    root = _tree(tmp_path)
    with pytest.raises(RenderError, match="leads outside"):
        resolve_import(root, importer="main.jsonnet", folder="", target="../lib.libsonnet", jpaths=["vendor"])


def test_jsonnet_is_a_renderer_gitward_looks_for(tmp_path: Path) -> None:
    assert JSONNET in RENDERERS
    program = tmp_path / "jsonnet"
    program.write_text("#!/bin/sh\necho 'Jsonnet commandline interpreter (Go implementation) v0.22.0'\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    check = check_renderer(JSONNET, environ={"GITWARD_JSONNET": str(program), "PATH": ""}, folders=[])
    assert check.found
    assert check.in_range
    assert (
        "renderer jsonnet Jsonnet commandline interpreter (Go implementation) v0.22.0 found at"
        in check.describe()
    )
    missing = check_renderer(JSONNET, environ={"PATH": ""}, folders=[])
    assert "Jsonnet files of directory apps will fail to render" in missing.describe()
