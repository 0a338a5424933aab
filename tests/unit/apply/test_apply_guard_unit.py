"""``apply.guard``: which precondition a write carries for what was seen, and which refusals mean
"not as seen". The server's side of it is proven against the real API server in
``tests/integration/test_apply_guard.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from gitward.apply.guard import ABSENT_VERSION, guarded, is_precondition_failure
from gitward.core.errors import ClusterError
from gitward.core.marks import with_marks

DESIRED = with_marks(
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "n"}}, "a"
)


def _live(app: str | None) -> dict[str, Any]:
    obj = with_marks(dict(DESIRED), app) if app else {**DESIRED, "metadata": {"name": "x", "namespace": "n"}}
    obj["metadata"] = {**obj["metadata"], "uid": "u-1", "resourceVersion": "42"}
    return obj


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (None, {"resourceVersion": ABSENT_VERSION}),  # create only
        (_live("a"), {"uid": "u-1"}),  # ours: the same object, whatever its status did
        (_live(None), {"resourceVersion": "42"}),  # adopting: nothing may have changed since
        (_live("b"), {"resourceVersion": "42"}),  # never sent (refused before), but never unguarded
    ],
)
def test_each_write_carries_a_precondition_on_what_was_seen(
    live: dict[str, Any] | None, expected: dict[str, str]
) -> None:
    sent = guarded(DESIRED, live, "a")
    meta = sent["metadata"]
    assert {k: meta[k] for k in ("uid", "resourceVersion") if k in meta} == expected
    assert {k: v for k, v in meta.items() if k not in ("uid", "resourceVersion")} == DESIRED["metadata"]
    assert "resourceVersion" not in DESIRED["metadata"]  # the manifest itself is not changed


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (409, 'Operation cannot be fulfilled on configmaps "x": the object has been modified', True),
        (409, 'Operation cannot be fulfilled on configmaps "x": uid mismatch: the provided object', True),
        (422, 'ConfigMap "x" is invalid: metadata.uid: Invalid value: "u-2": field is immutable', True),
        (409, 'Apply failed with 1 conflict: conflict with "kubectl": .data.a', False),
        (422, 'ConfigMap "x" is invalid: data[a b]: Invalid value', False),
        (500, "etcdserver: request timed out", False),
    ],
)
def test_only_refusals_of_the_precondition_are_read_again(status: int, message: str, expected: bool) -> None:
    assert is_precondition_failure(ClusterError(message, status=status)) is expected
