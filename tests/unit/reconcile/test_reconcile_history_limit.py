"""An app's ``revisionHistoryLimit`` reaches the store when a sync is recorded.

Against a real state database: each deployment closed through the reconcile path keeps at most the
app's limit of deployments (the store's side is ``tests/unit/store/test_store_history_retention.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitward.apply import VerdictCache
from gitward.core.appstatus import AppStatus
from gitward.core.status import OperationPhase
from gitward.model import Application
from gitward.reconcile import outcome
from gitward.reconcile.runtime import AppRuntime
from gitward.store import Store


class Clock:
    def now(self) -> float:
        return 1_000.0

    def monotonic(self) -> float:
        return 5.0


class Context:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = Clock()


def _runtime(spec: dict[str, Any]) -> AppRuntime:
    app = Application.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "shop"},
            "spec": {"source": {"repoURL": "https://git.example.com/r.git", "path": "p"}, **spec},
        }
    )
    return AppRuntime(app=app, status=AppStatus(), verdicts=VerdictCache(), inventory=[])


def _deploy_five_times(tmp_path: Path, spec: dict[str, Any]) -> list[str]:
    with Store.open(tmp_path / "state" / "gitward.db") as store:
        ctx: Any = Context(store)
        rt = _runtime(spec)
        for i in range(5):
            op_id = store.start_operation(
                "shop", revision="main", commit=f"c{i}", trigger="sync", started_at=i
            )
            outcome._finish(
                ctx, rt, op_id, phase=OperationPhase.SUCCEEDED, message="", resources=[], deployed=True
            )
        return [e["commit"] for e in store.list_operations("shop") if e["deployed"]]


def test_the_apps_revision_history_limit_bounds_its_deployments(tmp_path: Path) -> None:
    assert _deploy_five_times(tmp_path, {"revisionHistoryLimit": 2}) == ["c4", "c3"]


def test_without_a_limit_the_store_cap_alone_applies(tmp_path: Path) -> None:
    assert _deploy_five_times(tmp_path, {}) == ["c4", "c3", "c2", "c1", "c0"]
