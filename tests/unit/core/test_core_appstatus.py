"""The typed app status: stored documents read back and written out unchanged, and the marks a pass
puts on it (an outage shown and taken back, suspension read from old rows), without an engine."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gitward.appview.summary import current_reason
from gitward.core.appstatus import (
    AppStatus,
    clear_cluster_unreachable,
    clear_suspended,
    mark_cluster_unreachable,
    mark_result,
    mark_window_blocked,
    suspended_by,
)
from gitward.core.status import HealthStatus, SyncStatus
from gitward.core.steps import Step

pytestmark = pytest.mark.unit

STORED = {
    "sync": {"status": "Synced", "revision": "abc123"},
    "health": {"status": "Healthy", "message": ""},
    "conditions": [
        {"type": "Ready", "status": "True", "reason": "Reconciled", "message": "", "lastTransitionTime": 5.0},
        {
            "type": "Reconciling",
            "status": "False",
            "reason": "Reconciled",
            "message": "",
            "lastTransitionTime": 5.0,
        },
        {"type": "Stalled", "status": "False", "reason": "", "message": "", "lastTransitionTime": 5.0},
    ],
    "resources": [{"id": "apps/Deployment/web/web", "sync": "Synced", "health": "Healthy", "message": ""}],
    "operation": {"id": 3, "phase": "Succeeded", "startedAt": 1.0, "finishedAt": 2.0, "count": 1},
    "error": "",
    "commit": "abc123",
    "tree": "t1",
    "lastSyncedDigest": "d1",
    "lastSyncedCommit": "abc123",
    "lastSyncFailed": False,
    "suspended": True,
    "suspendReason": "suspended by alice",
    "suspendedBy": "user",
    "pinnedRevision": "abc123",
    "syncWindow": {"message": "blocked by window night", "windows": ["night"], "until": 9.0},
    "clusterUnreachable": "cluster c1 unreachable",
    "lastErrorEvent": "boom",
}


def _ready(status: AppStatus) -> dict[str, Any]:
    return next(c for c in status.to_dict()["conditions"] if c["type"] == "Ready")


def test_a_stored_status_reads_back_and_writes_out_as_the_same_json() -> None:
    status = AppStatus.from_dict(STORED)
    assert status.sync_status is SyncStatus.SYNCED
    assert status.health_status is HealthStatus.HEALTHY
    assert status.synced_and_healthy
    assert orjson.dumps(status.to_dict(), option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        STORED, option=orjson.OPT_SORT_KEYS
    )


def test_keys_a_status_never_had_stay_out_and_unknown_values_read_as_unknown() -> None:
    assert AppStatus.from_dict({}).to_dict() == {}
    partial = {"error": "fetch failed", "sync": {"status": "Sideways", "revision": ""}}
    status = AppStatus.from_dict(partial)
    assert status.sync_status is SyncStatus.UNKNOWN
    assert status.to_dict() == {"error": "fetch failed", "sync": {"status": "Unknown", "revision": ""}}
    assert AppStatus.from_dict({"someOldKey": 1}).to_dict() == {}


def test_an_outage_is_shown_once_and_taken_back_without_touching_other_errors() -> None:
    status = AppStatus.from_dict({"sync": {"status": "Synced", "revision": "abc"}})
    mark_result(status, now=1.0, ready=True, reason="Reconciled", message="", stalled=False)
    assert mark_cluster_unreachable(status, message="cluster c1 unreachable", now=2.0)
    assert not mark_cluster_unreachable(status, message="cluster c1 unreachable", now=3.0)
    assert status.to_dict()["sync"] == {"status": "Unknown", "revision": "abc"}
    assert _ready(status)["status"] == "False"
    assert clear_cluster_unreachable(status, message="comparing", now=4.0)
    assert status.error == ""
    assert status.to_dict()["health"]["message"] == "comparing"
    assert "clusterUnreachable" not in status.to_dict()
    assert not clear_cluster_unreachable(status, message="comparing", now=5.0)


def test_a_window_block_is_shown_once_per_change() -> None:
    status = AppStatus()
    assert mark_window_blocked(status, message="blocked", windows=["night"], until=9.0)
    assert not mark_window_blocked(status, message="blocked", windows=["night"], until=9.0)
    assert mark_window_blocked(status, message="blocked", windows=["night"], until=10.0)


def test_a_row_stored_before_suspended_by_existed_reads_as_a_rollback() -> None:
    assert suspended_by(AppStatus.from_dict({"suspended": True})) == "rollback"
    assert suspended_by(AppStatus.from_dict({"suspended": True, "suspendedBy": "user"})) == "user"
    assert suspended_by(AppStatus.from_dict({"suspended": False, "suspendedBy": "user"})) == ""
    status = AppStatus.from_dict({"suspended": True, "pinnedRevision": "abc"})
    clear_suspended(status)
    assert status.to_dict() == {"suspended": False, "suspendReason": "", "suspendedBy": ""}


def test_the_current_reason_and_message_follow_ready_and_name_the_failed_step() -> None:
    status = AppStatus()
    message = "PreSync hook Job.batch/shop/migrate failed: BackoffLimitExceeded"
    where = "hook PreSync Job.batch/shop/migrate"
    mark_result(
        status,
        now=1.0,
        ready=False,
        reason="HookFailed",
        message=message,
        stalled=False,
        step=Step.HOOK,
        where=where,
    )
    back = AppStatus.from_dict(orjson.loads(orjson.dumps(status.to_dict())))
    assert current_reason(back) == {
        "reason": "HookFailed",
        "statusMessage": message,
        "step": "hook",
        "stepDetail": where,
    }
    mark_result(back, now=2.0, ready=True, reason="Reconciled", message="", stalled=False)
    assert current_reason(back) == {"reason": "Reconciled", "statusMessage": "", "step": "", "stepDetail": ""}
    mark_cluster_unreachable(back, message="cluster local unreachable", now=3.0)
    assert (back.reason, back.message, back.step) == ("ClusterUnreachable", "cluster local unreachable", "")


def test_a_status_saved_before_the_top_level_reason_reads_it_from_ready() -> None:
    old = AppStatus.from_dict(STORED)
    assert current_reason(old)["reason"] == "Reconciled"
    assert current_reason(old)["step"] == ""
