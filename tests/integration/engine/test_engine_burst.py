"""docs/reliability.md, F8: a burst of commits and webhooks (tens per second) is coalesced, and every app
converges to the newest content of its path; nothing is lost."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from uuid import uuid4

import pytest
from devtools.gitservers import FileGitServer
from tests.integration.engine.harness import Harness, application, configmap

from gitward.reconcile.runtime import AppRuntime, SyncRequest

pytestmark = pytest.mark.integration


async def test_a_burst_of_commits_and_webhooks_is_coalesced_and_converges_to_the_newest(
    harness: Harness, git_server: FileGitServer, namespace: str, kube_cluster: Any
) -> None:
    first, second = f"burst-a-{uuid4().hex[:6]}", f"burst-b-{uuid4().hex[:6]}"
    files = {"a/config.yaml": configmap(first, {"n": "0"}), "b/config.yaml": configmap(second, {"n": "0"})}
    repo = git_server.create_repo(first, files)
    url = git_server.url(first)
    harness.configure(
        application(first, repo=url, path="a", namespace=namespace),
        application(second, repo=url, path="b", namespace=namespace),
    )
    engine = await harness.start(fetch_freshness=2.0)
    await harness.until(lambda: harness.is_synced_healthy(first) and harness.is_synced_healthy(second))
    await harness.settle()

    passes: Counter[str] = Counter()
    reconcile = engine.reconcile

    async def counted(rt: AppRuntime, req: SyncRequest) -> int | None:
        passes[rt.name] += 1
        return await reconcile(rt, req)

    engine.reconcile = counted  # type: ignore[method-assign]
    fetches_before = engine.fetcher.git.fetch_count
    triggers: list[asyncio.Task[list[str]]] = []
    for n in range(1, 11):  # commits, each announced at once, while earlier ones are still handled
        repo.commit({"a/config.yaml": configmap(first, {"n": str(n)})}, message=f"a {n}")
        repo.push()
        triggers.append(asyncio.create_task(engine.trigger_repository(url)))
        await asyncio.sleep(0.02)
    repo.commit({"b/config.yaml": configmap(second, {"n": "final"})}, message="b final")
    repo.push()
    burst = [asyncio.create_task(engine.trigger_repository(url)) for _ in range(20)]  # redeliveries
    await asyncio.gather(*triggers, *burst)
    await harness.settle()

    head = repo.head()
    await harness.until(lambda: harness.app(second)["sync"]["revision"] == head)
    # The last commit touched b only, so a stays at whichever commit its last pass saw, as long as
    # that commit's a/ is the newest one (a pass for a commit that did not change a is never queued).
    git = engine.fetcher.git
    seen = harness.app(first)["sync"]["revision"]
    assert git.tree_hash(url, seen, "a") == git.tree_hash(url, head, "a")
    assert kube_cluster.get_json("configmap", first, "-n", namespace)["data"] == {"n": "10"}
    assert kube_cluster.get_json("configmap", second, "-n", namespace)["data"] == {"n": "final"}
    assert harness.is_synced_healthy(first)
    assert harness.is_synced_healthy(second)

    webhooks = len(triggers) + len(burst)
    assert engine.fetcher.git.fetch_count - fetches_before < webhooks, "fetches were coalesced"
    assert passes[first] < webhooks, "reconciles of one app were coalesced"
    assert passes[second] < webhooks
