"""The resource tree of an app: its objects and what they own, down to ReplicaSets and Pods.

Why: an app's own objects (a Deployment) say little when something is wrong; the ReplicaSet and
Pods it owns say why. The tree is built from the watch cache only, never by asking the API server
per page view: the app's objects are in the cache already (their kinds are watched), and the kinds
that workloads own (ReplicaSet, Pod, Job) are watched on the first tree asked for on that cluster,
then kept current like every other watched kind. Children are found by ``ownerReferences`` uid,
within the namespaces of the app's workloads, with each node's health from ``gitward.health``.

Deliberately not here: objects' contents (a tree node shows kind, name, health and a message,
never data, so no Secret value can reach it) and any write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from gitward.core.errors import GitwardError
from gitward.core.keys import ResourceKey
from gitward.health import Decision, builtin_decision

log = logging.getLogger(__name__)

#: (apiVersion, kind) of what workloads own, and which owner kinds have such children.
CHILD_KINDS = (("apps/v1", "ReplicaSet"), ("batch/v1", "Job"), ("v1", "Pod"))
OWNERS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})
MAX_CHILDREN = 50
MAX_DEPTH = 3


class TreeCache(Protocol):
    """What the tree needs of ``cluster.ClusterCache``."""

    async def ensure_watched(self, api_version: str, kind: str) -> None: ...

    def get(self, key: ResourceKey) -> dict[str, Any] | None: ...

    def objects(
        self,
        *,
        api_version: str | None = None,
        kind: str | None = None,
        group: str | None = None,
        namespace: str | None = None,
    ) -> list[dict[str, Any]]: ...


def _uid(obj: Mapping[str, Any] | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("uid") or "")


#: How a node's health is found: ``HealthRules.explain`` of the engine, or the built-in rules alone.
Explain = Callable[[Mapping[str, Any] | None], Decision]


def node_of(
    obj: Mapping[str, Any] | None,
    *,
    kind: str,
    namespace: str,
    name: str,
    explain: Explain = builtin_decision,
) -> dict[str, Any]:
    decision = explain(obj)
    health = decision.health
    return {
        "kind": kind,
        "namespace": namespace,
        "name": name,
        "health": health.status.value,
        "message": health.message,
        "healthBy": decision.label,
        "children": [],
        "more": 0,
    }


def owned_index(cache: TreeCache, namespaces: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Owner uid -> the cached child objects it owns, over the given namespaces."""
    index: dict[str, list[dict[str, Any]]] = {}
    for namespace in sorted(set(namespaces)):
        for api_version, kind in CHILD_KINDS:
            for obj in cache.objects(api_version=api_version, kind=kind, namespace=namespace):
                for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
                    uid = str(ref.get("uid") or "")
                    if uid:
                        index.setdefault(uid, []).append(obj)
    return index


def _attach(
    node: dict[str, Any],
    obj: Mapping[str, Any] | None,
    index: Mapping[str, Any],
    depth: int,
    explain: Explain = builtin_decision,
) -> None:
    if depth >= MAX_DEPTH or node["kind"] not in OWNERS:
        return
    children = index.get(_uid(obj), [])
    ordered = sorted(children, key=lambda o: (str(o.get("kind")), str((o.get("metadata") or {}).get("name"))))
    for child in ordered[:MAX_CHILDREN]:
        meta = child.get("metadata") or {}
        sub = node_of(
            child,
            kind=str(child.get("kind")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name")),
            explain=explain,
        )
        _attach(sub, child, index, depth + 1, explain)
        node["children"].append(sub)
    node["more"] = max(0, len(ordered) - MAX_CHILDREN)


async def build_tree(
    cache: TreeCache | None, resources: Iterable[Mapping[str, Any]], *, explain: Explain = builtin_decision
) -> list[dict[str, Any]]:
    """One node per app object (``resources``: the status rows), with what each one owns.

    Without a cache (the cluster was never reached) the nodes carry the status's own health."""
    rows = list(resources)
    if cache is None:
        return [_row_node(r) for r in rows]
    keys = [
        ResourceKey(
            str(r.get("group", "")),
            str(r.get("kind", "")),
            str(r.get("namespace", "")),
            str(r.get("name", "")),
        )
        for r in rows
    ]
    owners = [k for k in keys if k.kind in OWNERS]
    index: dict[str, list[dict[str, Any]]] = {}
    if owners:
        try:
            for api_version, kind in CHILD_KINDS:
                await cache.ensure_watched(api_version, kind)
            index = owned_index(cache, (k.namespace for k in owners))
        except GitwardError as err:
            log.info("resource tree without owned objects: %s", err)
    nodes = []
    for row, key in zip(rows, keys, strict=True):
        obj = cache.get(key)
        node = (
            node_of(obj, kind=key.kind, namespace=key.namespace, name=key.name, explain=explain)
            if obj
            else _row_node(row)
        )
        node["sync"] = str(row.get("sync") or "")
        _attach(node, obj, index, 0, explain)
        nodes.append(node)
    return nodes


def _row_node(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": str(row.get("kind", "")),
        "namespace": str(row.get("namespace", "")),
        "name": str(row.get("name", "")),
        "health": str(row.get("health") or "Unknown"),
        "message": str(row.get("message") or ""),
        "sync": str(row.get("sync") or ""),
        "children": [],
        "more": 0,
    }


def count_nodes(nodes: Iterable[Mapping[str, Any]]) -> int:
    return sum(1 + count_nodes(n.get("children") or []) for n in nodes)
