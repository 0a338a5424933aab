"""A bounded cache of render results, so a commit re-renders only the apps whose input changed.

The key is everything that decides the output: the Git tree hash of the app's path, the digest of
the render parameters, the renderer and its version, and the cluster's Kubernetes version and API
versions (Helm charts branch on them). Entries are evicted least recently used first. Concurrent
requests for the same key share one render instead of running the tool twice.

Deliberately not here: persistence across restarts (a render is cheap to redo, and the tree hash
makes a stale hit impossible), caching renders whose tree hash is unknown.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gitward.render.result import RenderResult


@dataclass(frozen=True, kw_only=True)
class RenderKey:
    tree: str  # Git tree hash of the app's path
    params: str  # RenderParams.digest()
    tool: str  # e.g. "kustomize v5.8.1", "helm v3.22.0+g...", "plain"
    kube_version: str
    api_versions: str  # digest of the sorted API versions

    @classmethod
    def build(
        cls, *, tree: str, params: str, tool: str, kube_version: str, api_versions: Sequence[str]
    ) -> RenderKey:
        apis = hashlib.sha256("\n".join(sorted(api_versions)).encode()).hexdigest()
        return cls(tree=tree, params=params, tool=tool, kube_version=kube_version, api_versions=apis)


class RenderCache:
    """LRU map of ``RenderKey`` to ``RenderResult`` with hit and miss counters."""

    def __init__(self, *, max_entries: int = 512) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._floor = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[RenderKey, RenderResult] = OrderedDict()
        self._running: dict[RenderKey, asyncio.Future[RenderResult]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: RenderKey) -> RenderResult | None:
        result = self._entries.get(key)
        if result is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return result

    def put(self, key: RenderKey, result: RenderResult) -> None:
        self._entries[key] = result
        self._entries.move_to_end(key)
        self._trim()

    def fit(self, apps: int) -> None:
        """Room for ``apps`` renders and a quarter more (a commit's new renders while the old ones are
        still held), never less than the size the cache was made with. Why: a fleet larger than the
        cache evicted every render before its app's next pass needed it, so each app was rendered
        again by its health follow-up and by every interval pass."""
        self.max_entries = max(self._floor, apps + apps // 4)
        self._trim()

    def _trim(self) -> None:
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    async def get_or_render(
        self, key: RenderKey, produce: Callable[[], Awaitable[RenderResult]]
    ) -> RenderResult:
        """The cached result, or ``produce()``'s, stored; errors are not cached."""
        cached = self.get(key)
        if cached is not None:
            return cached
        running = self._running.get(key)
        if running is not None:
            # the miss was counted; a concurrent caller waits for the same render
            return await asyncio.shield(running)
        future: asyncio.Future[RenderResult] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            result = await produce()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: nobody may be waiting
            raise
        else:
            future.set_result(result)
            self.put(key, result)
            return result
        finally:
            del self._running[key]
