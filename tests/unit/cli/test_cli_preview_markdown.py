"""The Markdown of ``gitward preview``: its shape, its size limit with counts of what was left out, and
untrusted text that cannot inject markup into a pull-request comment."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.cli.previewmarkdown import DIFF_LINES, render_markdown

pytestmark = pytest.mark.unit


def _object(name: str, *, lines: int = 3, action: str = "configure", message: str = "") -> dict[str, Any]:
    diff = "--- live\n+++ desired\n" + "".join(f"+  line{i}: {name}\n" for i in range(lines))
    return {
        "id": f"ns_{name}__ConfigMap",
        "group": "",
        "kind": "ConfigMap",
        "namespace": "ns",
        "name": name,
        "action": action,
        "diff": diff,
        "message": message,
    }


def _app(name: str, **fields: Any) -> dict[str, Any]:
    app: dict[str, Any] = {
        "name": name,
        "project": "default",
        "cluster": "local",
        "namespace": "ns",
        "change": "changed",
        "status": "ok",
        "prune": "automatic",
        "created": [],
        "changed": [],
        "pruned": [],
        "unchanged": 0,
        "hooks": [],
        "skipped": [],
        "violations": [],
        "children": {"added": [], "changed": [], "removed": []},
        "error": None,
        "notes": [],
    }
    app.update(fields)
    return app


def _report(apps: list[dict[str, Any]], unchanged: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "format": 1,
        "repo": "https://git.example.com/org/apps",
        "base": {"revision": "main", "commit": "a" * 40},
        "head": {"revision": "feature", "commit": "b" * 40},
        "config": {"source": "repository", "path": "gitward"},
        "configErrors": [],
        "apps": apps,
        "unchanged": list(unchanged),
        "summary": {
            "apps": len(apps) + len(unchanged),
            "touched": len(apps),
            "unchanged": len(unchanged),
            "created": sum(len(a["created"]) for a in apps),
            "changed": sum(len(a["changed"]) for a in apps),
            "pruned": sum(len(a["pruned"]) for a in apps),
            "released": 0,
            "violations": sum(len(a["violations"]) for a in apps),
            "refused": 0,
            "failed": 0,
        },
    }


def test_a_summary_table_then_one_collapsed_block_per_app() -> None:
    report = _report(
        [
            _app("web", changed=[_object("cfg")], pruned=[_object("old", action="prune")]),
            _app(
                "bad",
                change="added",
                status="refused",
                violations=[{"rule": "Destination", "object": "ConfigMap/ns/x", "message": "not allowed"}],
            ),
        ],
        unchanged=("api", "db"),
    )
    text = render_markdown(report)
    lines = text.splitlines()
    table = lines.index(
        "| Application | Cluster | Namespace | Change | Created | Changed | Pruned | Violations | Result |"
    )
    assert lines[table + 2] == "| **web** | local | ns | changed | 0 | 1 | 1 | 0 | ok |"
    assert lines[table + 3] == "| **bad** | local | ns | added | 0 | 0 | 0 | 1 | **refused** |"
    assert "Unchanged (2): <code>api</code>, <code>db</code>" in text
    assert text.count("<details>") == 2
    assert "<summary><b>web</b> (changed): 0 created, 1 changed, 1 pruned</summary>" in text
    assert "- [Destination] <code>ConfigMap/ns/x</code>: not allowed" in text
    assert "```diff\n--- live\n+++ desired\n+  line0: cfg\n" in text
    assert "Left out" not in text


def test_a_long_diff_is_cut_with_the_count_of_lines_left_out() -> None:
    text = render_markdown(_report([_app("web", changed=[_object("big", lines=DIFF_LINES + 40)])]))
    assert (
        "... 42 more lines not shown" in text
    )  # 2 header lines + DIFF_LINES + 40, of which DIFF_LINES shown
    assert f"line{DIFF_LINES + 39}" not in text


def test_the_text_fits_the_limit_and_says_what_was_left_out() -> None:
    apps = [_app(f"app{i:02d}", changed=[_object(f"cfg{i}", lines=150)]) for i in range(30)]
    text = render_markdown(_report(apps), max_chars=20_000)
    assert len(text) <= 20_000
    shown = text.count("<details>")
    without_diffs = text.count("Diffs left out to fit the comment size limit")
    assert 0 < shown < 30
    assert shown - without_diffs > 0  # the first apps keep their diffs
    left_out = 30 - shown
    assert text.rstrip().endswith("has everything._")
    closing = text.rstrip().splitlines()[-1]
    assert f"the details of {left_out} applications" in closing
    if without_diffs:
        assert f"the diffs of {without_diffs} applications" in closing
    assert "| **app29** |" in text  # every row of the table still fits


def test_the_default_limit_is_githubs_comment_limit() -> None:
    apps = [_app(f"app{i:03d}", changed=[_object(f"cfg{i}", lines=190)]) for i in range(100)]
    text = render_markdown(_report(apps))
    assert len(text) <= 65_536
    assert "Left out to stay under 65,536 characters" in text


def test_untrusted_text_cannot_inject_markup() -> None:
    evil = _object("x", message="</details><img src=https://evil.example/t.png> | *bold*")
    evil["diff"] = "--- live\n+++ desired\n+  a: ````\n+  b: </details>\n"
    text = render_markdown(_report([_app("web", changed=[evil], notes=["<script>alert(1)</script>"])]))
    assert "<img" not in text
    assert "<script>" not in text
    assert text.count("</details>") == 1 + text.count("b: </details>")  # inside the diff only
    assert "&lt;/details&gt;&lt;img src=https://evil.example/t.png&gt; \\| \\*bold\\*" in text
    assert "`````diff\n" in text  # a fence longer than the diff's own run of backticks
