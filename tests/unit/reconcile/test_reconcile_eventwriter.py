"""Events of apps as Kubernetes Events on their Application objects: bodies, aggregation, the rate."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from gitward.cluster.client import KubeClient
from gitward.core.errors import ClusterError
from gitward.model import LoadedConfig
from gitward.reconcile.clustersource import ClusterSource, ObjectRef, ReadConfig
from gitward.reconcile.eventwriter import EventWriter

REF = ObjectRef("gitward.dev/v1alpha1", "Application", "team", "web", uid="u-1", generation=3)


class _Kube:
    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    async def create(self, obj: dict[str, Any], *, field_manager: str) -> dict[str, Any]:
        self.calls.append("create")
        self.events[obj["metadata"]["name"]] = dict(obj)
        return obj

    async def patch(
        self, api_version: str, kind: str, namespace: str, name: str, patch: Any, **_: Any
    ) -> Any:
        self.calls.append("patch")
        if name not in self.events:
            raise ClusterError("not found", status=404)
        self.events[name].update(patch)
        return self.events[name]


def _writer(kube: _Kube, *, rate: float = 100.0, now: list[float] | None = None) -> EventWriter:
    source = SimpleNamespace(last=ReadConfig(config=LoadedConfig(), applications={"web": REF}))
    clock = now if now is not None else [1000.0]
    return EventWriter(cast(KubeClient, kube), cast(ClusterSource, source), rate=rate, clock=lambda: clock[0])


async def _drain(writer: EventWriter, kube: _Kube, calls: int) -> None:
    for _ in range(200):
        if len(kube.calls) >= calls:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(kube.calls)} calls, wanted {calls}")


async def test_an_event_names_the_application_object_and_a_repeat_bumps_its_count() -> None:
    kube = _Kube()
    now = [1000.0]
    writer = _writer(kube, now=now)
    writer.start()
    try:
        writer.recorded("web", type="Normal", reason="Synced", message="synced abc")
        await _drain(writer, kube, 1)
        (event,) = kube.events.values()
        assert event["involvedObject"] == {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "Application",
            "name": "web",
            "namespace": "team",
            "uid": "u-1",
        }
        assert event["metadata"]["namespace"] == "team"
        assert (event["reason"], event["message"], event["type"]) == ("Synced", "synced abc", "Normal")
        assert event["reportingComponent"] == "gitward"
        assert event["count"] == 1

        now[0] += 60
        writer.recorded("web", type="Normal", reason="Synced", message="synced abc")
        writer.recorded("web", type="Warning", reason="Drift", message="cfg changed")
        await _drain(writer, kube, 3)
        assert kube.calls == ["create", "patch", "create"]
        synced = next(e for e in kube.events.values() if e["reason"] == "Synced")
        assert synced["count"] == 2
        assert synced["lastTimestamp"] == "1970-01-01T00:17:40Z"
        assert next(e for e in kube.events.values() if e["reason"] == "Drift")["type"] == "Warning"

        # Past the window a repeat is a new Event; an Event gone from the server is made again.
        now[0] += 601
        writer.recorded("web", type="Normal", reason="Synced", message="synced abc")
        await _drain(writer, kube, 4)
        assert kube.calls[-1] == "create"
        kube.events.clear()
        writer.recorded("web", type="Normal", reason="Synced", message="synced abc")
        await _drain(writer, kube, 6)
        assert kube.calls[-2:] == ["patch", "create"]
        assert len(kube.events) == 1
    finally:
        await writer.stop()


async def test_events_over_the_rate_are_dropped_and_unknown_apps_ignored() -> None:
    kube = _Kube()
    writer = _writer(kube, rate=3.0)
    for i in range(10):
        writer.recorded("web", type="Normal", reason="Synced", message=f"synced {i}")
    writer.recorded("other", type="Normal", reason="Synced", message="not from the cluster")
    assert writer.dropped >= 6
    writer.start()
    try:
        await _drain(writer, kube, 10 - writer.dropped)
        await asyncio.sleep(0.05)
        assert len(kube.events) == 10 - writer.dropped
        assert all(e["involvedObject"]["name"] == "web" for e in kube.events.values())
    finally:
        await writer.stop()


async def test_a_removed_app_still_gets_its_removal_event() -> None:
    kube = _Kube()
    writer = _writer(kube)
    writer.recorded("web", type="Normal", reason="Synced", message="synced")
    cast(Any, writer)._source.last = ReadConfig(config=LoadedConfig())  # the object left the config
    writer.recorded("web", type="Normal", reason="Removed", message="removed")
    writer.recorded("web", type="Normal", reason="Synced", message="after removal: none")
    writer.start()
    try:
        await _drain(writer, kube, 2)
        await asyncio.sleep(0.05)
        assert sorted(e["reason"] for e in kube.events.values()) == ["Removed", "Synced"]
    finally:
        await writer.stop()
