"""Side-by-side rows of a unified diff, and the template filters."""

from __future__ import annotations

from gitward.ui.diffview import side_by_side
from gitward.ui.render import ago, short, tone

DIFF = """--- live
+++ desired
@@ -3,4 +3,4 @@
 spec:
-  replicas: 1
-  paused: true
+  replicas: 2
   selector: {}
+  extra: yes
"""


def test_removed_and_added_runs_share_rows_and_context_is_on_both_sides() -> None:
    rows = side_by_side(DIFF)
    cells = [
        ((r.left.kind, r.left.text, r.left.number), (r.right.kind, r.right.text, r.right.number))
        for r in rows
    ]
    assert cells == [
        (("hunk", "@@ -3,4 +3,4 @@", None), ("hunk", "@@ -3,4 +3,4 @@", None)),
        (("ctx", "spec:", 3), ("ctx", "spec:", 3)),
        (("del", "  replicas: 1", 4), ("add", "  replicas: 2", 4)),
        (("del", "  paused: true", 5), ("empty", "", None)),
        (("ctx", "  selector: {}", 6), ("ctx", "  selector: {}", 5)),
        (("empty", "", None), ("add", "  extra: yes", 6)),
    ]


def test_an_empty_diff_has_no_rows() -> None:
    assert side_by_side("") == []


def test_filters() -> None:
    assert short("3f1c0de" + "a" * 33) == "3f1c0de"
    assert short("main") == "main"
    assert tone("OutOfSync") == "warn"
    assert tone("Degraded") == "bad"
    assert tone("whatever") == "muted"
    assert ago(1000.0, now=1000.0 + 7200) == "2h ago"
    assert ago(None) == ""
