"""Status marks without an engine: an outage shown and taken back, suspension read from old rows."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.core.appstatus import (
    clear_cluster_unreachable,
    mark_cluster_unreachable,
    mark_result,
    suspended_by,
)

pytestmark = pytest.mark.unit


def _ready(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def test_an_outage_is_shown_once_and_taken_back_without_touching_other_errors() -> None:
    status: dict[str, Any] = {"sync": {"status": "Synced", "revision": "abc"}}
    mark_result(status, now=1.0, ready=True, reason="Reconciled", message="", stalled=False)
    assert mark_cluster_unreachable(status, message="cluster c1 unreachable", now=2.0)
    assert not mark_cluster_unreachable(status, message="cluster c1 unreachable", now=3.0)
    assert status["sync"] == {"status": "Unknown", "revision": "abc"}
    assert _ready(status)["status"] == "False"
    assert clear_cluster_unreachable(status, message="comparing", now=4.0)
    assert status["error"] == ""
    assert status["health"]["message"] == "comparing"
    assert not clear_cluster_unreachable(status, message="comparing", now=5.0)


def test_a_row_stored_before_suspended_by_existed_reads_as_a_rollback() -> None:
    assert suspended_by({"suspended": True}) == "rollback"
    assert suspended_by({"suspended": True, "suspendedBy": "user"}) == "user"
    assert suspended_by({"suspended": False, "suspendedBy": "user"}) == ""
