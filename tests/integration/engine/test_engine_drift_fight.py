"""A drift fight: another field manager keeps scaling a Deployment, self-heal keeps scaling it back.

Each heal is a sync. Before heals were folded, each one added a history entry, and a fight of a few
minutes pushed the real deployments out of the kept history. Here the history keeps only five entries
per app and the fight lasts 30 heals (each one waited for on the live object). What must hold: the
deployment is still there as a rollback target, the heals share one entry (a new run only after a
failed sync), the counts account for every successful sync (each also writes one Synced event: an
independent tally), and rolling back to the deployment still works.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, deployment

from gitward.cluster.connection import ClusterConnection

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


async def test_a_fight_of_30_heals_keeps_the_last_deployment_and_counts_the_heals(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = f"fight-{uuid4().hex[:6]}"
    repo = git_server.create_repo(app, {"app/web.yaml": deployment("web", replicas=1)})
    harness.configure(application(app, repo=git_server.url(app), path="app", namespace=namespace))
    engine = await harness.start()
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
