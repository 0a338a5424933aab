"""One owner per object, decided atomically (docs/reliability.md, bad input 8), against a real cluster.

Two apps of one engine render the same new objects and are queued at once: exactly one owns every
object, the other is refused with ``SharedResource`` naming the owner, on every later pass too, and
the loser's later syncs never touch the owner's objects. Two engines (two claim registries, as two
gitward processes would have) racing for the same objects leave each object exactly one owner through
the write preconditions alone. An app notices when an object it declares is deleted out of band.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.marks import owner_of
from gitward.reconcile.runtime import SyncRequest

pytestmark = pytest.mark.integration

ROUNDS = 20
OBJECTS = 20


@pytest.fixture
async def kube(kube_cluster: Any) -> AsyncIterator[LightkubeClient]:
    """A client of the test's own, to read the cluster without starting kubectl each time."""
    client = await LightkubeClient.from_kubeconfig(kube_cluster.kubeconfig)
    try:
        yield client
    finally:
        await client.close()


async def _live(kube: LightkubeClient, namespace: str) -> dict[str, dict[str, Any]]:
    items, _ = await kube.list("v1", "ConfigMap", namespace=namespace)
    return {item["metadata"]["name"]: item for item in items}


async def _marks(kube: LightkubeClient, namespace: str, names: list[str]) -> dict[str, str | None]:
    """The app each live object's mark names (None when absent or unmarked)."""
    live = await _live(kube, namespace)
    return {name: owner_of(live[name]) if name in live else None for name in names}


def _ready(harness: Harness, app: str) -> dict[str, Any]:
    """The app's Ready condition (empty before its first pass ends)."""
    return next((c for c in harness.app(app)["conditions"] if c["type"] == "Ready"), {})


def _refused_for(harness: Harness, app: str, owner: str) -> bool:
    ready = _ready(harness, app)
    return bool(
        ready["status"] == "False"
        and ready["reason"] == "SharedResource"
        and f"is managed by application {owner!r}" in ready["message"]
    )


async def _race_round(
    harness: Harness, git_server: FileGitServer, namespace: str, kube: LightkubeClient, round_no: int
) -> None:
    tag = f"r{round_no}-{uuid4().hex[:4]}"
    first, second = f"race-{tag}-a", f"race-{tag}-b"
    names = [f"shared-{tag}-{i}" for i in range(OBJECTS)]
    files = {f"{app}/{name}.yaml": configmap(name, {"k": "v"}) for app in (first, second) for name in names}
    repo = git_server.create_repo(tag, files)
    url = git_server.url(tag)
    harness.configure(
        application(first, repo=url, path=first, namespace=namespace),
        application(second, repo=url, path=second, namespace=namespace),
    )
    engine = await harness.start()  # both apps are queued at once and run side by side
    await harness.settle()

    synced = [app for app in (first, second) if harness.is_synced_healthy(app)]
    assert len(synced) == 1, [harness.app(a) for a in (first, second)]
    owner = synced[0]
    loser = second if owner == first else first
    assert _refused_for(harness, loser, owner), _ready(harness, loser)
    assert set((await _marks(kube, namespace, names)).values()) == {owner}

    # Never a flip-flop: more passes of both change nothing and write nothing.
    writes = harness.writes()
    for app in (loser, owner, loser):
        await engine.reconcile(engine.runtimes[app], SyncRequest(trigger="check"))
    assert harness.writes() == writes
    assert _refused_for(harness, loser, owner)
    assert harness.is_synced_healthy(owner)
    if round_no % 4 == 0:
        await _loser_gives_up(harness, repo, names, owner=owner, loser=loser, kube=kube, namespace=namespace)
    await harness.stop()


async def _loser_gives_up(
    harness: Harness,
    repo: Any,
    names: list[str],
    *,
    owner: str,
    loser: str,
    kube: LightkubeClient,
    namespace: str,
) -> None:
    """The loser removes the objects from Git and syncs something else: the owner's objects survive."""
    assert harness.engine is not None
    tag = uuid4().hex[:6]
    mine = f"own-{tag}"
    repo.commit({**{f"{loser}/{n}.yaml": None for n in names}, f"{loser}/{mine}.yaml": configmap(mine, {})})
    await harness.engine.refresh_app(loser)
    await harness.until(lambda: harness.is_synced_healthy(loser))
    assert set((await _marks(kube, namespace, names)).values()) == {owner}
    assert await _marks(kube, namespace, [mine]) == {mine: loser}
    assert harness.is_synced_healthy(owner)


async def test_two_apps_racing_for_new_objects_end_with_one_owner_and_one_refused_app(
    harness: Harness, git_server: FileGitServer, namespace: str, kube: LightkubeClient
) -> None:
    for round_no in range(ROUNDS):
        await _race_round(harness, git_server, namespace, kube, round_no)


async def test_two_engines_racing_for_new_objects_leave_each_object_one_owner(
    harness: Harness,
    git_server: FileGitServer,
    namespace: str,
    kube_cluster: Any,
    kube: LightkubeClient,
    tmp_path: Path,
) -> None:
    # Two engines share nothing but the cluster, as two gitward processes would: neither one's
    # in-process claims can stop the other, only the preconditions of the writes can.
    tag = uuid4().hex[:6]
    first, second = f"proc-{tag}-a", f"proc-{tag}-b"
    names = [f"contested-{tag}-{i}" for i in range(OBJECTS)]
    files = {f"{app}/{name}.yaml": configmap(name, {"by": app}) for app in (first, second) for name in names}
    git_server.create_repo(tag, files)
    url = git_server.url(tag)
    other = Harness(tmp_path / "other", kube_cluster.kubeconfig)
    harness.configure(application(first, repo=url, path=first, namespace=namespace))
    other.configure(application(second, repo=url, path=second, namespace=namespace))
    try:
        await asyncio.gather(harness.start(), other.start())
        apps = {first: harness, second: other}

        def settled() -> bool:
            """Each app is Synced or refused with SharedResource (its failed writes retried first)."""
            return all(
                h.is_synced_healthy(app) or _ready(h, app).get("reason") == "SharedResource"
                for app, h in apps.items()
            )

        await harness.until(settled)
        marks = await _marks(kube, namespace, names)
        assert set(marks.values()) <= {first, second}
        assert None not in marks.values()
        live = await _live(kube, namespace)
        data = {name: live[name]["data"]["by"] for name in names}
        assert data == marks  # every object is exactly as its owner wrote it, never re-marked

        for app, h in apps.items():
            lost = sorted(name for name, owner in marks.items() if owner != app)
            if not lost:
                assert h.is_synced_healthy(app)
                continue
            other_app = second if app == first else first
            assert _refused_for(h, app, other_app)
            assert lost[0] in _ready(h, app)["message"]

        for app, h in apps.items():
            assert h.engine is not None
            await h.engine.refresh_app(app)
        assert await _marks(kube, namespace, names) == marks
    finally:
        await other.stop()


async def test_an_app_without_self_heal_notices_a_deleted_object_at_once(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    app = f"victim-{uuid4().hex[:6]}"
    git_server.create_repo(
        app,
        {"app/a.yaml": configmap(f"{app}-a", {"k": "v"}), "app/b.yaml": configmap(f"{app}-b", {"k": "v"})},
    )
    harness.configure(
        application(app, repo=git_server.url(app), path="app", namespace=namespace, self_heal=False)
    )
    await harness.start()
    await harness.until(lambda: harness.is_synced_healthy(app))
    await harness.settle()
    writes = harness.writes()

    kube_cluster.kubectl("delete", "configmap", f"{app}-a", "-n", namespace)

    # No refresh: the watch's delete event alone wakes the app.
    await harness.until(lambda: harness.app(app)["sync"]["status"] == "OutOfSync")
    status = harness.app(app)
    row = next(r for r in status["resources"] if r["name"] == f"{app}-a")
    assert row["sync"] == "OutOfSync"
    assert row["health"] == "Missing"
    assert status["health"]["status"] == "Missing"
    await harness.settle()
    assert harness.writes() == writes
    assert not kube_cluster.kubectl("get", "configmap", f"{app}-a", "-n", namespace, "--ignore-not-found")
