"""The cluster cache: one LIST+WATCH per kind, in memory, so nothing above polls the API server.

``await cache.ensure_watched(api_version, kind)`` lists the kind once and returns when the objects
are loaded; a background task then watches from the list's resourceVersion (with bookmarks, so a
reconnect resumes where it left off) and keeps the copy current. The apply layer asks for every kind
it applies, so only managed kinds are watched.

Subscribers registered with ``on_change`` hear every ADDED/MODIFIED/DELETED after the initial list.
When the server answers 410 Gone (the resourceVersion is too old), the kind is listed again and the
difference from the old copy is reported as synthetic changes, so no change is missed
(docs/reliability.md, F5). Any other failure reconnects with exponential backoff.

A write gitward itself made shows at once: the client writes inside ``writing()`` and hands the
server's answer to it, which stores it for an object the watch has not reported yet, so a status
computed right after a create does not read the object as missing while its ADDED event is on the
way. It never overwrites what a watch said: an event for that object, or a list of its kind, after
the write began wins, since it may be newer than the answer.

Objects are stored without ``metadata.managedFields`` and the kubectl last-applied annotation: health
and diff do not need them and they are often most of an object's size. Read the full object with
``KubeClient.get`` when a drift must be attributed to a field manager.

Deliberately not here: label or namespace scoped watches, informers for kinds nobody applies, and
persistence (a restart lists again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gitward.cluster.client import KubeClient, WatchEvent
from gitward.core.errors import ClusterError
from gitward.core.keys import ResourceKey, group_of

log = logging.getLogger(__name__)

LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

ChangeCallback = Callable[[str, ResourceKey, dict[str, Any]], None]


@dataclass(frozen=True)
class CacheSettings:
    """Watch length before the server closes it, and backoff bounds for reconnects."""

    watch_timeout_seconds: int = 300
    backoff_base: float = 0.5
    backoff_max: float = 30.0

    def backoff(self, failures: int) -> float:
        return float(min(self.backoff_base * 2 ** max(failures - 1, 0), self.backoff_max))


def strip_object(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without managedFields and the last-applied annotation (shallow copies only)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    annotations = meta.get("annotations")
    if "managedFields" not in meta and not (annotations and LAST_APPLIED_ANNOTATION in annotations):
        return obj
    meta = {k: v for k, v in meta.items() if k != "managedFields"}
    if annotations and LAST_APPLIED_ANNOTATION in annotations:
        rest = {k: v for k, v in annotations.items() if k != LAST_APPLIED_ANNOTATION}
        if rest:
            meta["annotations"] = rest
        else:
            meta.pop("annotations", None)
    out = dict(obj)
    out["metadata"] = meta
    return out


def _resource_version(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def diff_snapshots(
    old: dict[ResourceKey, dict[str, Any]], new: dict[ResourceKey, dict[str, Any]]
) -> Iterator[tuple[str, ResourceKey, dict[str, Any]]]:
    """Changes that turn ``old`` into ``new``, judged by resourceVersion (what a missed watch hid)."""
    for key, obj in new.items():
        before = old.get(key)
        if before is None:
            yield "ADDED", key, obj
        elif _resource_version(before) != _resource_version(obj):
            yield "MODIFIED", key, obj
    for key, obj in old.items():
        if key not in new:
            yield "DELETED", key, obj


class _KindWatch:
    """The copy of one (apiVersion, kind) and the task that keeps it current."""

    def __init__(self, api_version: str, kind: str) -> None:
        self.api_version = api_version
        self.kind = kind
        self.objects: dict[ResourceKey, dict[str, Any]] = {}
        self.resource_version = ""
        self.relists = 0
        self.task: asyncio.Task[None] | None = None
        self.listed_at = 0  # the cache's event number of the kind's last list

    def replace(
        self, items: list[dict[str, Any]], version: str, *, at: int
    ) -> dict[ResourceKey, dict[str, Any]]:
        old = self.objects
        self.objects = {ResourceKey.of(obj): strip_object(obj) for obj in items}
        self.resource_version = version
        self.listed_at = at
        return old


class ClusterCache:
    """In-memory, watch-fed copy of the kinds gitward manages on one cluster."""

    def __init__(self, client: KubeClient, *, settings: CacheSettings | None = None) -> None:
        self._client = client
        self._settings = settings or CacheSettings()
        self._watches: dict[tuple[str, str], _KindWatch] = {}
        self._loading: dict[tuple[str, str], asyncio.Task[_KindWatch]] = {}
        self._subscribers: list[ChangeCallback] = []
        self._stopped = False
        self._events = 0  # numbers every list and event, so a write knows what was heard after it began
        self._deleted_at: dict[ResourceKey, int] = {}  # event number of each DELETED, while writes run
        self._writes: Counter[int] = Counter()  # the event number each running write began at

    # -- starting ----------------------------------------------------------------------------

    async def ensure_watched(self, api_version: str, kind: str) -> None:
        """List and start watching the kind unless already done; returns once its objects are loaded.

        Raises ClusterError when the initial list fails (e.g. 404 for an unknown kind); a later call
        tries again.
        """
        if self._stopped:
            raise ClusterError("cluster cache is stopped", status=0)
        key = (api_version, kind)
        if key in self._watches:
            return
        loading = self._loading.get(key)
        if loading is None:
            loading = asyncio.ensure_future(self._start(api_version, kind))
            self._loading[key] = loading
        try:
            await asyncio.shield(loading)
        finally:
            if loading.done():
                self._loading.pop(key, None)

    async def _start(self, api_version: str, kind: str) -> _KindWatch:
        watch = _KindWatch(api_version, kind)
        items, resource_version = await self._client.list(api_version, kind)
        watch.replace(items, resource_version, at=self._next_event())
        if self._stopped:
            return watch
        self._watches[(api_version, kind)] = watch
        watch.task = asyncio.create_task(self._run(watch), name=f"watch {kind}.{api_version}")
        return watch

    # -- reading -----------------------------------------------------------------------------

    def is_watched(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self._watches

    def watched(self) -> list[tuple[str, str]]:
        return sorted(self._watches)

    def get(self, key: ResourceKey) -> dict[str, Any] | None:
        """The cached object, or ``None`` when absent or when its kind is not watched (see is_watched)."""
        for watch in self._watches.values():
            if watch.kind == key.kind and group_of(watch.api_version) == key.group:
                found = watch.objects.get(key)
                if found is not None:
                    return found
        return None

    def objects(
        self,
        *,
        api_version: str | None = None,
        kind: str | None = None,
        group: str | None = None,
        namespace: str | None = None,
    ) -> list[dict[str, Any]]:
        """Cached objects matching every filter given, in key order."""
        out: list[tuple[ResourceKey, dict[str, Any]]] = []
        for watch in self._watches.values():
            if api_version is not None and watch.api_version != api_version:
                continue
            if kind is not None and watch.kind != kind:
                continue
            if group is not None and group_of(watch.api_version) != group:
                continue
            for key, obj in watch.objects.items():
                if namespace is None or key.namespace == namespace:
                    out.append((key, obj))
        out.sort(key=lambda pair: pair[0])
        return [obj for _, obj in out]

    def resource_version(self, api_version: str, kind: str) -> str:
        """The last resourceVersion seen for the kind (from a list, an event or a bookmark)."""
        watch = self._watches.get((api_version, kind))
        return watch.resource_version if watch else ""

    def relist_count(self, api_version: str, kind: str) -> int:
        """How many times the kind was listed again after 410 Gone."""
        watch = self._watches.get((api_version, kind))
        return watch.relists if watch else 0

    # -- gitward's own writes ----------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[Callable[[dict[str, Any]], None]]:
        """Around one write of gitward's: yields the function that takes the server's answer."""
        began = self._events
        self._writes[began] += 1
        try:
            yield lambda answer: self._note_written(answer, began=began)
        finally:
            self._writes[began] -= 1
            if not self._writes[began]:
                del self._writes[began]
            self._forget_deletions()

    def _note_written(self, answer: dict[str, Any], *, began: int) -> None:
        """Store the answer unless the watch spoke of the object since the write began. Subscribers
        are not told: the watch's own event tells them, as for any change."""
        watch = self._watches.get((str(answer.get("apiVersion", "")), str(answer.get("kind", ""))))
        if watch is None or watch.listed_at > began or not (answer.get("metadata") or {}).get("name"):
            return
        key = ResourceKey.of(answer)
        if key in watch.objects or self._deleted_at.get(key, 0) > began:
            return
        watch.objects[key] = strip_object(answer)

    def _forget_deletions(self) -> None:
        """Deletions matter only to writes that began before them; keep no more than that."""
        if not self._writes:
            self._deleted_at.clear()
        elif len(self._deleted_at) > 4096:
            oldest = min(self._writes)
            self._deleted_at = {k: n for k, n in self._deleted_at.items() if n > oldest}

    def _next_event(self) -> int:
        self._events += 1
        return self._events

    # -- subscribing -------------------------------------------------------------------------

    def on_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Call ``callback(event_type, key, obj)`` for every change; returns a function to unsubscribe."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event_type: str, key: ResourceKey, obj: dict[str, Any]) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event_type, key, obj)
            except Exception:
                # One failing subscriber must not stop the watch that feeds every other one.
                log.exception("cache subscriber failed on %s %s", event_type, key)

    # -- watching ----------------------------------------------------------------------------

    async def _run(self, watch: _KindWatch) -> None:
        failures = 0
        relist = False
        while True:
            try:
                if relist:
                    await self._relist(watch)
                    relist = False
                async for event in self._client.watch(
                    watch.api_version,
                    watch.kind,
                    resource_version=watch.resource_version,
                    timeout_seconds=self._settings.watch_timeout_seconds,
                ):
                    self._handle(watch, event)
                    failures = 0
                continue  # the server ended the watch (timeout): resume from the last version seen
            except asyncio.CancelledError:
                raise
            except ClusterError as err:
                if err.status == 410:
                    log.info(
                        "watch %s %s: resourceVersion too old, listing again", watch.api_version, watch.kind
                    )
                    relist = True
                    continue
                failures += 1
                log.warning("watch %s %s failed (%s); retry %d", watch.api_version, watch.kind, err, failures)
            except Exception as err:
                failures += 1
                log.warning("watch %s %s broke (%r); retry %d", watch.api_version, watch.kind, err, failures)
            await asyncio.sleep(self._settings.backoff(failures))

    async def _relist(self, watch: _KindWatch) -> None:
        items, resource_version = await self._client.list(watch.api_version, watch.kind)
        old = watch.replace(items, resource_version, at=self._next_event())
        watch.relists += 1
        for event_type, key, obj in diff_snapshots(old, watch.objects):
            self._emit(event_type, key, obj)

    def _handle(self, watch: _KindWatch, event: WatchEvent) -> None:
        obj = event.object
        version = _resource_version(obj)
        if event.type == "BOOKMARK":
            if version:
                watch.resource_version = version
            return
        if event.type not in ("ADDED", "MODIFIED", "DELETED"):
            return
        key = ResourceKey.of(obj)
        stored = strip_object(obj)
        number = self._next_event()
        if event.type == "DELETED":
            watch.objects.pop(key, None)
            if self._writes:
                self._deleted_at[key] = number
        else:
            watch.objects[key] = stored
        if version:
            watch.resource_version = version
        self._emit(event.type, key, stored)

    # -- stopping ----------------------------------------------------------------------------

    async def stop(self) -> None:
        """Cancel every watch and wait for the tasks to end; the cache keeps its last copy."""
        self._stopped = True
        tasks: list[asyncio.Future[Any]] = [w.task for w in self._watches.values() if w.task is not None]
        tasks.extend(self._loading.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
