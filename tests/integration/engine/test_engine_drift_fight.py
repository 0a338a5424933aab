"""Drift fights: another field manager keeps scaling a Deployment, self-heal keeps scaling it back.

With fight detection (the default: 3 heals in 10 minutes), gitward stops: after the third heal, the
next change by the same manager pauses self-heal of that one field, records a DriftFight event and
shows the fight on the app with the ``ignoreDifferences`` entry that would end it; the rest of the
app (other objects, other fields of the same object) still heals. After the pause the field is
healed once more, and a manager that undoes that again starts a fight with the pause doubled.

With detection off, every change is healed. Each heal is a sync; before heals were folded, each one
added a history entry, and a fight of a few minutes pushed the real deployments out of the kept
history. There the history keeps only five entries per app and the fight lasts 30 heals (each one
waited for on the live object). What must hold: the deployment is still there as a rollback target,
the heals share one entry (a new run only after a failed sync), the counts account for every
successful sync (each also writes one Synced event: an independent tally), and rolling back to the
deployment still works.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap, deployment

from gitward.cluster.connection import ClusterConnection
from gitward.diff.fights import FightSettings
from gitward.reconcile.engine import Engine

pytestmark = pytest.mark.integration

HEALS = 30
KEEP = 5


async def _replicas(conn: ClusterConnection, namespace: str, name: str) -> int:
    live = await conn.client.get("apps/v1", "Deployment", namespace, name)
    assert live is not None
    return int(live["spec"]["replicas"])


async def _until_restored(conn: ClusterConnection, namespace: str, name: str, *, heal: int) -> None:
    """Bounded wait for self-heal to scale the Deployment back to Git's one replica."""
    for _ in range(300):
        if await _replicas(conn, namespace, name) == 1:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"heal {heal} did not restore the replicas within 60 s")


async def _scale(conn: ClusterConnection, namespace: str, name: str, replicas: int) -> None:
    patch = {"spec": {"replicas": replicas}}
    await conn.client.patch("apps/v1", "Deployment", namespace, name, patch, field_manager="autoscaler")


def _fights(engine: Engine, app: str) -> list[dict[str, Any]]:
    return [e for e in engine.events(app, limit=500) if e["reason"] == "DriftFight"]


def _journal(engine: Engine, app: str) -> list[str]:
    """What happened, oldest first: the context of a failed assertion."""
    return [f"{e['reason']}: {e['message']}" for e in reversed(engine.events(app, limit=500))]


async def _fought_app(
    harness: Harness, git_server: FileGitServer, namespace: str, settings: FightSettings
) -> tuple[Engine, ClusterConnection, str]:
    """An app of a Deployment (one replica) and a ConfigMap; the autoscaler has scaled it and been
    healed ``settings.heals`` times, and scales it once more: a fight."""
    app = f"fight-{uuid4().hex[:6]}"
    git_server.create_repo(
        app,
        {"app/web.yaml": deployment("web", replicas=1), "app/cfg.yaml": configmap("cfg", {"color": "blue"})},
    )
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start(drift_fights=settings)
    await harness.until(lambda: harness.is_synced_healthy(app))
    conn = engine.connections.get("local")
    assert conn is not None
    for heal in range(settings.heals):
        await _scale(conn, namespace, "web", 3 + heal % 2)
        await _until_restored(conn, namespace, "web", heal=heal + 1)
    assert _fights(engine, app) == [], _journal(engine, app)
    await _scale(conn, namespace, "web", 5)
    await harness.until(lambda: _fights(engine, app))
    await harness.settle()
    return engine, conn, app


async def test_a_field_fought_over_is_left_to_the_other_manager_and_the_rest_still_heals(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    engine, conn, app = await _fought_app(harness, git_server, namespace, FightSettings(heals=3, pause=600))

    fights = _fights(engine, app)
    assert len(fights) == 1, _journal(engine, app)
    fight = fights[0]
    assert fight["manager"] == "autoscaler"
    assert fight["fields"] == ["/spec/replicas"]
    assert "after 3 heals" in fight["message"]
    assert "jsonPointers: [/spec/replicas]" in fight["message"]  # the entry that ends it
    assert "managedFieldsManagers: [autoscaler]" in fight["message"]
    assert await _replicas(conn, namespace, "web") == 5  # not healed

    summary = harness.app(app)
    assert summary["sync"]["status"] == "OutOfSync"  # the field still differs from Git
    assert summary["reason"] == "DriftFight"
    assert "autoscaler" in summary["statusMessage"]
    [shown] = summary["driftFights"]
    assert (shown["kind"], shown["name"], shown["field"], shown["manager"]) == (
        "Deployment",
        "web",
        "/spec/replicas",
        "autoscaler",
    )
    assert shown["suggestion"]["ignoreDifferences"] == [
        {
            "group": "apps",
            "kind": "Deployment",
            "name": "web",
            "namespace": namespace,
            "jsonPointers": ["/spec/replicas"],
        }
    ]
    row = next(r for r in summary["resources"] if r["name"] == "web")
    assert row["sync"] == "OutOfSync"
    assert "drift fight" in row["message"]

    # The autoscaler keeps its field; every other drift still heals, in the same object too.
    await _scale(conn, namespace, "web", 6)
    image = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}}
    await conn.client.patch("apps/v1", "Deployment", namespace, "web", image, field_manager="intruder")
    kube_cluster.kubectl(
        "patch",
        "configmap",
        "cfg",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"data":{"color":"red"}}',
        "--field-manager=intruder",
    )
    await harness.until(
        lambda: kube_cluster.get_json("configmap", "cfg", "-n", namespace)["data"]["color"] == "blue"
    )
    await harness.until(
        lambda: (
            kube_cluster.get_json("deployment", "web", "-n", namespace)["spec"]["template"]["spec"][
                "containers"
            ][0]["image"]
            == "nginx:1.27"
        )
    )
    await harness.settle()
    assert await _replicas(conn, namespace, "web") == 6, _journal(engine, app)
    assert len(_fights(engine, app)) == 1, _journal(engine, app)  # one fight, told once
    assert harness.app(app)["reason"] == "DriftFight", harness.app(app)["statusMessage"]

    # A sync a person asks for writes every field as Git has it, and the fight starts over.
    synced = await engine.sync_app(app)
    assert synced["phase"] == "Succeeded", synced["message"]
    assert harness.app(app)["sync"]["status"] == "Synced"  # as that sync recorded it
    assert await _replicas(conn, namespace, "web") == 1
    await harness.until(lambda: harness.is_synced_healthy(app))
    assert harness.app(app)["driftFights"] == []


async def _paint(conn: ClusterConnection, namespace: str, field: str, value: str, manager: str) -> None:
    patch = {"data": {field: value}}
    await conn.client.patch("v1", "ConfigMap", namespace, "cfg", patch, field_manager=manager)


async def test_a_heal_of_another_field_leaves_the_app_showing_the_fight_while_nothing_else_writes(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    """No controller touches a ConfigMap: after a heal that sent the fought field's live value, the
    object keeps the resourceVersion of that heal. It still differs from Git, so the app must stay
    OutOfSync with the fight shown, not turn Synced until someone else writes it, and a dry run of a
    person's sync must show the field it would write."""
    app = f"fight-{uuid4().hex[:6]}"
    data = {"color": "blue", "size": "small"}
    git_server.create_repo(app, {"app/cfg.yaml": configmap("cfg", data)})
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start(drift_fights=FightSettings(heals=2, pause=600))
    await harness.until(lambda: harness.is_synced_healthy(app))
    conn = engine.connections.get("local")
    assert conn is not None
    for paint in ("red", "green"):
        await _paint(conn, namespace, "color", paint, "painter")
        await harness.until(
            lambda: kube_cluster.get_json("configmap", "cfg", "-n", namespace)["data"]["color"] == "blue"
        )
    await _paint(conn, namespace, "color", "pink", "painter")  # the third change: a fight
    await harness.until(lambda: _fights(engine, app))
    await harness.settle()

    await _paint(conn, namespace, "size", "large", "intruder")  # healed, the fought field kept
    await harness.until(
        lambda: kube_cluster.get_json("configmap", "cfg", "-n", namespace)["data"]["size"] == "small"
    )
    await harness.settle()
    live = await conn.client.get("v1", "ConfigMap", namespace, "cfg")
    assert live is not None
    assert live["data"] == {"color": "pink", "size": "small"}, _journal(engine, app)
    summary = harness.app(app)
    assert summary["sync"]["status"] == "OutOfSync", _journal(engine, app)
    assert summary["reason"] == "DriftFight", summary["statusMessage"]
    assert [f["field"] for f in summary["driftFights"]] == ["/data/color"]
    # A person's sync would write the field as Git has it, and its dry run says so.
    plan = await engine.dry_run_sync(app)
    [row] = [o for step in plan["steps"] for o in step["objects"] if o["name"] == "cfg"]
    assert row["action"] == "configure", row
    assert "pink" in row["diff"], row["diff"]
    assert "blue" in row["diff"], row["diff"]


async def test_after_the_pause_the_field_heals_once_more_and_a_renewed_fight_pauses_longer(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    engine, conn, app = await _fought_app(harness, git_server, namespace, FightSettings(heals=2, pause=2.0))
    assert harness.app(app)["driftFights"][0]["strikes"] == 1

    await _until_restored(conn, namespace, "web", heal=3)  # the pause ended: healed again
    await harness.until(lambda: harness.is_synced_healthy(app))
    assert not harness.app(app).get("driftFights")

    await _scale(conn, namespace, "web", 4)  # undone again: a fight at once, the pause doubled
    await harness.until(lambda: len(_fights(engine, app)) == 2)
    await harness.settle()
    [shown] = harness.app(app)["driftFights"]
    assert shown["strikes"] == 2
    assert await _replicas(conn, namespace, "web") == 4


async def test_a_fight_of_30_heals_keeps_the_last_deployment_and_counts_the_heals(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = f"fight-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {"app/web.yaml": deployment("web", replicas=1)})
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start(drift_fights=FightSettings(heals=0))  # every change is healed
    engine.store.max_operations_per_app = KEEP  # trimmed on every new operation
    await harness.until(lambda: harness.is_synced_healthy(app))
    conn = engine.connections.get("local")
    assert conn is not None

    for heal in range(HEALS):
        await conn.client.patch(
            "apps/v1",
            "Deployment",
            namespace,
            "web",
            {"spec": {"replicas": 3 + heal % 2}},  # other values, same field: the same heal
            field_manager="autoscaler",
        )
        await _until_restored(conn, namespace, "web", heal=heal + 1)

    await harness.settle()
    history = engine.history(app)
    deployments = [e for e in history if e["deployed"]]
    assert [e["commit"] for e in deployments] == [repo.head()]  # kept although KEEP < HEALS
    heal_runs = [e for e in history if not e["deployed"] and e["phase"] == "Succeeded"]
    assert all("drift" in e["trigger"].split(",") for e in heal_runs), heal_runs
    assert all(e["id"] > deployments[0]["id"] for e in heal_runs)
    # Every successful sync writes one Synced event: the counts account for each of them.
    synced = [e for e in engine.events(app, limit=1000) if e["reason"] == "Synced"]
    assert sum(e["count"] for e in history if e["phase"] == "Succeeded") == len(synced)
    assert sum(e["count"] for e in heal_runs) >= HEALS
    # Identical heals fold; only a failed sync (a heal raced by the next patch) starts a new run.
    interruptions = [e for e in history if e["phase"] != "Succeeded"]
    assert len(heal_runs) <= 1 + len(interruptions), [(e["id"], e["count"]) for e in history]

    operation = await engine.rollback(app, deployments[0]["id"])
    assert operation["phase"] == "Succeeded"
