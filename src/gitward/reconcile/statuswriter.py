"""Each Application custom resource's ``.status``, written back from the app's saved status.

With ``run --from-cluster``, every time the engine saves an app's status (``records.save_status``)
the status of the Application object it came from is brought up to date through the ``status``
subresource (a merge patch, field manager ``gitward``): ``sync`` (status, revision), ``health``
(status, message), kstatus-style ``conditions`` (Ready, Reconciling, Stalled, each with
``observedGeneration``, ``reason``, ``message``, RFC 3339 ``lastTransitionTime``),
``observedGeneration``, the last ``operation`` (phase, message, revision, times) and a compact
``resources`` list (at most ``MAX_RESOURCES`` rows; ``resourceCount`` is the full number). These are
the paths ``kubectl get gwapp`` reads (``model/crds.py: STATUS_PATHS``), and ``kubectl wait
--for=condition=Ready`` waits on them. An Application the loader refused (or a second one of a name
already read in another namespace) gets Ready False and Stalled True with the refusal as message.
gitward's objects of the other kinds (Project, Repository, OIDCProvider, RoleBinding, ...) get the
same two conditions when refused, and Ready True (reason ``Accepted``) when read, so a refused
OIDCProvider says why on itself and a fixed one says so too (``object_body``).

The writer never blocks a reconcile: ``saved`` only takes the newest body per object into a pending
map (bounded: one entry per Application) and wakes a task that writes them, at most ``qps`` writes a
second. A body is written only when its digest differs from the last one written for that object
(so a pass that changes nothing writes nothing, and a restart writes each status once). A failed
write is tried again after ``retry`` seconds unless the object is gone (404).

With several replicas each app's status is written by its owner, inside ``writing_for`` the app (a
body queued before the app moved away is refused by the fence and dropped); the refused objects'
status, which belongs to no app, is the leader's (``reconcile/shards.py``).

Deliberately not here: reading the objects (``clustersource``), what the status says (``core/appstatus``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from gitward.cluster.client import KubeClient
from gitward.core.appstatus import AppStatus
from gitward.core.conditions import ConditionType
from gitward.core.errors import ClusterError, Fenced
from gitward.reconcile.background import BackgroundLoop
from gitward.reconcile.clustersource import ClusterSource, ObjectRef
from gitward.reconcile.runtime import AppRuntime
from gitward.replicas import writing_for

log = logging.getLogger("gitward.engine")

FIELD_MANAGER = "gitward"
MAX_RESOURCES = 100
MAX_MESSAGE = 1024


def rfc3339(epoch: float) -> str:
    """Epoch seconds as ``2024-05-01T12:00:00Z`` (what Kubernetes conditions carry)."""
    if not epoch:
        epoch = 0.0
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short(text: Any) -> str:
    value = str(text or "")
    return value if len(value) <= MAX_MESSAGE else value[: MAX_MESSAGE - 3] + "..."


def _condition(
    kind: str, status: bool, reason: str, message: str, when: float, generation: int
) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "observedGeneration": generation,
        "reason": reason or kind,
        "message": _short(message),
        "lastTransitionTime": rfc3339(when),
    }


def status_body(status: AppStatus, generation: int, *, now: float) -> dict[str, Any]:
    """The ``.status`` of an Application object for the app's saved status (pure)."""
    body: dict[str, Any] = {"observedGeneration": generation}
    body["sync"] = {
        "status": status.sync_status.value,
        "revision": status.sync.revision if status.sync is not None else "",
    }
    body["health"] = {
        "status": status.health_status.value,
        "message": _short(status.health.message if status.health is not None else ""),
    }
    by_type = {c.type: c for c in status.conditions}
    conditions = [
        _condition(c.type.value, c.status, c.reason, c.message, c.last_transition, generation)
        for c in sorted(status.conditions, key=lambda c: c.type.value)
    ]
    if ConditionType.READY not in by_type:  # not reconciled yet: say so, never leave Ready out
        conditions.append(_condition("Ready", False, "Progressing", "not reconciled yet", now, generation))
        conditions.append(_condition("Reconciling", True, "Progressing", "", now, generation))
        conditions.sort(key=lambda c: str(c["type"]))
    body["conditions"] = conditions
    if status.operation:
        op = status.operation
        body["operation"] = {
            "phase": str(op.get("phase") or ""),
            "message": _short(op.get("message")),
            "revision": str(op.get("commit") or op.get("revision") or ""),
            **({"startedAt": rfc3339(float(op["startedAt"]))} if op.get("startedAt") else {}),
            **({"finishedAt": rfc3339(float(op["finishedAt"]))} if op.get("finishedAt") else {}),
        }
    rows = status.resources or []
    body["resourceCount"] = len(rows)
    body["resources"] = [_resource(row) for row in rows[:MAX_RESOURCES]]
    return body


def _resource(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {
        "kind": str(row.get("kind") or ""),
        "name": str(row.get("name") or ""),
        "sync": str(row.get("sync") or ""),
        "health": str(row.get("health") or ""),
    }
    for key in ("group", "version", "namespace"):
        if row.get(key):
            out[key] = str(row[key])
    return out


def refused_body(message: str, generation: int, *, now: float) -> dict[str, Any]:
    """The ``.status`` of an Application object gitward does not run: why, as Ready False and Stalled."""
    return {
        "observedGeneration": generation,
        "sync": {"status": "Unknown", "revision": ""},
        "health": {"status": "Unknown", "message": ""},
        "conditions": [
            _condition("Ready", False, "InvalidSpec", message, now, generation),
            _condition("Reconciling", False, "InvalidSpec", "", now, generation),
            _condition("Stalled", True, "InvalidSpec", message, now, generation),
        ],
    }


def object_body(message: str, generation: int, *, now: float) -> dict[str, Any]:
    """The ``.status`` of a gitward object of another kind than Application: read (``message`` "")
    or refused, and why."""
    if message:
        conditions = [
            _condition("Ready", False, "InvalidSpec", message, now, generation),
            _condition("Stalled", True, "InvalidSpec", message, now, generation),
        ]
    else:
        conditions = [
            _condition("Ready", True, "Accepted", "read into gitward's config", now, generation),
            _condition("Stalled", False, "Accepted", "", now, generation),
        ]
    return {"observedGeneration": generation, "conditions": conditions}


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class StatusWriter(BackgroundLoop):
    """Writes the pending statuses of Application objects, newest body per object, rate-limited."""

    task_name = "status-writer"

    def __init__(
        self, client: KubeClient, source: ClusterSource, *, qps: float = 20.0, retry: float = 5.0
    ) -> None:
        self._client = client
        self._source = source
        self._interval = 1.0 / qps
        self._retry = retry
        # uid -> (object, newest body, the app it is the status of; None: a refused object's)
        self._pending: dict[str, tuple[ObjectRef, dict[str, Any], str | None]] = {}
        self._written: dict[str, str] = {}  # uid -> digest of the body last written
        self.refusals = True  # writes the refused objects' status (several replicas: the leader only)
        self._wake = asyncio.Event()
        self.writes = 0  # read by tests

    def saved(self, rt: AppRuntime) -> None:
        """The engine saved ``rt``'s status: queue its object's new status. Never raises, never waits."""
        try:
            ref = self._source.last.applications.get(rt.name)
            if ref is not None and ref not in self._source.last.refused:  # the refusal is shown
                self._put(ref, status_body(rt.status, ref.generation, now=time.time()), app=rt.name)
        except Exception:
            log.exception("status of %s not queued for its Application object", rt.name)

    def config_read(self) -> None:
        """The config was read again: the refused objects show why, the other kinds' objects whether
        they were read; objects no longer read are forgotten."""
        last = self._source.last
        live = {ref.uid for ref in last.applications.values()} | {ref.uid for ref in last.refused}
        live |= {ref.uid for ref in last.others}
        for uid in [uid for uid in self._written if uid not in live]:
            del self._written[uid]
        if not self.refusals:
            return
        for ref, message in last.refused.items():
            self._put(ref, refused_body(message, ref.generation, now=time.time()), app=None)
        for ref, message in last.others.items():
            self._put(ref, object_body(message, ref.generation, now=time.time()), app=None)

    def forget(self, app: str) -> None:
        """``app`` moved to another replica: nothing of it is pending, and if it comes back its
        status is written again whatever was written before."""
        ref = self._source.last.applications.get(app)
        if ref is not None:
            self._pending.pop(ref.uid, None)
            self._written.pop(ref.uid, None)

    def _put(self, ref: ObjectRef, body: dict[str, Any], *, app: str | None) -> None:
        digest = _digest(_stable(body))
        if self._written.get(ref.uid) == digest:
            self._pending.pop(ref.uid, None)
            return
        self._pending[ref.uid] = (ref, body, app)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                uid = next(iter(self._pending))
                ref, body, app = self._pending.pop(uid)
                with writing_for(app):
                    written = await self._write(ref, body)
                if not written:
                    self._pending.setdefault(uid, (ref, body, app))
                    self._later()
                    break
                await asyncio.sleep(self._interval)

    def _later(self) -> None:
        asyncio.get_running_loop().call_later(self._retry, self._wake.set)

    async def _write(self, ref: ObjectRef, body: dict[str, Any]) -> bool:
        """True when written (or the object is gone); False to try again later."""
        try:
            await self._client.patch(
                ref.api_version,
                ref.kind,
                ref.namespace,
                ref.name,
                {"status": body},
                patch_type="merge",
                subresource="status",
                field_manager=FIELD_MANAGER,
            )
        except Fenced:
            return True  # another replica's now: it writes this status
        except ClusterError as error:
            if error.status == 404:
                return True
            log.warning("status of %s/%s not written: %s", ref.namespace, ref.name, error)
            return False
        except Exception as error:  # the connection broke: the next try says more
            log.warning("status of %s/%s not written: %r", ref.namespace, ref.name, error)
            return False
        self._written[ref.uid] = _digest(_stable(body))
        self.writes += 1
        return True


def _stable(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body without the conditions' transition times: a time changes only with a condition's
    status, which changes the digest anyway, and a body made before the first pass takes its times
    from the clock (it must not be written again for that alone)."""
    conditions = [
        {k: v for k, v in c.items() if k != "lastTransitionTime"} for c in body.get("conditions") or []
    ]
    return {**body, "conditions": conditions}
