"""The order of events as the API server saw them: watches on a namespace, ordered by resourceVersion.

A resourceVersion is the revision etcd gave the write, one counter for every object of the cluster,
so comparing them across kinds orders what happened on the server: "the Job became Complete before
the Deployment was created" is ``complete_rv < added_rv``, whatever the test process saw when.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitward.cluster.lightkube_client import LightkubeClient
from gitward.core.errors import ClusterError


@dataclass(frozen=True)
class Seen:
    rv: int
    type: str  # ADDED, MODIFIED, DELETED
    kind: str
    name: str
    obj: Mapping[str, Any]


@dataclass
class OrderLog:
    client: LightkubeClient
    namespace: str
    events: list[Seen] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def watch(self, *kinds: tuple[str, str]) -> None:
        """Start one watch per ``(apiVersion, kind)``, from now on; returns once each is listening."""
        for api_version, kind in kinds:
            _, version = await self.client.list(api_version, kind, namespace=self.namespace)
            self._tasks.append(asyncio.create_task(self._follow(api_version, kind, version)))
        await asyncio.sleep(0.2)

    async def _follow(self, api_version: str, kind: str, version: str) -> None:
        with contextlib.suppress(ClusterError):
            async for event in self.client.watch(
                api_version, kind, resource_version=version, namespace=self.namespace
            ):
                if event.type == "BOOKMARK":
                    continue
                meta = event.object.get("metadata") or {}
                rv = int(meta.get("resourceVersion") or 0)
                self.events.append(Seen(rv, event.type, kind, str(meta.get("name", "")), event.object))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def first(self, kind: str, name: str, when: Callable[[Seen], bool] = lambda s: True) -> int:
        """The resourceVersion of the first event of ``kind``/``name`` matching ``when``."""
        found = [s.rv for s in self.events if s.kind == kind and s.name.startswith(name) and when(s)]
        assert found, f"no event of {kind} {name} matching the condition in {self.summary()}"
        return min(found)

    def count(self, kind: str, name: str, event_type: str) -> int:
        return sum(
            1 for s in self.events if s.kind == kind and s.name.startswith(name) and s.type == event_type
        )

    def summary(self) -> list[tuple[int, str, str, str]]:
        return sorted((s.rv, s.type, s.kind, s.name) for s in self.events)


def added(seen: Seen) -> bool:
    return seen.type == "ADDED"


def deleted(seen: Seen) -> bool:
    return seen.type == "DELETED"


def condition(kind: str) -> Callable[[Seen], bool]:
    """A Job's (or any object's) ``kind`` condition is True in this event."""

    def check(seen: Seen) -> bool:
        conditions = (seen.obj.get("status") or {}).get("conditions") or []
        return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)

    return check


def available(seen: Seen) -> bool:
    """A Deployment with every replica updated and available (gitward calls it Healthy)."""
    spec, status = seen.obj.get("spec") or {}, seen.obj.get("status") or {}
    want = int(spec.get("replicas", 1))
    return (
        int(status.get("availableReplicas") or 0) >= want and int(status.get("updatedReplicas") or 0) >= want
    )
