"""An in-memory EngineService for the API and CLI unit tests; it records every call it gets."""

from __future__ import annotations

import copy
from typing import Any

from gitward.core.errors import RenderError, Transient, ValidationError, Waiting
from gitward.reconcile.service import AppNotFound

LEAKY_SECRET = "s3cr3t-value-that-must-not-leak"


def _app(name: str, *, sync: str, health: str, revision: str) -> dict[str, Any]:
    return {
        "name": name,
        "project": "default",
        "repoURL": "https://git.example.com/org/apps.git",
        "path": f"apps/{name}",
        "revision": "main",
        "destination": {"cluster": "prod", "namespace": name},
        "sync": {"status": sync, "revision": revision},
        "health": {"status": health, "message": "" if health == "Healthy" else "1 of 2 pods ready"},
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "Synced", "message": "", "lastTransitionTime": 1.0}
        ],
        "suspended": False,
        "suspendReason": "",
        "operation": None,
        "resources": [
            {
                "id": f"{name}_{name}_apps_Deployment",
                "group": "apps",
                "kind": "Deployment",
                "namespace": name,
                "name": name,
                "version": "v1",
                "sync": sync,
                "health": health,
                "message": "",
            }
        ],
    }


class FakeEngine:
    """Apps ``podinfo`` (Synced/Healthy) and ``broken`` (OutOfSync/Degraded); names below raise."""

    def __init__(self) -> None:
        self.apps = {
            "podinfo": _app("podinfo", sync="Synced", health="Healthy", revision="3f1c0de"),
            "broken": _app("broken", sync="OutOfSync", health="Degraded", revision="9a8b7c6"),
            "rolling": _app("rolling", sync="Synced", health="Progressing", revision="1111111"),
        }
        self.calls: list[tuple[str, Any]] = []
        self.initiators: list[tuple[str, str, str]] = []  # (call, app, initiator) of every write
        self.stopped = False

    def _find(self, name: str) -> dict[str, Any]:
        self.calls.append(("find", name))
        if name == "stalled":
            raise RenderError("kustomization.yaml: unknown field 'resourcez'")
        if name == "flaky":
            raise Transient("git server unreachable: connection refused")
        if name == "waiting":
            raise Waiting("dependency platform-crds not ready", retry_after=7)
        if name == "invalid":
            raise ValidationError("spec.syncPolicy.interval: bad duration '5x'")
        if name == "crash":
            raise RuntimeError(f"unexpected failure with {LEAKY_SECRET}")
        if name not in self.apps:
            raise AppNotFound(f"application {name} not found")
        return self.apps[name]

    def list_apps(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(app) for app in self.apps.values()]

    def get_app(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._find(name))

    async def diff_app(self, name: str) -> list[dict[str, Any]]:
        self._find(name)
        if name == "podinfo":
            return [_diff_entry(name, "none", "")]
        diff = "--- live\n+++ desired\n@@ -1,3 +1,3 @@\n spec:\n-  replicas: 1\n+  replicas: 2\n"
        return [_diff_entry(name, "update", diff)]

    async def sync_app(
        self,
        name: str,
        *,
        revision: str | None = None,
        prune: bool | None = None,
        force: bool = False,
        initiator: str = "",
    ) -> dict[str, Any]:
        self._find(name)
        self.initiators.append(("sync", name, initiator))
        self.calls.append(("sync", {"name": name, "revision": revision, "prune": prune, "force": force}))
        return _operation(name, revision or "main", op_id=8)

    async def dry_run_sync(
        self, name: str, *, revision: str | None = None, prune: bool | None = None
    ) -> dict[str, Any]:
        self._find(name)
        self.calls.append(("dry-run", {"name": name, "revision": revision, "prune": prune}))
        ids = {"group": "apps", "kind": "Deployment", "namespace": name, "name": "web"}
        diff = "--- live\n+++ desired\n@@ -1,1 +1,1 @@\n-  replicas: 1\n+  replicas: 2\n"
        return {
            "app": name,
            "revision": revision or "main",
            "commit": "3f1c0de" * 5,
            "steps": [
                {"name": "PreSync", "objects": [{**ids, "kind": "Job", "name": "migrate", "action": "hook"}]},
                {
                    "name": "Sync wave 0",
                    "objects": [{**ids, "action": "configure", "diff": diff}],
                    "prunes": [],
                },
            ],
            "skipped": [{**ids, "kind": "Pod", "name": "test", "message": "Helm test hook"}],
        }

    async def refresh_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        app = self._find(name)
        self.initiators.append(("refresh", name, initiator))
        self.calls.append(("refresh", name))
        return copy.deepcopy(app)

    def history(self, name: str) -> list[dict[str, Any]]:
        self._find(name)
        return [
            {"id": 7, "revision": "3f1c0de", "deployedAt": "2024-05-01T10:00:00Z"},
            {"id": 6, "revision": "0a0a0a0", "deployedAt": "2024-04-30T09:00:00Z"},
        ]

    async def rollback(self, name: str, history_id: int, *, initiator: str = "") -> dict[str, Any]:
        self._find(name)
        self.initiators.append(("rollback", name, initiator))
        self.calls.append(("rollback", {"name": name, "id": history_id}))
        return _operation(name, "0a0a0a0", op_id=9, trigger="rollback")

    def events(self, name: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        self.calls.append(("events", {"name": name, "limit": limit}))
        all_events = [_event(1, "podinfo", "Normal", "Synced"), _event(2, "broken", "Warning", "SyncFailed")]
        return [e for e in all_events if name is None or e["app"] == name][:limit]

    async def stop(self) -> None:
        self.stopped = True


def _diff_entry(name: str, action: str, diff: str) -> dict[str, Any]:
    return {
        "id": f"{name}_{name}_apps_Deployment",
        "group": "apps",
        "kind": "Deployment",
        "namespace": name,
        "name": name,
        "action": action,
        "diff": diff,
    }


def _operation(name: str, revision: str, *, op_id: int, trigger: str = "api") -> dict[str, Any]:
    return {
        "id": op_id,
        "app": name,
        "revision": revision,
        "commit": "3f1c0de",
        "phase": "Succeeded",
        "startedAt": "2024-05-01T10:00:00Z",
        "finishedAt": "2024-05-01T10:00:02Z",
        "message": "successfully synced",
        "trigger": trigger,
        "resources": [
            {
                "id": f"{name}_{name}_apps_Deployment",
                "group": "apps",
                "kind": "Deployment",
                "namespace": name,
                "name": name,
                "version": "v1",
                "action": "configured",
                "message": "",
            }
        ],
    }


def _event(event_id: int, app: str, kind: str, reason: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "app": app,
        "time": "2024-05-01T10:00:00Z",
        "type": kind,
        "reason": reason,
        "message": f"{reason} {app}",
        "object": f"apps/Deployment/{app}/{app}",
        "fields": [],
        "manager": "gitward",
    }
