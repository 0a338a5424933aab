"""Discovery: which kinds a cluster serves, their plural names and scope, cached per cluster.

The first lookup loads everything with aggregated discovery (one request each for ``/api`` and
``/apis``; older servers fall back to one request per group-version). A lookup that misses fetches
only that group-version again, so a CRD created a moment ago is found without reloading the rest.
``api_versions()`` (for ``helm template --api-versions``) reloads when its copy is older than
``max_age`` seconds.

Deliberately not here: OpenAPI schemas, preferred-version choice (manifests name their version),
and subresources.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import orjson

from gitward.cluster.client import ApiResource
from gitward.cluster.transport import ApiTransport
from gitward.core.clock import Clock, SystemClock
from gitward.core.errors import ClusterError
from gitward.core.keys import group_of, version_of

_AGGREGATED = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


def gv_path(api_version: str) -> str:
    """URL prefix of a group-version: ``/api/v1`` or ``/apis/apps/v1``."""
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def _resources_from_aggregated(group: str, version: dict[str, Any]) -> list[ApiResource]:
    out = []
    for res in version.get("resources") or []:
        kind = (res.get("responseKind") or {}).get("kind")
        if not kind:
            continue
        out.append(
            ApiResource(
                group=group,
                version=str(version.get("version", "")),
                kind=str(kind),
                plural=str(res.get("resource", "")),
                namespaced=res.get("scope") == "Namespaced",
                verbs=frozenset(res.get("verbs") or ()),
            )
        )
    return out


def _resources_from_list(api_version: str, data: dict[str, Any]) -> list[ApiResource]:
    out = []
    for res in data.get("resources") or []:
        name = str(res.get("name", ""))
        if "/" in name:  # subresources such as deployments/status
            continue
        out.append(
            ApiResource(
                group=group_of(api_version),
                version=version_of(api_version),
                kind=str(res.get("kind", "")),
                plural=name,
                namespaced=bool(res.get("namespaced")),
                verbs=frozenset(res.get("verbs") or ()),
            )
        )
    return out


class Discovery:
    """Cached discovery of one cluster."""

    def __init__(self, transport: ApiTransport, *, clock: Clock | None = None, max_age: float = 30.0) -> None:
        self._transport = transport
        self._clock = clock or SystemClock()
        self._max_age = max_age
        self._by_gv: dict[str, dict[str, ApiResource]] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def resource_for(self, api_version: str, kind: str) -> ApiResource:
        found = self._by_gv.get(api_version, {}).get(kind)
        if found is not None:
            return found
        async with self._lock:
            if self._loaded_at is None:
                await self._load_all()
            found = self._by_gv.get(api_version, {}).get(kind)
            if found is None:
                await self._load_gv(api_version)
                found = self._by_gv.get(api_version, {}).get(kind)
        if found is None:
            raise ClusterError(
                f"the server does not serve kind {kind} in apiVersion {api_version}",
                status=404,
                reason="NotFound",
            )
        return found

    async def api_versions(self) -> list[str]:
        async with self._lock:
            stale = self._loaded_at is None or self._clock.monotonic() - self._loaded_at > self._max_age
            if stale:
                await self._load_all()
        return sorted(gv for gv, kinds in self._by_gv.items() if kinds)

    async def resources(self) -> list[ApiResource]:
        """Every kind served, reloaded: for the rare scans that must not miss a kind (inventory rebuild)."""
        async with self._lock:
            await self._load_all()
        return [res for kinds in self._by_gv.values() for res in kinds.values()]

    def invalidate(self) -> None:
        self._loaded_at = None

    async def _get(self, path: str, *, accept: str = "application/json") -> tuple[int, dict[str, Any]]:
        status, body = await self._transport.request(
            "discovery",
            "GET",
            path,
            what=f"discovery {path}",
            headers={"Accept": accept},
            not_found_ok=True,
        )
        if status == 404:
            return status, {}
        data = orjson.loads(body)
        return status, data if isinstance(data, dict) else {}

    async def _load_all(self) -> None:
        found: dict[str, dict[str, ApiResource]] = {}
        for root in ("/api", "/apis"):
            _, data = await self._get(root, accept=_AGGREGATED)
            if data.get("kind") == "APIGroupDiscoveryList":
                self._merge(found, self._aggregated(data))
            else:
                self._merge(found, await self._legacy(root, data))
        self._by_gv = found
        self._loaded_at = self._clock.monotonic()

    @staticmethod
    def _merge(into: dict[str, dict[str, ApiResource]], resources: Iterable[ApiResource]) -> None:
        for res in resources:
            into.setdefault(res.api_version, {})[res.kind] = res

    @staticmethod
    def _aggregated(data: dict[str, Any]) -> list[ApiResource]:
        out: list[ApiResource] = []
        for group in data.get("items") or []:
            name = str((group.get("metadata") or {}).get("name") or "")
            for version in group.get("versions") or []:
                out.extend(_resources_from_aggregated(name, version))
        return out

    async def _legacy(self, root: str, data: dict[str, Any]) -> list[ApiResource]:
        if root == "/api":
            gvs = [str(v) for v in data.get("versions") or []]
        else:
            gvs = [
                str(v.get("groupVersion")) for g in data.get("groups") or [] for v in g.get("versions") or []
            ]
        out: list[ApiResource] = []
        for gv in gvs:
            _, listing = await self._get(gv_path(gv))
            out.extend(_resources_from_list(gv, listing))
        return out

    async def _load_gv(self, api_version: str) -> None:
        status, data = await self._get(gv_path(api_version))
        if status == 404:
            self._by_gv.pop(api_version, None)
            return
        self._by_gv[api_version] = {r.kind: r for r in _resources_from_list(api_version, data)}
