"""Which Notifications an app's event reaches: triggers, app and project globs (``!`` denies), and
the OutOfSync timer, which fires once per stretch and never before ``outOfSyncAfter``.

The notifier runs without its workers here, so what it routed stays in each target's queue."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gitward.model import Application, load_objects
from gitward.notify import Notifier
from gitward.notify.delivery import TargetWorker

SHA = "c" * 40


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t


def notification(name: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("triggers", ["SyncFailed"])
    spec.setdefault(
        "targets", [{"type": "webhook", "url": "http://127.0.0.1:9/", "secretFile": "/nonexistent"}]
    )
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Notification",
        "metadata": {"name": name},
        "spec": spec,
    }


def app(name: str, project: str = "default") -> Application:
    return Application.model_validate(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": {"project": project, "source": {"repoURL": "https://h/o/r.git"}},
        }
    )


def notifier(*documents: dict[str, Any]) -> tuple[Notifier, Clock]:
    loaded = load_objects(documents)
    assert not loaded.errors
    clock = Clock()
    found = Notifier(record_event=lambda *a, **k: None, clock=clock)
    found.configure(loaded.notifications)
    return found, clock


def queued(n: Notifier) -> dict[str, list[str]]:
    workers: list[TargetWorker] = [w for route in n._routes for w in route.workers]
    return {w.label: [f"{m.event.trigger} {m.event.app}" for m in w.queue._queue] for w in workers}  # type: ignore[attr-defined]


def failed(op_id: int) -> dict[str, Any]:
    return {"sync": {"status": "OutOfSync"}, "commit": SHA, "operation": {"id": op_id, "phase": "Failed",
            "commit": SHA, "message": f"refused {op_id}", "finishedAt": 2000.0}}  # fmt: skip


@pytest.mark.parametrize(
    ("applications", "projects", "told"),
    [
        (["*"], ["*"], {"payments-api", "web"}),
        (["payments-*"], ["*"], {"payments-api"}),
        (["*", "!payments-*"], ["*"], {"web"}),
        (["*"], ["prod"], {"payments-api"}),
        (["web"], ["prod"], set()),
        (["nothing-*"], ["*"], set()),
    ],
)
def test_apps_and_projects_are_filtered_by_globs(
    applications: list[str], projects: list[str], told: set[str]
) -> None:
    n, _ = notifier(notification("team", applications=applications, projects=projects))
    n.status_saved(app("payments-api", project="prod"), failed(1))
    n.status_saved(app("web"), failed(2))
    assert {entry.split()[1] for entry in queued(n)["team/webhook"]} == told


def test_only_the_listed_triggers_are_sent() -> None:
    n, _ = notifier(notification("ok-only", triggers=["SyncSucceeded"]), notification("fail-only"))
    n.status_saved(app("web"), failed(1))
    assert queued(n) == {"ok-only/webhook": [], "fail-only/webhook": ["SyncFailed web"]}


def test_every_target_of_a_notification_gets_the_event() -> None:
    targets = [
        {"type": "slack", "urlFile": "/nonexistent"},
        {"type": "github", "tokenFile": "/nonexistent", "repository": "o/r"},
    ]
    n, _ = notifier(notification("both", targets=targets))
    n.status_saved(app("web"), failed(1))
    assert queued(n) == {"both/slack": ["SyncFailed web"], "both/github": ["SyncFailed web"]}


def test_out_of_sync_fires_once_per_stretch_and_never_before_its_time() -> None:
    n, clock = notifier(
        notification("late", triggers=["OutOfSync"], outOfSyncAfter="10m"),
        notification("later", triggers=["OutOfSync"], outOfSyncAfter="1h", applications=["other"]),
    )
    n.status_saved(app("web"), {"sync": {"status": "OutOfSync"}})
    clock.t += 599
    n.check_out_of_sync()
    assert queued(n)["late/webhook"] == []
    clock.t += 1
    n.check_out_of_sync()
    clock.t += 3600
    n.check_out_of_sync()
    assert queued(n) == {"late/webhook": ["OutOfSync web"], "later/webhook": []}
    n.status_saved(app("web"), {"sync": {"status": "Synced"}})
    n.status_saved(app("web"), {"sync": {"status": "OutOfSync"}, "health": {"status": "Progressing"}})
    clock.t += 600
    n.check_out_of_sync()
    assert queued(n)["late/webhook"] == ["OutOfSync web", "OutOfSync web"]


def test_without_notifications_nothing_is_kept_or_started() -> None:
    n, _ = notifier()
    n.status_saved(app("web"), failed(1))
    n.start([])
    assert not n._tasks
    assert n._transitions.out_of_sync() == []


async def test_a_notification_added_changed_or_removed_while_running_gets_or_loses_its_workers() -> None:
    n, _ = notifier()
    n.start([])
    assert not n._tasks
    first = load_objects([notification("deploys")]).notifications
    n.configure(first)  # a reload of the config that adds a Notification
    ((worker, task),) = n._tasks.items()
    assert not task.done()
    n.configure(load_objects([notification("deploys")]).notifications)  # the same again
    assert n._tasks == {worker: task}
    n.configure(load_objects([notification("deploys", triggers=["SyncSucceeded"])]).notifications)
    ((changed, running),) = n._tasks.items()
    assert changed is not worker
    assert not running.done()
    n.configure([])
    assert not n._tasks
    await asyncio.sleep(0)  # a cancelled task ends at the loop's next turn
    assert task.cancelled()
    assert running.cancelled()
    await n.stop()
