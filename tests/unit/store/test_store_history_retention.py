"""History under a drift fight: identical heals share one entry, and retention drops deployments last.

A heal is closed with a ``heal_key``; one equal to the app's previous entry (itself a successful heal)
is folded into it. Retention keeps ``keep`` finished entries per app, dropping the oldest entries that
deployed nothing new before any deployment (a rollback target).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import insert

from gitward.core.status import OperationPhase
from gitward.store import Store
from gitward.store.database import create_store_engine
from gitward.store.history import QUIET_HEAL
from gitward.store.schema import MIGRATIONS, migrate, operations

HEALED = [{"id": "web_a_apps_Deployment", "kind": "Deployment", "action": "configured", "message": ""}]


def _sync(
    store: Store,
    app: str = "app",
    *,
    at: float,
    commit: str = "c1",
    trigger: str = "drift",
    phase: OperationPhase = OperationPhase.SUCCEEDED,
    deployed: bool = False,
    heal_key: str = "",
) -> tuple[int, Any]:
    op_id = store.start_operation(app, revision="main", commit=commit, trigger=trigger, started_at=at)
    entry = store.finish_operation(
        op_id,
        phase=phase,
        message=f"at {at:g}",
        resources=HEALED,
        finished_at=at + 0.5,
        deployed=deployed,
        heal_key=heal_key,
    )
    return op_id, entry


def test_identical_heals_fold_into_the_first_one(store: Store) -> None:
    deploy_id, _ = _sync(store, at=1.0, trigger="webhook", deployed=True)
    first_id, first = _sync(store, at=2.0, heal_key="replicas-by-kubectl")
    assert (first.id, first.count) == (first_id, 1)
    for n in range(2, 31):
        op_id, entry = _sync(store, at=float(n + 1), heal_key="replicas-by-kubectl")
        assert (entry.id, entry.count) == (first_id, n)
        assert store.get_operation(op_id) is None  # the heal's own row is gone

    entries = store.list_operations("app")
    assert [e["id"] for e in entries] == [first_id, deploy_id]
    heal = entries[0]
    assert heal["count"] == 30
    assert heal["startedAt"] == 2.0  # when the fight began
    assert heal["finishedAt"] == heal["deployedAt"] == 31.5  # when the last heal ended
    assert heal["message"] == "at 2"  # the heal's own account: every folded one did the same
    assert not heal["deployed"]
    assert entries[1]["deployed"]
    assert entries[1]["count"] == 1


def test_heals_fold_only_into_an_identical_successful_heal_just_before(store: Store) -> None:
    _, a = _sync(store, at=1.0, heal_key="k1")
    _, b = _sync(store, at=2.0, heal_key="k2")  # other fields or manager: its own entry
    assert b.id != a.id
    _, c = _sync(store, at=3.0, heal_key="k2")
    assert (c.id, c.count) == (b.id, 2)
    _, failed = _sync(store, at=4.0, phase=OperationPhase.FAILED)
    _, d = _sync(store, at=5.0, heal_key="k2")  # the entry before it failed
    assert d.id not in (b.id, failed.id)
    _, redeploy = _sync(store, at=6.0, commit="c2", trigger="webhook", deployed=True)
    _, e = _sync(store, at=7.0, heal_key="k2")
    assert e.id not in (d.id, redeploy.id)
    assert [x["count"] for x in store.list_operations("app")] == [1, 1, 1, 1, 2, 1]


def test_a_heal_that_wrote_nothing_joins_the_heal_run_of_the_same_commit(store: Store) -> None:
    _, quiet_first = _sync(store, at=1.0, heal_key=QUIET_HEAL)  # nothing before it to join
    _, run = _sync(store, at=2.0, heal_key="k")
    assert run.id != quiet_first.id
    _, quiet = _sync(store, at=3.0, heal_key=QUIET_HEAL)
    assert (quiet.id, quiet.count) == (run.id, 2)
    _, more = _sync(store, at=4.0, heal_key="k")
    assert (more.id, more.count) == (run.id, 3)
    _, other_commit = _sync(store, at=5.0, commit="c2", heal_key=QUIET_HEAL)
    assert other_commit.id != run.id
    _, quiet_again = _sync(store, at=6.0, commit="c2", heal_key=QUIET_HEAL)
    assert (quiet_again.id, quiet_again.count) == (other_commit.id, 2)


def test_heals_of_another_app_never_fold_together(store: Store) -> None:
    _, a = _sync(store, "one", at=1.0, heal_key="same")
    _, b = _sync(store, "two", at=2.0, heal_key="same")
    assert b.id != a.id
    assert [e["count"] for e in store.list_operations("two")] == [1]


def test_retention_drops_everything_else_before_a_deployment(state_location: str | Path) -> None:
    keep = 20  # trims on every insert
    with Store.open(state_location, max_operations_per_app=keep) as store:
        deployments = [_sync(store, at=float(i), commit=f"c{i}", deployed=True)[0] for i in range(3)]
        for i in range(60):  # a fight whose heals differ (no folding), and failures
            phase = OperationPhase.FAILED if i % 7 == 0 else OperationPhase.SUCCEEDED
            _sync(store, at=10.0 + i, heal_key=f"k{i}", phase=phase)
        kept = store.list_operations("app", limit=1000)
        assert len(kept) == keep + 1  # trimmed when the last sync started; it finished on top
        assert {e["id"] for e in kept} >= set(deployments)
        others = [e for e in kept if not e["deployed"]]
        assert [e["message"] for e in others][:2] == ["at 69", "at 68"]  # the newest of the rest


def test_deployments_beyond_keep_go_oldest_first(state_location: str | Path) -> None:
    keep = 20
    with Store.open(state_location, max_operations_per_app=keep) as store:
        for i in range(30):
            _sync(store, at=float(i), commit=f"c{i}", deployed=True)
        kept = store.list_operations("app", limit=1000)
        assert [e["commit"] for e in kept] == [f"c{i}" for i in range(29, 8, -1)]  # keep + the last


def test_deployments_kept_is_the_apps_revision_history_limit(store: Store) -> None:
    """``revisionHistoryLimit: 3``: recording a deployment keeps the newest 3 deployments; entries
    that deployed nothing are left to the per-app cap, and other apps are untouched."""
    other = _sync(store, "other", at=0.0, commit="o", deployed=True)[0]
    heals = []
    for i in range(6):
        heals.append(_sync(store, at=10.0 * i + 5, heal_key=f"k{i}")[0])
        op_id = store.start_operation(
            "app", revision="main", commit=f"c{i}", trigger="sync", started_at=10.0 * i
        )
        store.finish_operation(
            op_id,
            phase=OperationPhase.SUCCEEDED,
            message="",
            resources=[],
            finished_at=10.0 * i + 1,
            deployed=True,
            deployments_kept=3,
        )
    kept = store.list_operations("app", limit=1000)
    assert [e["commit"] for e in kept if e["deployed"]] == ["c5", "c4", "c3"]
    assert sorted(e["id"] for e in kept if not e["deployed"]) == heals
    assert store.get_operation(other) is not None


def test_running_operations_survive_retention(state_location: str | Path) -> None:
    with Store.open(state_location, max_operations_per_app=20) as store:
        running = store.start_operation("app", revision="main", commit="", trigger="sync", started_at=0.0)
        for i in range(40):
            _sync(store, at=1.0 + i, heal_key=f"k{i}")
        assert store.get_operation(running) is not None


def test_upgrade_marks_past_deployments_so_retention_keeps_them(state_location: str | Path) -> None:
    """A database written before migration 2: its successful syncs of a new commit become deployments."""
    engine = create_store_engine(state_location)
    try:
        with engine.begin() as conn:
            migrate(conn, MIGRATIONS[:1])
            history = [
                ("app", "a", "Succeeded"),
                ("app", "a", "Succeeded"),  # a heal or re-apply of the same commit
                ("other", "x", "Succeeded"),
                ("app", "b", "Failed"),
                ("app", "b", "Succeeded"),
                ("app", "a", "Succeeded"),  # rolled back to a: a deployment again
            ]
            for n, (app, commit, phase) in enumerate(history):
                row = {
                    "app": app,
                    "revision": "main",
                    "commit_sha": commit,
                    "triggered_by": "webhook",
                    "phase": phase,
                    "message": "",
                    "started_at": float(n),
                    "finished_at": float(n) + 1,
                    "resources": "[]",
                }
                conn.execute(insert(operations), row)  # only migration 1's columns
    finally:
        engine.dispose()

    with Store.open(state_location) as store:
        app = store.list_operations("app")[::-1]
        assert [(e["commit"], e["phase"], e["deployed"], e["count"]) for e in app] == [
            ("a", "Succeeded", True, 1),
            ("a", "Succeeded", False, 1),
            ("b", "Failed", False, 1),
            ("b", "Succeeded", True, 1),
            ("a", "Succeeded", True, 1),
        ]
        assert [e["deployed"] for e in store.list_operations("other")] == [True]
