"""What holds automation back, against the real cluster: sync windows, suspension, terminate, cycles.

Windows are computed from the current time (a deny window that opened this minute and closes a minute
from now; an allow window that opens in two hours), so no test depends on the wall clock; what
happens when a window closes is awaited with a bound, never timed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

from gitward.core.errors import Waiting
from gitward.reconcile.gates import NothingToStop, SuspendedByConfig

pytestmark = pytest.mark.integration

#: How long the closing deny window stays open after the test configures it: room for an engine
#: start and a few passes on a loaded machine, short enough to wait for.
OPEN_FOR = 60


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def project(name: str, *windows: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {"syncWindows": list(windows)},
    }


def closing_deny(name: str, *, seconds: int = OPEN_FOR, **cover: Any) -> tuple[dict[str, Any], datetime]:
    """A deny window open since the start of this minute (UTC) that closes ``seconds`` from now, and
    the instant it closes."""
    now = datetime.now(UTC)
    start = now.replace(second=0, microsecond=0)
    duration = int((now - start).total_seconds()) + seconds
    window = {"name": name, "kind": "deny", "schedule": f"{start.minute} {start.hour} * * *"}
    return {**window, "duration": f"{duration}s", **cover}, start + timedelta(seconds=duration)


def live(kube_cluster: Any, name: str, namespace: str) -> Any:
    found = kube_cluster.kubectl("get", "configmap", name, "-n", namespace, "-o", "json", check=False)
    return json.loads(found).get("data") if found else None


def drift(kube_cluster: Any, name: str, namespace: str, data: dict[str, str]) -> None:
    body = json.dumps({"data": data})
    kube_cluster.kubectl("patch", "configmap", name, "-n", namespace, "--type=merge", "-p", body)


async def test_a_deny_window_holds_back_sync_and_self_heal_until_it_closes(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name, team = unique("frozen"), unique("team")
    repo = git_server.create_repo(name, {"app/cfg.yaml": configmap("cfg", {"v": "1"})})
    app = application(name, repo=git_server.url(name), path="app", namespace=namespace, project=team)
    harness.configure(project(team), app)
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.stop()

    window, closes = closing_deny("freeze", applications=[name])
    harness.configure(project(team, window), app)
    engine = await harness.start()
    await harness.settle()
    drift(kube_cluster, "cfg", namespace, {"v": "drifted"})
    repo.commit({"app/added.yaml": configmap("added", {"k": "v"})}, message="add")
    repo.push()
    await engine.refresh_app(name)  # a new commit and a drift: both wait for the window
    summary = harness.app(name)
    message = f"blocked by window freeze until {iso(closes)}"
    assert summary["syncWindow"] == {"message": message, "windows": ["freeze"], "until": closes.timestamp()}
    assert summary["sync"]["status"] == "OutOfSync"
    assert live(kube_cluster, "cfg", namespace) == {"v": "drifted"}
    assert live(kube_cluster, "added", namespace) is None
    assert any(e["reason"] == "SyncWindow" and message in e["message"] for e in engine.events(name))

    # Nothing but the window's end wakes the app: the commit and the heal are applied then.
    await harness.until(lambda: live(kube_cluster, "added", namespace) == {"k": "v"}, within=OPEN_FOR + 90)
    await harness.until(lambda: live(kube_cluster, "cfg", namespace) == {"v": "1"})
    await harness.until(lambda: harness.app(name)["syncWindow"] is None)


async def test_allow_windows_let_covered_apps_sync_only_while_open(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    open_app, closed_app, team = unique("open"), unique("closed"), unique("team")
    git_server.create_repo(
        open_app,
        {"a/cfg.yaml": configmap(open_app, {"k": "v"}), "b/cfg.yaml": configmap(closed_app, {"k": "v"})},
    )
    later = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0)
    windows = (
        {
            "name": "always",
            "kind": "allow",
            "schedule": "* * * * *",
            "duration": "1h",
            "applications": [open_app],
        },
        {
            "name": "later",
            "kind": "allow",
            "schedule": f"{later.minute} {later.hour} * * *",
            "duration": "10m",
            "applications": [closed_app],
        },
    )
    url = git_server.url(open_app)
    harness.configure(
        project(team, *windows),
        application(open_app, repo=url, path="a", namespace=namespace, project=team),
        application(closed_app, repo=url, path="b", namespace=namespace, project=team),
    )
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(open_app))
    await harness.until(lambda: harness.app(closed_app)["syncWindow"])
    assert harness.app(closed_app)["syncWindow"]["message"] == f"blocked by window later until {iso(later)}"
    assert live(kube_cluster, closed_app, namespace) is None
    assert harness.app(open_app)["syncWindow"] is None

    windows_now = engine.project_windows(team)
    by_name = {w["name"]: w for w in windows_now["windows"]}
    assert by_name["always"]["active"] is True
    assert by_name["always"]["apps"] == [open_app]
    assert by_name["later"]["active"] is False
    assert by_name["later"]["nextOpen"] == later.timestamp()


async def test_a_manual_sync_in_a_deny_window_needs_manual_sync(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    strict, lenient, team = unique("strict"), unique("lenient"), unique("team")
    git_server.create_repo(
        strict, {"s/cfg.yaml": configmap(strict, {"k": "v"}), "l/cfg.yaml": configmap(lenient, {"k": "v"})}
    )
    deny = {"kind": "deny", "schedule": "* * * * *", "duration": "1h"}
    url = git_server.url(strict)
    harness.configure(
        project(
            team,
            {**deny, "name": "strict", "applications": [strict]},
            {**deny, "name": "lenient", "applications": [lenient], "manualSync": True},
        ),
        application(strict, repo=url, path="s", namespace=namespace, project=team),
        application(lenient, repo=url, path="l", namespace=namespace, project=team),
    )
    engine = await harness.start()
    await harness.until(lambda: harness.app(strict)["syncWindow"] and harness.app(lenient)["syncWindow"])

    with pytest.raises(Waiting, match="blocked by window strict") as refused:
        await engine.sync_app(strict, initiator="alice")
    assert refused.value.reason == "SyncWindowBlocked"
    assert live(kube_cluster, strict, namespace) is None

    operation = await engine.sync_app(lenient, initiator="alice")
    assert operation["phase"] == "Succeeded"
    assert live(kube_cluster, lenient, namespace) == {"k": "v"}
    assert any(
        e["reason"] == "SyncWindow" and "manual sync allowed" in e["message"] for e in engine.events(lenient)
    )


async def test_suspend_stops_healing_and_resume_heals(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("pause")
    git_server.create_repo(name, {"app/cfg.yaml": configmap("cfg", {"v": "1"})})
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))

    summary = engine.suspend_app(name, initiator="alice")
    assert summary["suspended"] is True
    assert summary["suspendedBy"] == "user"
    assert "alice" in summary["suspendReason"]
    operations = len(engine.history(name))
    drift(kube_cluster, "cfg", namespace, {"v": "patched"})
    await harness.until(lambda: harness.app(name)["sync"]["status"] == "OutOfSync")  # seen, not healed
    await engine.refresh_app(name)
    await harness.settle()
    assert live(kube_cluster, "cfg", namespace) == {"v": "patched"}
    assert len(engine.history(name)) == operations
    assert harness.app(name)["suspended"] is True

    resumed = engine.resume_app(name, initiator="alice")
    assert resumed["suspended"] is False
    await harness.until(lambda: live(kube_cluster, "cfg", namespace) == {"v": "1"})
    await harness.until(lambda: harness.is_synced_healthy(name))
    assert [e["reason"] for e in engine.events(name) if e["reason"] in ("Suspended", "Resumed")] == [
        "Resumed",
        "Suspended",
    ]


async def test_spec_suspend_keeps_gitward_away_until_the_configuration_lifts_it(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    name = unique("held")
    git_server.create_repo(name, {"app/cfg.yaml": configmap("cfg", {"v": "1"})})
    app = application(name, repo=git_server.url(name), path="app", namespace=namespace)
    harness.configure({**app, "spec": {**app["spec"], "suspend": True}})
    engine = await harness.start()
    await harness.until(lambda: harness.app(name)["sync"]["status"] == "OutOfSync")
    await harness.settle()
    summary = harness.app(name)
    assert summary["suspended"] is True
    assert summary["suspendedBy"] == "spec"
    assert "spec.suspend" in summary["suspendReason"]
    assert live(kube_cluster, "cfg", namespace) is None
    with pytest.raises(SuspendedByConfig, match=r"spec\.suspend"):
        engine.resume_app(name)

    operation = await engine.sync_app(name)  # a person may still sync it; it stays suspended
    assert operation["phase"] == "Succeeded"
    assert live(kube_cluster, "cfg", namespace) == {"v": "1"}
    assert harness.app(name)["suspendedBy"] == "spec"
    await harness.stop()

    harness.configure(app)  # the configuration lifts it
    await harness.start()
    drift(kube_cluster, "cfg", namespace, {"v": "patched"})
    await harness.until(lambda: live(kube_cluster, "cfg", namespace) == {"v": "1"})
    assert harness.app(name)["suspended"] is False


async def test_a_dependency_cycle_is_refused_naming_the_cycle(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    a, b, c = unique("a"), unique("b"), unique("c")
    git_server.create_repo(a, {f"{n}/cfg.yaml": configmap(n, {"k": "v"}) for n in (a, b, c)})
    url = git_server.url(a)
    harness.configure(
        application(a, repo=url, path=a, namespace=namespace, dependsOn=[{"name": b}]),
        application(b, repo=url, path=b, namespace=namespace, dependsOn=[{"name": a}]),
        application(c, repo=url, path=c, namespace=namespace, dependsOn=[{"name": a}]),
    )
    engine = await harness.start()
    listed = {s["name"]: s for s in engine.list_apps()}
    assert listed[a]["message"] == f"dependsOn cycle: {a} -> {b} -> {a}"
    assert listed[b]["message"] == f"dependsOn cycle: {b} -> {a} -> {b}"
    await harness.until(
        lambda: harness.app(c)["message"].startswith(f"dependency {a!r} is invalid: dependsOn cycle")
    )
    await harness.settle()
    for n in (a, b, c):
        assert live(kube_cluster, n, namespace) is None


async def test_terminate_with_nothing_running_says_there_is_nothing_to_stop(
    harness: Harness, git_server: FileGitServer, namespace: str
) -> None:
    name = unique("idle")
    git_server.create_repo(name, {"app/cfg.yaml": configmap("cfg", {"v": "1"})})
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(name))
    with pytest.raises(NothingToStop, match="nothing to stop"):
        engine.terminate_app(name, initiator="alice")
    assert engine.runtimes[name].terminate_requested is False
    assert harness.app(name)["terminating"] is False
