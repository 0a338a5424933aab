"""Operations and events: round-trips, newest-first ordering, limits and bounded retention."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.core.status import OperationPhase
from gitward.store import Store

RESOURCES = [
    {"id": "web_a_apps_Deployment", "kind": "Deployment", "action": "configured", "message": ""},
    {"id": "_web__Namespace", "kind": "Namespace", "action": "unchanged", "message": ""},
]


def _start(store: Store, app: str = "app", *, at: float = 100.0, revision: str = "main") -> int:
    return store.start_operation(app, revision=revision, commit="", trigger="webhook", started_at=at)


def test_started_operation_is_running_with_no_resources(store: Store) -> None:
    op_id = _start(store)
    assert store.get_operation(op_id) == {
        "id": op_id,
        "app": "app",
        "revision": "main",
        "commit": "",
        "phase": "Running",
        "startedAt": 100.0,
        "finishedAt": None,
        "message": "",
        "trigger": "webhook",
        "initiator": "",
        "count": 1,
        "deployed": False,
        "deployedAt": None,
        "resources": [],
    }


def test_operation_update_then_finish(store: Store) -> None:
    op_id = _start(store)
    store.update_operation(
        op_id, phase=OperationPhase.RUNNING, message="wave 0 done", resources=RESOURCES[:1], commit="3f1c"
    )
    mid = store.get_operation(op_id)
    assert mid is not None
    assert (mid["phase"], mid["message"], mid["commit"]) == ("Running", "wave 0 done", "3f1c")
    assert mid["resources"] == RESOURCES[:1]

    store.update_operation(op_id, phase="Running", message="wave 1 done", resources=RESOURCES)
    assert store.get_operation(op_id)["commit"] == "3f1c"  # type: ignore[index]

    store.finish_operation(
        op_id, phase=OperationPhase.SUCCEEDED, message="synced", resources=RESOURCES, finished_at=160.5
    )
    done = store.get_operation(op_id)
    assert done is not None
    assert (done["phase"], done["finishedAt"], done["message"]) == ("Succeeded", 160.5, "synced")
    assert done["resources"] == RESOURCES
    assert store.unfinished_operations() == []


def test_update_unknown_operation_raises(store: Store) -> None:
    with pytest.raises(KeyError):
        store.update_operation(999, phase="Running", message="", resources=[])
    with pytest.raises(KeyError):
        store.finish_operation(999, phase="Failed", message="", resources=[], finished_at=1.0)
    assert store.get_operation(999) is None


def test_list_operations_newest_first_with_limit(store: Store) -> None:
    ids = [_start(store, at=float(i), revision=f"r{i}") for i in range(5)]
    _start(store, "other")
    listed = store.list_operations("app")
    assert [op["id"] for op in listed] == ids[::-1]
    assert all(op["app"] == "app" for op in listed)
    assert [op["revision"] for op in store.list_operations("app", limit=2)] == ["r4", "r3"]
    assert "resources" not in store.list_operations("app", with_resources=False)[0]


def test_unfinished_operations_across_apps_oldest_first(store: Store) -> None:
    first = _start(store, "a")
    finished = _start(store, "b")
    store.finish_operation(finished, phase="Failed", message="boom", resources=[], finished_at=2.0)
    second = _start(store, "c")
    assert [op["id"] for op in store.unfinished_operations()] == [first, second]


def test_operation_retention_keeps_running_ones(state_location: str | Path) -> None:
    with Store.open(state_location, max_operations_per_app=2) as store:
        running = _start(store)
        done = []
        for i in range(4):
            op_id = _start(store, at=float(i))
            store.finish_operation(op_id, phase="Succeeded", message="", resources=[], finished_at=1.0)
            done.append(op_id)
        _start(store)  # retention runs when an operation starts
        ids = {op["id"] for op in store.list_operations("app")}
        assert running in ids
        assert set(done[-2:]) <= ids
        assert not set(done[:2]) & ids


def test_event_round_trip(store: Store) -> None:
    event_id = store.add_event(
        "app",
        type="Warning",
        reason="DriftDetected",
        message="spec.replicas changed",
        object_id="web_a_apps_Deployment",
        fields=("/spec/replicas", "/metadata/labels/x"),
        manager="kubectl-edit",
        time=42.0,
    )
    assert store.list_events("app") == [
        {
            "id": event_id,
            "app": "app",
            "time": 42.0,
            "type": "Warning",
            "reason": "DriftDetected",
            "message": "spec.replicas changed",
            "object": "web_a_apps_Deployment",
            "fields": ["/spec/replicas", "/metadata/labels/x"],
            "manager": "kubectl-edit",
        }
    ]


def test_events_newest_first_filtered_and_limited(store: Store) -> None:
    for i in range(3):
        store.add_event("a", type="Normal", reason="R", message=f"a{i}", time=float(i))
        store.add_event("b", type="Normal", reason="R", message=f"b{i}", time=float(i))
    assert [e["message"] for e in store.list_events("a")] == ["a2", "a1", "a0"]
    assert [e["message"] for e in store.list_events(limit=3)] == ["b2", "a2", "b1"]
    assert store.list_events("missing") == []


def test_event_retention_per_app(state_location: str | Path) -> None:
    with Store.open(state_location, max_events_per_app=3) as store:
        for i in range(10):
            store.add_event("busy", type="Normal", reason="R", message=f"m{i}", time=float(i))
        store.add_event("quiet", type="Normal", reason="R", message="only", time=0.0)
        assert [e["message"] for e in store.list_events("busy")] == ["m9", "m8", "m7"]
        assert [e["message"] for e in store.list_events("quiet")] == ["only"]


def test_ids_not_reused_after_delete(store: Store) -> None:
    op_id = _start(store, "gone")
    event_id = store.add_event("gone", type="Normal", reason="R", message="", time=0.0)
    store.delete_app("gone")
    assert _start(store, "new") > op_id
    assert store.add_event("new", type="Normal", reason="R", message="", time=0.0) > event_id


def test_a_nul_character_in_a_message_is_stored_replaced(store: Store) -> None:
    """A tool's output may hold NUL; PostgreSQL's text refuses it, so both stores keep U+FFFD."""
    event = store.add_event("app", type="Warning", reason="Failed", message="bad\x00byte", time=1.0)
    assert [e["message"] for e in store.list_events("app")] == ["bad\ufffdbyte"]
    assert event > 0
    op_id = _start(store)
    store.finish_operation(op_id, phase="Failed", message="exit\x00", resources=[], finished_at=2.0)
    assert store.get_operation(op_id)["message"] == "exit\ufffd"  # type: ignore[index]
