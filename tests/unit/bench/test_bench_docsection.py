"""A benchmark rewrites only its own section of docs/benchmarks.md."""

from __future__ import annotations

from bench.docsection import replace_section

DOC = (
    "# Benchmarks\n\n<!-- bench:b5 -->\nold b5\n<!-- /bench:b5 -->\n\n"
    "<!-- bench:ui -->\nold ui\n<!-- /bench:ui -->\n"
)


def test_a_section_is_replaced_between_its_markers_and_the_others_kept() -> None:
    text = replace_section(DOC, "ui", "new ui\n")
    assert "<!-- bench:ui -->\nnew ui\n<!-- /bench:ui -->" in text
    assert "old ui" not in text
    assert "old b5" in text


def test_a_new_section_goes_after_the_one_named_or_at_the_end() -> None:
    after_b5 = replace_section(DOC, "b6", "b6 figures", after="b5")
    assert (
        after_b5.index("<!-- /bench:b5 -->")
        < after_b5.index("b6 figures")
        < after_b5.index("<!-- bench:ui -->")
    )
    at_end = replace_section(DOC, "startup", "start-up figures", after="missing")
    assert at_end.rstrip().endswith("start-up figures\n<!-- /bench:startup -->")
