"""Cache logic over an in-memory fake client: scripted watch streams, 410 Gone, broken connections.

The fake only drives timing and ordering; tests/integration/test_cluster_cache.py proves the same
behaviour against a real API server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from gitward.cluster.cache import CacheSettings, ClusterCache, diff_snapshots, strip_object
from gitward.cluster.client import ApiResource, WatchEvent
from gitward.core.errors import ClusterError
from gitward.core.keys import ResourceKey

_END = object()


def _cm(name: str, rv: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "resourceVersion": rv,
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {}}}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "keep": "me"},
        },
        "data": data,
    }


class FakeKube:
    """Just enough of KubeClient for the cache: a list result and watch streams fed by the test."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.rv = "10"
        self.list_calls = 0
        self.watch_versions: list[str] = []
        self.streams: list[asyncio.Queue[Any]] = []
        self.fail_list: ClusterError | None = None

    async def list(self, api_version: str, kind: str, **_: Any) -> tuple[list[dict[str, Any]], str]:
        self.list_calls += 1
        if self.fail_list is not None:
            raise self.fail_list
        return [dict(o) for o in self.items.values()], self.rv

    async def watch(
        self, api_version: str, kind: str, *, resource_version: str, timeout_seconds: int = 300
    ) -> AsyncIterator[WatchEvent]:
        self.watch_versions.append(resource_version)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.streams.append(queue)
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    async def push(self, item: Any, *, stream: int) -> None:
        await until(lambda: len(self.streams) > stream)
        await self.streams[stream].put(item)

    # Unused verbs of the protocol.
    async def server_version(self) -> str:
        return "v0"

    async def api_versions(self) -> list[str]:
        return []

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        raise NotImplementedError

    async def apply(self, obj: Mapping[str, Any], **_: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def get(self, *_: Any) -> dict[str, Any] | None:
        raise NotImplementedError

    async def delete(self, *_: Any, **__: Any) -> bool:
        raise NotImplementedError

    def request_counts(self) -> Mapping[str, int]:
        return {}

    async def close(self) -> None:
        return None


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for ``predicate``; the deadline only turns a hang into a failure."""
    async with asyncio.timeout(10):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)


FAST = CacheSettings(backoff_base=0.001, backoff_max=0.01)
KEY_A = ResourceKey("", "ConfigMap", "ns", "a")
KEY_B = ResourceKey("", "ConfigMap", "ns", "b")


@pytest.fixture
async def setup() -> AsyncIterator[
    tuple[FakeKube, ClusterCache, list[tuple[str, ResourceKey, dict[str, Any]]]]
]:
    fake = FakeKube()
    fake.items["a"] = _cm("a", "5", x="1")
    cache = ClusterCache(fake, settings=FAST)  # type: ignore[arg-type]
    events: list[tuple[str, ResourceKey, dict[str, Any]]] = []
    cache.on_change(lambda t, k, o: events.append((t, k, o)))
    yield fake, cache, events
    await cache.stop()


async def test_initial_list_is_loaded_stripped_and_not_reported(setup: Any) -> None:
    fake, cache, events = setup
    await cache.ensure_watched("v1", "ConfigMap")
    await cache.ensure_watched("v1", "ConfigMap")  # second call: no second list
    assert fake.list_calls == 1
    obj = cache.get(KEY_A)
    assert obj is not None
    assert "managedFields" not in obj["metadata"]
    assert obj["metadata"]["annotations"] == {"keep": "me"}
    assert events == []
    assert cache.get(ResourceKey("apps", "Deployment", "ns", "a")) is None
    await until(lambda: fake.watch_versions == ["10"])


async def test_watch_events_update_the_copy_and_reach_subscribers(setup: Any) -> None:
    fake, cache, events = setup
    await cache.ensure_watched("v1", "ConfigMap")
    await fake.push(WatchEvent("ADDED", _cm("b", "11")), stream=0)
    await fake.push(WatchEvent("MODIFIED", _cm("a", "12", x="2")), stream=0)
    await fake.push(WatchEvent("DELETED", _cm("b", "13")), stream=0)
    await fake.push(WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "20"}}), stream=0)
    await until(lambda: cache.resource_version("v1", "ConfigMap") == "20")
    assert [(t, k) for t, k, _ in events] == [("ADDED", KEY_B), ("MODIFIED", KEY_A), ("DELETED", KEY_B)]
    assert all("managedFields" not in o["metadata"] for _, _, o in events)
    assert cache.get(KEY_B) is None
    assert cache.get(KEY_A)["data"] == {"x": "2"}  # type: ignore[index]
    assert [o["metadata"]["name"] for o in cache.objects(kind="ConfigMap")] == ["a"]


async def test_410_relists_and_reports_what_was_missed(setup: Any) -> None:
    fake, cache, events = setup
    fake.items["gone"] = _cm("gone", "6")
    await cache.ensure_watched("v1", "ConfigMap")
    # While the watch is away, a is modified, b is created and "gone" is deleted.
    fake.items = {"a": _cm("a", "30", x="3"), "b": _cm("b", "31")}
    fake.rv = "31"
    await fake.push(ClusterError("too old resource version", status=410), stream=0)
    await until(lambda: len(fake.watch_versions) == 2)
    assert fake.watch_versions[1] == "31"  # the new watch starts from the relist's version
    assert cache.relist_count("v1", "ConfigMap") == 1
    got = sorted((t, k.name) for t, k, _ in events)
    assert got == [("ADDED", "b"), ("DELETED", "gone"), ("MODIFIED", "a")]


async def test_a_write_shows_before_its_watch_event_and_tells_no_subscriber(setup: Any) -> None:
    fake, cache, events = setup
    await cache.ensure_watched("v1", "ConfigMap")
    with cache.writing() as note:
        note(_cm("b", "11", y="1"))
    written = cache.get(KEY_B)
    assert written is not None
    assert written["data"] == {"y": "1"}
    assert "managedFields" not in written["metadata"]
    assert events == []  # the watch's own ADDED tells subscribers
    await fake.push(WatchEvent("ADDED", _cm("b", "11", y="1")), stream=0)
    await until(lambda: len(events) == 1)
    assert [(t, k) for t, k, _ in events] == [("ADDED", KEY_B)]


async def test_a_write_never_overwrites_what_the_watch_said(setup: Any) -> None:
    fake, cache, events = setup
    await cache.ensure_watched("v1", "ConfigMap")
    with cache.writing() as note:
        # a controller changed the object after our write: its event came before our answer
        await fake.push(WatchEvent("MODIFIED", _cm("a", "21", x="controller")), stream=0)
        await until(lambda: len(events) == 1)
        note(_cm("a", "20", x="ours"))
    assert cache.get(KEY_A)["data"] == {"x": "controller"}  # type: ignore[index]


async def test_a_deletion_heard_during_the_write_wins_over_its_answer(setup: Any) -> None:
    fake, cache, events = setup
    await cache.ensure_watched("v1", "ConfigMap")
    with cache.writing() as note:
        await fake.push(WatchEvent("ADDED", _cm("b", "11")), stream=0)
        await fake.push(WatchEvent("DELETED", _cm("b", "12")), stream=0)
        await until(lambda: len(events) == 2)
        note(_cm("b", "11"))
    assert cache.get(KEY_B) is None


async def test_a_deletion_before_the_write_began_does_not_hide_it(setup: Any) -> None:
    fake, cache, _events = setup
    await cache.ensure_watched("v1", "ConfigMap")
    with cache.writing():  # a write in flight keeps deletions in mind
        await fake.push(WatchEvent("DELETED", _cm("a", "11")), stream=0)
        await until(lambda: cache.get(KEY_A) is None)
        with cache.writing() as note:  # re-created after the deletion
            note(_cm("a", "12", x="again"))
    assert cache.get(KEY_A)["data"] == {"x": "again"}  # type: ignore[index]


async def test_a_relist_during_the_write_wins_over_its_answer(setup: Any) -> None:
    fake, cache, _events = setup
    await cache.ensure_watched("v1", "ConfigMap")
    with cache.writing() as note:
        fake.rv = "40"
        await fake.push(ClusterError("too old resource version", status=410), stream=0)
        await until(lambda: cache.relist_count("v1", "ConfigMap") == 1)
        note(_cm("b", "39"))
    assert cache.get(KEY_B) is None  # the list did not have it: gone again, or never there


async def test_a_write_of_a_kind_not_watched_is_not_kept(setup: Any) -> None:
    _fake, cache, _events = setup
    with cache.writing() as note:
        note(_cm("b", "11"))
    await cache.ensure_watched("v1", "ConfigMap")
    assert cache.get(KEY_B) is None


async def test_broken_watch_reconnects_from_the_last_version_seen(setup: Any) -> None:
    fake, cache, _ = setup
    await cache.ensure_watched("v1", "ConfigMap")
    await fake.push(WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "15"}}), stream=0)
    await fake.push(ClusterError("connection reset", status=0), stream=0)
    await until(lambda: len(fake.watch_versions) == 2)
    await fake.push(_END, stream=1)  # server timeout: resume, no relist
    await until(lambda: len(fake.watch_versions) == 3)
    assert fake.watch_versions == ["10", "15", "15"]
    assert fake.list_calls == 1


async def test_failing_subscriber_does_not_stop_others(setup: Any) -> None:
    fake, cache, events = setup

    def broken(*_: Any) -> None:
        raise RuntimeError("subscriber bug")

    cache.on_change(broken)
    await cache.ensure_watched("v1", "ConfigMap")
    await fake.push(WatchEvent("ADDED", _cm("b", "11")), stream=0)
    await fake.push(WatchEvent("ADDED", _cm("c", "12")), stream=0)
    await until(lambda: len(events) == 2)


async def test_unsubscribe(setup: Any) -> None:
    fake, cache, events = setup
    seen: list[str] = []
    unsubscribe = cache.on_change(lambda t, k, o: seen.append(k.name))
    await cache.ensure_watched("v1", "ConfigMap")
    unsubscribe()
    await fake.push(WatchEvent("ADDED", _cm("b", "11")), stream=0)
    await until(lambda: len(events) == 1)
    assert seen == []


async def test_initial_list_failure_is_raised_and_retried_on_next_call(setup: Any) -> None:
    fake, cache, _ = setup
    fake.fail_list = ClusterError("no such kind", status=404)
    with pytest.raises(ClusterError):
        await cache.ensure_watched("v1", "ConfigMap")
    assert not cache.is_watched("v1", "ConfigMap")
    fake.fail_list = None
    await cache.ensure_watched("v1", "ConfigMap")
    assert cache.is_watched("v1", "ConfigMap")


async def test_stop_cancels_every_watch_task(setup: Any) -> None:
    fake, cache, _ = setup
    await cache.ensure_watched("v1", "ConfigMap")
    await until(lambda: len(fake.streams) == 1)
    tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("watch ")]
    assert tasks
    await cache.stop()
    assert all(t.done() for t in tasks)
    with pytest.raises(ClusterError):
        await cache.ensure_watched("v1", "Secret")


def test_strip_object_leaves_input_untouched() -> None:
    original = _cm("a", "1")
    stripped = strip_object(original)
    assert "managedFields" in original["metadata"]
    assert "managedFields" not in stripped["metadata"]
    plain = {"metadata": {"name": "x"}}
    assert strip_object(plain) is plain


def test_diff_snapshots_by_resource_version() -> None:
    old = {KEY_A: _cm("a", "1"), KEY_B: _cm("b", "1")}
    new = {KEY_A: _cm("a", "1")}
    assert [(t, k) for t, k, _ in diff_snapshots(old, new)] == [("DELETED", KEY_B)]
