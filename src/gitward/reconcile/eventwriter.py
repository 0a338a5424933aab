"""gitward's own events of an app, also as Kubernetes Events on the Application object it came from.

With ``run --from-cluster``, every event the engine records for an app (``records.record_event``:
Synced, SyncFailed, Drift, Removed, RemovalFailed, InvalidSpec and the rest) becomes a core/v1 Event
in the Application's namespace, with that object as ``involvedObject`` (apiVersion, kind, name,
namespace, uid), the same reason and message, type Normal or Warning, and ``gitward`` as
``reportingComponent`` and ``source.component`` -- so ``kubectl describe gwapp NAME`` and ``kubectl
get events --field-selector involvedObject.name=NAME`` show what gitward did.

Repeats are aggregated as kubectl shows them: the same reason and message on the same object within
``window`` seconds (10 minutes) of the last one bumps that Event's ``count`` and ``lastTimestamp``
(a merge patch) instead of creating another; the name of the last Event per (object, reason,
message) is kept in memory, so after a restart the first repeat starts a new Event.

The writer never blocks a reconcile: ``recorded`` puts the event into a bounded queue (``capacity``)
and returns; one task writes them. At most ``rate`` events a second are accepted overall (a token
bucket with a burst of as many); an event over the rate, or one that finds the queue full, is
dropped and counted (``gitward_kube_events_total{result="dropped"}``): the app's own event list in
the store keeps every event anyway. A write the API server refuses is logged and counted, never
retried.

Deliberately not here: which events there are (the callers of ``record_event``), the status of the
object (``statuswriter``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gitward.cluster.client import KubeClient
from gitward.core.errors import ClusterError
from gitward.reconcile import metrics
from gitward.reconcile.background import BackgroundLoop
from gitward.reconcile.clustersource import ClusterSource, ObjectRef
from gitward.replicas import writing_for

log = logging.getLogger("gitward.engine")

COMPONENT = "gitward"
FIELD_MANAGER = "gitward"
MAX_MESSAGE = 1024
WINDOW = 600.0  # seconds within which a repeat bumps the last Event
RATE = 10.0  # Events a second, overall
CAPACITY = 1000


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


@dataclass(frozen=True)
class _Pending:
    ref: ObjectRef
    type: str
    reason: str
    message: str
    at: float
    app: str  # written for this app (several replicas: only while this one owns it)


@dataclass
class _Last:
    name: str  # the Event's name in ref.namespace
    count: int
    at: float  # when it was last written


def event_body(
    ref: ObjectRef, name: str, *, type: str, reason: str, message: str, at: float
) -> dict[str, Any]:
    """A new core/v1 Event about ``ref`` (pure)."""
    stamp = _time(at)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": ref.namespace},
        "involvedObject": {
            "apiVersion": ref.api_version,
            "kind": ref.kind,
            "name": ref.name,
            "namespace": ref.namespace,
            "uid": ref.uid,
        },
        "reason": reason,
        "message": _short(message),
        "type": "Warning" if type == "Warning" else "Normal",
        "count": 1,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": os.environ.get("HOSTNAME", "") or COMPONENT,
    }


class EventWriter(BackgroundLoop):
    """Writes the events of apps as Events on their Application objects: aggregated, rate-limited."""

    task_name = "event-writer"

    def __init__(
        self,
        client: KubeClient,
        source: ClusterSource,
        *,
        rate: float = RATE,
        window: float = WINDOW,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._source = source
        self._rate = rate
        self._window = window
        self._clock = clock
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=capacity)
        self._tokens = rate
        self._filled = time.monotonic()
        self._refs: dict[str, ObjectRef] = {}  # app -> its object, kept after it leaves the config
        self._last: dict[tuple[str, str, str], _Last] = {}  # (uid, reason, message) -> last Event
        self.created = 0  # read by tests
        self.bumped = 0
        self.dropped = 0

    def recorded(self, app: str, *, type: str, reason: str, message: str) -> None:
        """The engine recorded an event of ``app``: queue it. Never raises, never waits."""
        try:
            ref = self._source.last.object_of(app)  # gitward's Application, or an Argo CD or Flux object
            if ref is not None:
                self._refs[app] = ref
            else:  # removed from the config: its removal is still told on the object, while it exists
                ref = self._refs.pop(app, None) if reason == "Removed" else self._refs.get(app)
            if ref is None or not ref.uid:
                return
            if not self._take():
                self._drop()
                return
            self._queue.put_nowait(_Pending(ref, type, reason, message, self._clock(), app))
        except asyncio.QueueFull:
            self._drop()
        except Exception:
            log.exception("event of %s not queued for its Application object", app)

    def _take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._filled) * self._rate)
        self._filled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def _drop(self) -> None:
        self.dropped += 1
        metrics.KUBE_EVENTS.labels("dropped").inc()

    async def _run(self) -> None:
        while True:
            pending = await self._queue.get()
            try:
                with writing_for(pending.app):
                    await self._write(pending)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a broken connection: this event is lost, the next one tries
                metrics.KUBE_EVENTS.labels("failed").inc()
                log.warning("event %s of %s not written: %r", pending.reason, pending.ref.name, error)

    async def _write(self, p: _Pending) -> None:
        key = (p.ref.uid, p.reason, p.message)
        self._forget_old(p.at)
        last = self._last.get(key)
        if last is not None and p.at - last.at < self._window:
            try:
                await self._client.patch(
                    "v1",
                    "Event",
                    p.ref.namespace,
                    last.name,
                    {"count": last.count + 1, "lastTimestamp": _time(p.at)},
                    patch_type="merge",
                    field_manager=FIELD_MANAGER,
                )
            except ClusterError as error:
                if error.status != 404:  # gone (expired, deleted): a new one below
                    self._failed(p, error)
                    return
            else:
                last.count += 1
                last.at = p.at
                self.bumped += 1
                metrics.KUBE_EVENTS.labels("updated").inc()
                return
        name = f"{p.ref.name}.{time.time_ns():x}"
        body = event_body(p.ref, name, type=p.type, reason=p.reason, message=p.message, at=p.at)
        try:
            await self._client.create(body, field_manager=FIELD_MANAGER)
        except ClusterError as error:
            self._failed(p, error)
            return
        self._last[key] = _Last(name=name, count=1, at=p.at)
        self.created += 1
        metrics.KUBE_EVENTS.labels("created").inc()

    def _failed(self, p: _Pending, error: ClusterError) -> None:
        metrics.KUBE_EVENTS.labels("failed").inc()
        log.warning("event %s of %s/%s not written: %s", p.reason, p.ref.namespace, p.ref.name, error)

    def _forget_old(self, now: float) -> None:
        if len(self._last) < 1000:
            return
        for key in [k for k, v in self._last.items() if now - v.at >= self._window]:
            del self._last[key]
