"""A failed sync's event names who asked for it, as a successful one does (the audit trail).

Against a real state database, through ``outcome.record_failure``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitward.apply import VerdictCache
from gitward.core.appstatus import AppStatus
from gitward.core.errors import GitwardError
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
        self.events: list[dict[str, Any]] = []

    def record_event(self, app: str, **event: Any) -> None:
        self.events.append({"app": app, **event})


def _runtime() -> AppRuntime:
    app = Application.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "shop"},
            "spec": {"source": {"repoURL": "https://git.example.com/r.git", "path": "p"}},
        }
    )
    return AppRuntime(app=app, status=AppStatus(), verdicts=VerdictCache(), inventory=[])


def _failed_event(tmp_path: Path, initiator: str) -> dict[str, Any]:
    with Store.open(tmp_path / "state" / "gitward.db") as store:
        ctx: Any = Context(store)
        rt = _runtime()
        op_id = store.start_operation(
            "shop", revision="main", commit="c1", trigger="sync", started_at=1.0, initiator=initiator
        )
        rt.operation = {"id": op_id, "initiator": initiator}
        outcome.record_failure(ctx, rt, GitwardError("apply refused"), op_id=op_id, retry_in=5.0)
        assert store.get_operation(op_id)["phase"] == "Failed"  # type: ignore[index]
        return ctx.events[-1]  # type: ignore[no-any-return]


def test_a_failed_sync_someone_asked_for_names_them(tmp_path: Path) -> None:
    assert _failed_event(tmp_path, "token:deployer")["message"] == "apply refused by token:deployer"


def test_the_engines_own_failed_pass_names_nobody(tmp_path: Path) -> None:
    assert _failed_event(tmp_path, "")["message"] == "apply refused"
