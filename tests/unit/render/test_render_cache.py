"""RenderCache: LRU bound, hit/miss counters, shared in-flight renders, errors not cached."""

from __future__ import annotations

import asyncio

import pytest

from gitward.core.errors import RenderError
from gitward.render.cache import RenderCache, RenderKey
from gitward.render.params import HelmParams, RenderParams
from gitward.render.result import RenderResult


def key(tree: str, *, tool: str = "plain", kube: str = "v1.36.3", apis: tuple[str, ...] = ()) -> RenderKey:
    return RenderKey.build(
        tree=tree, params=RenderParams().digest(), tool=tool, kube_version=kube, api_versions=apis
    )


def result(name: str) -> RenderResult:
    return RenderResult(manifests=({"metadata": {"name": name}},), digest=name, engine="plain")


def test_lru_eviction_and_counters() -> None:
    cache = RenderCache(max_entries=2)
    cache.put(key("a"), result("a"))
    cache.put(key("b"), result("b"))
    assert cache.get(key("a")) == result("a")  # a is now the most recent
    cache.put(key("c"), result("c"))
    assert cache.get(key("b")) is None
    assert cache.get(key("a")) is not None
    assert cache.get(key("c")) is not None
    assert (cache.hits, cache.misses, len(cache)) == (3, 1, 2)


def test_key_includes_tool_kube_version_apis_and_params() -> None:
    assert key("a") == key("a")
    assert key("a") != key("a", tool="helm v3.22.0")
    assert key("a") != key("a", kube="v1.35.0")
    assert key("a", apis=("x/v1", "y/v1")) == key("a", apis=("y/v1", "x/v1"))
    assert key("a", apis=("x/v1",)) != key("a")
    changed = RenderParams(helm=HelmParams(values={"replicas": 2})).digest()
    assert changed != RenderParams().digest()
    assert changed == RenderParams(helm=HelmParams(values={"replicas": 2})).digest()


async def test_concurrent_requests_share_one_render() -> None:
    cache = RenderCache()
    calls = 0
    gate = asyncio.Event()

    async def produce() -> RenderResult:
        nonlocal calls
        calls += 1
        await gate.wait()
        return result("a")

    tasks = [asyncio.create_task(cache.get_or_render(key("a"), produce)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == [result("a")] * 3
    assert calls == 1
    assert await cache.get_or_render(key("a"), produce) == result("a")
    assert (calls, cache.hits) == (1, 1)


async def test_errors_are_not_cached() -> None:
    cache = RenderCache()

    async def fail() -> RenderResult:
        raise RenderError("boom")

    with pytest.raises(RenderError):
        await cache.get_or_render(key("a"), fail)
    assert len(cache) == 0

    async def succeed() -> RenderResult:
        return result("a")

    assert await cache.get_or_render(key("a"), succeed) == result("a")


def test_fit_makes_room_for_every_app_and_a_quarter_more_never_less_than_its_floor() -> None:
    cache = RenderCache(max_entries=4)
    cache.fit(10_000)
    assert cache.max_entries == 12_500
    for index in range(10_000):  # a fleet larger than the floor: every render stays
        cache.put(key(f"t{index}"), result(f"r{index}"))
    assert all(cache.get(key(f"t{index}")) is not None for index in range(10_000))
    cache.fit(2)  # the fleet shrank: back to the floor, the oldest dropped at once
    assert (cache.max_entries, len(cache)) == (4, 4)
    assert cache.get(key("t9999")) is not None
    assert cache.get(key("t0")) is None
