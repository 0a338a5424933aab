"""GitCache against real Git servers: what a fetch asks for, and how many fetches triggers cost.

- A remote whose HEAD dangles (points at a branch that does not exist) is fetched fine over every
  transport: branches, tags and commits resolve; only ``HEAD`` fails, with a message that says why.
- However many callers arrive, one fetch runs and one waits; each caller is answered by a fetch that
  started after it arrived, so a push it was told about is never hidden.
- The waiting fetch starts no sooner than ``min_interval`` after the running one started, and every
  caller arriving meanwhile joins it.
- ``holds``: whether the last fetch brought what a push announced (then a trigger needs no fetch).
- ``SourceFetcher``: reconciles that want a fresh repository share the fetch under way (within the
  freshness window) instead of waiting for the next; a push still gets the next.

Git is gated (its start held back) only to fix the order of events; nothing here measures time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from devtools.gitservers import GitServer, git
from tests.integration.sourceservers.transports import TRANSPORTS, credentials_for

import gitward.sources.gitcache as gitcache_module
from conftest import APP_FILES, HTTP_USER
from gitward.core.errors import FetchError
from gitward.reconcile.desired import SourceFetcher
from gitward.render import RenderSettings, RenderTools
from gitward.sources.credentials import GitCredentials
from gitward.sources.gitcache import GitCache

pytestmark = pytest.mark.integration

DANGLING = "refs/heads/does-not-exist"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_dangling_remote_head_breaks_only_apps_that_ask_for_head(
    transport: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    server: GitServer = request.getfixturevalue(transport)
    repo = server.create_repo("apps", APP_FILES, tags=("v1.0.0",))
    creds = credentials_for(transport, server)
    url = server.url("apps")
    cache = GitCache(tmp_path / "cache")
    await cache.fetch(url, credentials=creds)
    assert cache.resolve(url, "HEAD") == repo.head()

    git("symbolic-ref", "HEAD", DANGLING, cwd=repo.bare)
    pushed = repo.commit({"apps/web/deployment.yaml": "changed: true\n"}, tags=("v1.1.0",))
    moved = await cache.fetch(url, credentials=creds)
    assert moved.changed
    assert cache.resolve(url, "main") == pushed
    assert cache.resolve(url, "v1.1.0") == pushed
    assert (await cache.artifact(url, "main", "apps/web", fetch=False)).commit == pushed
    for head in ("HEAD", ""):  # the old HEAD is gone, not kept stale, and no other branch stands in
        with pytest.raises(FetchError, match=r"HEAD.*does not point at an existing branch") as caught:
            cache.resolve(url, head)
        assert caught.value.reason == "RevisionNotFound"

    fresh = GitCache(tmp_path / "fresh")  # a first fetch of a remote whose HEAD already dangles
    await fresh.fetch(url, credentials=creds)
    assert fresh.resolve(url, "main") == pushed
    with pytest.raises(FetchError, match="HEAD"):
        fresh.resolve(url, "HEAD")

    git("symbolic-ref", "HEAD", "refs/heads/main", cwd=repo.bare)
    await cache.fetch(url, credentials=creds)
    assert cache.resolve(url, "HEAD") == pushed


async def test_a_mirror_with_a_master_branch_does_not_answer_head_with_it(
    file_server, tmp_path: Path
) -> None:
    """The mirror's own HEAD names whatever branch ``git init`` chose; it must never stand in."""
    repo = file_server.create_repo("apps", APP_FILES, branch="master")
    repo.commit({"b.txt": "on main"}, branch="main")
    git("symbolic-ref", "HEAD", DANGLING, cwd=repo.bare)
    cache = GitCache(tmp_path / "cache")
    url = file_server.url("apps")
    await cache.fetch(url)
    assert cache.resolve(url, "master") != cache.resolve(url, "main")
    with pytest.raises(FetchError, match="HEAD"):
        cache.resolve(url, "HEAD")


def _apps_mirror(http_server: Any, tmp_path: Path) -> tuple[Any, Any, str, GitCache]:
    """The ``apps`` repository on the smart-HTTP server: it, its credentials, its URL, an empty cache."""
    repo = http_server.create_repo("apps", APP_FILES)
    url = http_server.url("apps")
    return repo, credentials_for("http_server", http_server), url, GitCache(tmp_path / "cache")


class FetchGate:
    """Holds every ``git fetch`` back after git has read the remote and before the cache hears of
    it, so the test fixes the order of events: a push made while a fetch is held is one that fetch
    did not see. ``started(n)``: wait until the n-th fetch is held."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.released: list[asyncio.Event] = []
        self._held = asyncio.Condition()
        real_run_git = gitcache_module.run_git

        async def gated(args: list[str], **kwargs: Any) -> str:
            out = await real_run_git(args, **kwargs)
            if args[0] == "fetch":
                go = asyncio.Event()
                async with self._held:
                    self.released.append(go)
                    self._held.notify_all()
                await go.wait()
            return out

        monkeypatch.setattr(gitcache_module, "run_git", gated)

    async def started(self, count: int) -> None:
        async with self._held:
            await self._held.wait_for(lambda: len(self.released) >= count)


async def test_any_number_of_callers_share_one_running_and_one_waiting_fetch(
    http_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, creds, url, cache = _apps_mirror(http_server, tmp_path)
    gate = FetchGate(monkeypatch)

    before = repo.head()
    running = asyncio.create_task(cache.fetch(url, credentials=creds))
    await gate.started(1)  # the first fetch has read the remote: it cannot know of the push below
    first_push = repo.commit({"apps/web/a.yaml": "a: 1\n"})
    wave1 = [asyncio.create_task(cache.fetch(url, credentials=creds)) for _ in range(500)]
    await asyncio.sleep(0)
    gate.released[0].set()
    await gate.started(2)  # the waiting fetch ran for all of wave 1
    second_push = repo.commit({"apps/web/b.yaml": "b: 1\n"})
    wave2 = [asyncio.create_task(cache.fetch(url, credentials=creds)) for _ in range(500)]
    await asyncio.sleep(0)
    gate.released[1].set()
    await gate.started(3)
    gate.released[2].set()

    assert (await running).refs["refs/heads/main"] == before
    one, two = await asyncio.gather(*wave1), await asyncio.gather(*wave2)
    assert cache.fetch_count == 3
    assert all(r is one[0] for r in one)
    assert all(r is two[0] for r in two)
    assert one[0].refs["refs/heads/main"] == first_push  # not the running fetch's answer
    assert two[0].refs["refs/heads/main"] == second_push


class _AsyncioWithGatedSleep:
    """The ``asyncio`` module as ``gitcache`` sees it, except that ``sleep`` waits for the test."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


async def test_the_waiting_fetch_keeps_min_interval_and_every_caller_meanwhile_joins_it(
    file_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = file_server.create_repo("apps", APP_FILES)
    url = file_server.url("apps")
    delays: list[float] = []
    sleeping, spacing_over = asyncio.Event(), asyncio.Event()

    async def gated_sleep(delay: float) -> None:
        delays.append(delay)
        sleeping.set()
        await spacing_over.wait()

    monkeypatch.setattr(gitcache_module, "asyncio", _AsyncioWithGatedSleep(gated_sleep))
    cache = GitCache(tmp_path / "cache", min_interval=30.0)
    await cache.fetch(url)
    assert delays == []  # nothing fetched before: the first fetch starts at once

    waiting = asyncio.create_task(cache.fetch(url))
    await asyncio.wait_for(sleeping.wait(), timeout=60)  # bounded: a missing wait would hang
    assert 0 < delays[0] <= 30.0
    pushed = repo.commit({"apps/web/new.yaml": "x: 1\n"})
    joined = [asyncio.create_task(cache.fetch(url)) for _ in range(200)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert cache.fetch_count == 1  # still waiting out the interval
    spacing_over.set()
    results = await asyncio.gather(waiting, *joined)
    assert cache.fetch_count == 2
    assert all(r is results[0] for r in results)
    assert results[0].refs["refs/heads/main"] == pushed
    assert len(delays) == 1


async def test_holds_says_whether_the_last_fetch_brought_what_a_push_announced(
    file_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = file_server.create_repo("apps", APP_FILES, tags=("v1",))
    url = file_server.url("apps")
    cache = GitCache(tmp_path / "cache")
    assert not cache.holds(url, {"refs/heads/main": repo.head()})  # no mirror yet
    await cache.fetch(url)
    head = repo.head()
    tag = git("rev-parse", "refs/tags/v1", cwd=repo.work)
    zero = "0" * 40
    assert cache.holds(url, {"refs/heads/main": head})
    assert cache.holds(url, {"refs/heads/main": head.upper(), "refs/tags/v1": tag})
    assert cache.holds(url, {"refs/heads/gone": zero})  # a deleted branch the mirror does not have
    assert not cache.holds(url, {"refs/heads/main": zero})
    assert not cache.holds(url, {"refs/heads/main": head, "refs/heads/other": head})
    assert not cache.holds(url, {})  # nothing announced: fetch
    assert not cache.holds(url, {"refs/pull/1/head": head})  # not mirrored
    restarted = GitCache(tmp_path / "cache")  # the same mirror on disk, a new process
    assert not restarted.holds(url, {"refs/heads/main": head})  # it fetches once before trusting it

    newer = repo.commit({"apps/web/new.yaml": "x: 1\n"})
    assert not cache.holds(url, {"refs/heads/main": newer})
    gate = FetchGate(monkeypatch)
    running = asyncio.create_task(cache.fetch(url))
    await gate.started(1)  # git has brought ``newer`` into the mirror; the fetch has not finished
    assert cache.holds(url, {"refs/heads/main": head})  # what the last fetch brought stays known
    assert not cache.holds(url, {"refs/heads/main": newer})  # news only once the fetch is done
    gate.released[0].set()
    await running
    assert cache.holds(url, {"refs/heads/main": newer})
    assert cache.resolve(url, "main") == newer


async def test_a_waiting_fetch_whose_callers_were_told_of_what_the_mirror_now_holds_runs_no_git(
    http_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, creds, url, cache = _apps_mirror(http_server, tmp_path)
    await cache.fetch(url, credentials=creds)
    gate = FetchGate(monkeypatch)

    pushed = repo.commit({"apps/web/a.yaml": "a: 1\n"})
    told = {"refs/heads/main": pushed}
    running = asyncio.create_task(cache.fetch(url, credentials=creds, unless_held=told))
    await gate.started(1)  # git is reading the remote: it brings ``pushed``
    late = [asyncio.create_task(cache.fetch(url, credentials=creds, unless_held=told)) for _ in range(50)]
    await asyncio.sleep(0)
    gate.released[0].set()
    assert (await running).refs["refs/heads/main"] == pushed
    answers = await asyncio.gather(*late)
    assert cache.fetch_count == 2  # the first fetch and the one above: the waiting one ran no git
    assert len(gate.released) == 1
    assert all(a.refs["refs/heads/main"] == pushed and not a.changed for a in answers)

    # one caller told nothing (or of something newer) makes the waiting fetch run
    newer = repo.commit({"apps/web/b.yaml": "b: 1\n"})
    first = asyncio.create_task(cache.fetch(url, credentials=creds, unless_held={"refs/heads/main": newer}))
    await gate.started(2)
    joined = [
        asyncio.create_task(cache.fetch(url, credentials=creds, unless_held=told)),
        asyncio.create_task(cache.fetch(url, credentials=creds)),
    ]
    await asyncio.sleep(0)
    gate.released[1].set()
    await first
    await gate.started(3)
    gate.released[2].set()
    results = await asyncio.gather(*joined)
    assert cache.fetch_count == 4
    assert all(r.refs["refs/heads/main"] == newer for r in results)


async def test_a_failed_fetch_forgets_what_the_mirror_held(http_server, tmp_path: Path) -> None:
    """A failed fetch may have moved some refs: until a fetch succeeds again, every push is fetched."""
    repo, creds, url, cache = _apps_mirror(http_server, tmp_path)
    await cache.fetch(url, credentials=creds)
    assert cache.holds(url, {"refs/heads/main": repo.head()})
    with pytest.raises(FetchError):
        await cache.fetch(url, credentials=GitCredentials(username=HTTP_USER, password="wrong-password"))
    assert not cache.holds(url, {"refs/heads/main": repo.head()})


def _fetcher(tmp_path: Path, *, freshness: float) -> SourceFetcher:
    """No minimum interval between fetches: a fetch a caller did not share starts when the gate lets it."""
    tools = RenderTools(kustomize=Path("/nonexistent/kustomize"), helm=Path("/nonexistent/helm"), timeout=5)
    return SourceFetcher(
        cache_dir=tmp_path / "cache",
        tools=tools,
        render_settings=RenderSettings(),
        render_cache_entries=8,
        fetch_freshness=freshness,
        fetch_min_interval=0.0,
    )


async def test_reconciles_share_the_fetch_under_way_where_a_push_gets_the_next(
    file_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At start every app of a repository wants it fresh: those arriving while the first fetch runs
    take its answer instead of waiting ``min_interval`` for the next; a push still gets a fetch that
    starts after it (``GitCache``), so what it announced is never hidden."""
    repo = file_server.create_repo("apps", APP_FILES)
    url = file_server.url("apps")
    fetcher = _fetcher(tmp_path, freshness=60.0)
    gate = FetchGate(monkeypatch)

    first = asyncio.create_task(fetcher.fetch_repository(url, join_running=True))
    await gate.started(1)
    others = [asyncio.create_task(fetcher.fetch_repository(url, join_running=True)) for _ in range(20)]
    pushed = repo.commit({"apps/web/a.yaml": "a: 1\n"})
    push = asyncio.create_task(fetcher.fetch_repository(url, unless_held={"refs/heads/main": pushed}))
    for _ in range(5):
        await asyncio.sleep(0)
    gate.released[0].set()
    # bounded: a caller given the next fetch instead would wait for a gate never opened before this
    shared = await asyncio.wait_for(asyncio.gather(first, *others), timeout=60)
    assert all(result is shared[0] for result in shared)
    assert shared[0].refs["refs/heads/main"] != pushed

    await gate.started(2)
    gate.released[1].set()
    assert (await push).refs["refs/heads/main"] == pushed
    assert fetcher.git.fetch_count == 2  # the reconciles' one and the push's


async def test_a_fetch_under_way_older_than_the_freshness_window_is_not_shared(
    file_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file_server.create_repo("apps", APP_FILES)
    url = file_server.url("apps")
    fetcher = _fetcher(tmp_path, freshness=0.0)
    gate = FetchGate(monkeypatch)

    first = asyncio.create_task(fetcher.fetch_repository(url, join_running=True))
    await gate.started(1)
    later = asyncio.create_task(fetcher.fetch_repository(url, join_running=True))
    for _ in range(5):
        await asyncio.sleep(0)
    gate.released[0].set()
    await gate.started(2)
    gate.released[1].set()
    one, two = await asyncio.gather(first, later)
    assert fetcher.git.fetch_count == 2
    assert one is not two
