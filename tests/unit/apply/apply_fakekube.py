"""An in-memory KubeClient for apply's unit tests: ordering, verdicts, prune safety, concurrency.

It merges applied manifests into stored objects (maps merged, lists replaced), bumps resourceVersion
only on real changes like the API server, counts requests by verb and records the order of writes.
CRDs become Established after ``crd_ready_after`` reads; custom kinds are served only once their CRD
is established. Refusals, conflicts, finalizers and admission denials are switched on per key.
"""

from __future__ import annotations

import asyncio
import copy
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

from gitward.cluster.client import ApiResource, WatchEvent
from gitward.core.errors import ClusterError
from gitward.core.keys import ResourceKey, group_of, version_of

BUILTIN = {
    "Namespace",
    "ConfigMap",
    "Secret",
    "Deployment",
    "Service",
    "ServiceAccount",
    "Role",
    "Pod",
    "Job",
}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole"}


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, Mapping):
        out = dict(base)
        for k, v in patch.items():
            out[k] = _merge(base.get(k), v)
        return out
    return copy.deepcopy(patch)


def key_of(api_version: str, kind: str, namespace: str, name: str) -> ResourceKey:
    return ResourceKey(group_of(api_version), kind, namespace, name)


class FakeKube:
    def __init__(self, *, crd_ready_after: int = 1) -> None:
        self.objects: dict[ResourceKey, dict[str, Any]] = {}
        self.counts: Counter[str] = Counter()
        self.writes: list[tuple[str, ResourceKey]] = []
        self.reject: dict[ResourceKey, str] = {}
        self.conflicts: dict[ResourceKey, str] = {}
        self.deny_delete: set[ResourceKey] = set()
        self.finalize: set[ResourceKey] = set()
        self.deny_list: dict[str, int] = {}
        self.crd_ready_after = crd_ready_after
        self._crd_reads: Counter[str] = Counter()
        self._rv = 100
        self.in_flight = 0
        self.max_in_flight = 0
        self.validations: list[str | None] = []
        self.immutable: set[ResourceKey] = set()  # updates of these are refused: "field is immutable"
        self._generated = 0

    # helpers for tests
    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        stored = copy.deepcopy(obj)
        self._bump(stored)
        self.objects[ResourceKey.of(stored)] = stored
        return stored

    def mutate(self, key: ResourceKey, patch: Mapping[str, Any]) -> None:
        """Another actor (controller, user) changes a stored object."""
        self.objects[key] = _merge(self.objects[key], patch)
        self._bump(self.objects[key])

    def live(self, key: ResourceKey) -> dict[str, Any] | None:
        return copy.deepcopy(self.objects.get(key))

    def _bump(self, obj: dict[str, Any]) -> None:
        self._rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)

    def _served(self, group: str, kind: str) -> bool:
        if kind in BUILTIN or kind == "CustomResourceDefinition":
            return True
        for obj in self.objects.values():
            if obj["kind"] == "CustomResourceDefinition" and obj["spec"]["group"] == group:
                names = obj["spec"]["names"]
                conds = (obj.get("status") or {}).get("conditions") or []
                if names["kind"] == kind and any(c["type"] == "Established" for c in conds):
                    return True
        return False

    # KubeClient
    async def server_version(self) -> str:
        return "v1.36.3"

    async def api_versions(self) -> list[str]:
        return ["v1"]

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        self.counts["discovery"] += 1
        if not self._served(group_of(api_version), kind):
            raise ClusterError(f"no kind {kind} in {api_version}", status=404)
        return ApiResource(
            group_of(api_version),
            version_of(api_version),
            kind,
            kind.lower() + "s",
            kind not in CLUSTER_SCOPED,
        )

    async def apply(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        self.counts["dryrun" if dry_run else "apply"] += 1
        self.validations.append(field_validation)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # let other tasks run, as a network call would
            return self._apply(obj, field_manager=field_manager, force=force, dry_run=dry_run)
        finally:
            self.in_flight -= 1

    def _apply(
        self, obj: Mapping[str, Any], *, field_manager: str, force: bool, dry_run: bool
    ) -> dict[str, Any]:
        key = ResourceKey.of(obj)
        if not self._served(key.group, key.kind):
            raise ClusterError(f"the server could not find the requested resource ({key.kind})", status=404)
        if key in self.reject:
            raise ClusterError(self.reject[key], status=422)
        if key in self.conflicts and not force:
            manager = self.conflicts[key]
            raise ClusterError(
                f'Apply failed with 1 conflict: conflict with "{manager}" using v1: .data.a', status=409
            )
        current = self.objects.get(key)
        if current is not None and key in self.immutable:
            raise ClusterError(
                f"{key.kind} {key.name!r} is invalid: spec.selector: field is immutable", status=422
            )
        merged = _merge(current or {}, obj)
        if current is not None and merged == current:
            return copy.deepcopy(current)
        if not dry_run:
            merged.setdefault("metadata", {}).setdefault("uid", f"uid-{key.name}")
            self._bump(merged)
            self.objects[key] = merged
            self.writes.append(("apply", key))
            self.conflicts.pop(key, None)
        return copy.deepcopy(merged)

    async def create(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        self.counts["dryrun" if dry_run else "create"] += 1
        self.validations.append(field_validation)
        await asyncio.sleep(0)
        stored = copy.deepcopy(dict(obj))
        meta = stored.setdefault("metadata", {})
        if not meta.get("name"):
            self._generated += 1
            meta["name"] = f"{meta.pop('generateName')}{self._generated:05d}"
        key = ResourceKey.of(stored)
        if key in self.reject:
            raise ClusterError(self.reject[key], status=422)
        if key in self.objects:
            raise ClusterError(f'{key.kind} "{key.name}" already exists', status=409)
        if dry_run:
            return stored
        meta.setdefault("uid", f"uid-{key.name}-{self._rv}")
        self._bump(stored)
        self.objects[key] = stored
        self.writes.append(("create", key))
        return copy.deepcopy(stored)

    async def replace(
        self,
        obj: Mapping[str, Any],
        *,
        field_manager: str,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        self.counts["dryrun" if dry_run else "update"] += 1
        self.validations.append(field_validation)
        key = ResourceKey.of(obj)
        current = self.objects.get(key)
        if current is None:
            raise ClusterError(f'{key.kind} "{key.name}" not found', status=404)
        wanted = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise ClusterError("the object has been modified", status=409)
        stored = copy.deepcopy(dict(obj))
        stored["metadata"]["uid"] = current["metadata"].get("uid")
        stored["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if "status" in current:
            stored["status"] = copy.deepcopy(current["status"])
        if stored == current or dry_run:
            return stored
        self._bump(stored)
        self.objects[key] = stored
        self.writes.append(("replace", key))
        return copy.deepcopy(stored)

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.counts["get"] += 1
        key = key_of(api_version, kind, namespace, name)
        obj = self.objects.get(key)
        if obj is not None and kind == "CustomResourceDefinition":
            self._crd_reads[name] += 1
            if self._crd_reads[name] >= self.crd_ready_after and not obj.get("status"):
                obj["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
        return copy.deepcopy(obj)

    async def patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        *,
        patch_type: str = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        """JSON patches of metadata maps only (``test`` and ``remove``), checked as the server does."""
        self.counts["patch"] += 1
        key = key_of(api_version, kind, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise ClusterError(f'{kind} "{name}" not found', status=404)
        assert patch_type == "json"
        patched = copy.deepcopy(current)
        for op in patch:
            *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
            node = patched
            for token in parents:
                node = node.get(token) or {}
            if op["op"] == "test" and node.get(last) != op["value"]:
                raise ClusterError(
                    f"the server rejected our request: testing value {op['path']} failed", status=422
                )
            if op["op"] == "remove":
                if last not in node:
                    raise ClusterError(
                        f"the server rejected our request: {op['path']} is missing", status=422
                    )
                del node[last]
        self._bump(patched)
        self.objects[key] = patched
        self.writes.append(("patch", key))
        return copy.deepcopy(patched)

    async def delete(
        self, api_version: str, kind: str, namespace: str, name: str, *, propagation: str = "Background"
    ) -> bool:
        self.counts["delete"] += 1
        key = key_of(api_version, kind, namespace, name)
        if key in self.deny_delete:
            raise ClusterError(
                f'{kind} "{name}" is forbidden: ValidatingAdmissionPolicy denied request', status=403
            )
        if key not in self.objects:
            return False
        self.writes.append(("delete", key))
        if key in self.finalize:
            self.objects[key]["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
        else:
            del self.objects[key]
        return True

    async def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        self.counts["list"] += 1
        if kind in self.deny_list:
            raise ClusterError(f"cannot list {kind}", status=self.deny_list[kind])
        label, _, value = (label_selector or "").partition("=")
        out = []
        for key, obj in self.objects.items():
            if key.kind != kind or key.group != group_of(api_version):
                continue
            if namespace is not None and key.namespace != namespace:
                continue
            if label and ((obj.get("metadata") or {}).get("labels") or {}).get(label) != value:
                continue
            item = copy.deepcopy(obj)
            del item["apiVersion"], item["kind"]  # like a real list response
            out.append(item)
        return out, str(self._rv)

    def watch(
        self, api_version: str, kind: str, *, resource_version: str, timeout_seconds: int = 300
    ) -> AsyncIterator[WatchEvent]:
        raise NotImplementedError

    def request_counts(self) -> Mapping[str, int]:
        return dict(self.counts)

    async def close(self) -> None:
        return None
