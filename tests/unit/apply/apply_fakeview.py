"""A ``LiveView`` over ``FakeKube`` with a fake clock, and fake controllers that move objects along.

Each nap (``changed``) advances the clock by one tick and lets every controller act, so a test says
"the Job completes two ticks after it was created" and the executor's waits see exactly that, with
no real sleep. The record of writes with the time they happened lets a test check order and timing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apply_fakekube import FakeKube

from gitward.core.keys import ResourceKey

Controller = Callable[[FakeKube, float], None]


class FakeView:
    def __init__(self, kube: FakeKube, *, tick: float = 1.0) -> None:
        self.kube = kube
        self.now = 0.0
        self.tick = tick
        self.naps = 0
        self.controllers: list[Controller] = []
        self.watched: set[tuple[str, str]] = set()
        self.created_at: dict[ResourceKey, float] = {}
        kube_create, kube_apply = kube.create, kube.apply

        async def create(obj: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
            out = await kube_create(obj, **kw)
            if not kw.get("dry_run"):
                self.created_at[ResourceKey.of(out)] = self.now
            return out

        async def apply(obj: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
            existed = ResourceKey.of(obj) in kube.objects
            out = await kube_apply(obj, **kw)
            if not kw.get("dry_run") and not existed and ResourceKey.of(obj) in kube.objects:
                self.created_at[ResourceKey.of(obj)] = self.now
            return out

        kube.create = create  # type: ignore[method-assign]
        kube.apply = apply  # type: ignore[method-assign]

    def monotonic(self) -> float:
        return self.now

    async def ensure_watched(self, api_version: str, kind: str) -> None:
        self.watched.add((api_version, kind))

    async def read(self, api_version: str, key: ResourceKey) -> Mapping[str, Any] | None:
        return self.kube.live(key)

    async def changed(self, timeout: float) -> None:  # noqa: ASYNC109
        self.naps += 1
        self.now += min(self.tick, max(timeout, 0.0)) or self.tick
        for controller in self.controllers:
            controller(self.kube, self.now)


def finish_jobs(after: float, *, fail: set[str] = frozenset()) -> Controller:  # type: ignore[assignment]
    """Jobs get Complete (or Failed when their name starts with one of ``fail``) ``after`` seconds."""
    started: dict[ResourceKey, float] = {}

    def act(kube: FakeKube, now: float) -> None:
        for key, obj in kube.objects.items():
            if key.kind != "Job" or obj.get("status"):
                continue
            begun = started.setdefault(key, now)
            if now - begun >= after:
                failed = any(key.name.startswith(f) for f in fail)
                kind = "Failed" if failed else "Complete"
                message = "BackoffLimitExceeded" if failed else ""
                obj["status"] = {"conditions": [{"type": kind, "status": "True", "message": message}]}

    return act


def roll_out(after: float, *, never: set[str] = frozenset()) -> Controller:  # type: ignore[assignment]
    """Deployments become available ``after`` seconds after they appear; ``never`` ones stay Progressing."""
    started: dict[ResourceKey, float] = {}

    def act(kube: FakeKube, now: float) -> None:
        for key, obj in kube.objects.items():
            if key.kind != "Deployment" or key.name in never:
                continue
            begun = started.setdefault(key, now)
            if now - begun >= after and not obj.get("status"):
                replicas = (obj.get("spec") or {}).get("replicas", 1)
                obj["metadata"]["generation"] = 1
                obj["status"] = {
                    "observedGeneration": 1,
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "availableReplicas": replicas,
                }

    return act
