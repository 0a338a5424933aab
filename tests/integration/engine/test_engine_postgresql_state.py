"""The engine with its state in PostgreSQL (``EngineSettings.database``, what ``--state postgresql://``
sets): an app syncs, and a restart on the same database knows everything it did -- no write and no
dry-run -- while no SQLite file is made."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap, deployment

from gitward.store import Store

pytestmark = pytest.mark.integration


async def test_an_app_synced_with_state_in_postgresql_restarts_with_no_writes(
    harness: Harness,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
    postgres_url: str,
) -> None:
    name = f"pg-{uuid.uuid4().hex[:6]}"
    git_server.create_repo(
        name, {"app/cfg.yaml": configmap("cfg", {"color": "blue"}), "app/deploy.yaml": deployment("web")}
    )
    harness.configure(application(name, repo=git_server.url(name), path="app", namespace=namespace))
    engine = await harness.start(database=postgres_url)
    assert engine.store.dialect == "postgresql"
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()
    await harness.stop()
    with Store.open(postgres_url) as store:  # what another process reading the database sees
        assert [op["phase"] for op in store.list_operations(name)] == ["Succeeded"]
        assert len(store.load_inventory(name)) == 2

    engine = await harness.start(database=postgres_url)
    await harness.until(lambda: engine.reconciles >= 1)
    await harness.settle()
    await harness.until(lambda: harness.is_synced_healthy(name))
    await harness.settle()
    conn = engine.connections.get("local")
    assert conn is not None
    seen = dict(conn.client.request_counts())
    assert {verb: seen.get(verb, 0) for verb in ("apply", "dryrun", "delete", "other")} == dict.fromkeys(
        ("apply", "dryrun", "delete", "other"), 0
    ), seen
    assert {r["kind"] for r in harness.app(name)["resources"]} >= {"ConfigMap", "Deployment"}
    assert not harness.state.exists()  # the state is the database's, no SQLite file beside it
