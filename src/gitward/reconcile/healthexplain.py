"""``gitward health explain``: which rule decided one object's health, and why.

The object is one of an app's own objects (its inventory), read from the watch cache of the app's
cluster, the same object the status and the waits assess; the rules are the engine's
(``health.HealthRules``: the config's HealthChecks, the installed plugins, the built-in and generic
rules), so the answer is the one the app's status shows, with the rule that gave it.

Deliberately not here: the rules themselves (``gitward.health``), objects an app does not own.
"""

from __future__ import annotations

from typing import Any

from gitward.cluster.connection import ClusterConnections
from gitward.core.errors import ClusterError, GitwardError
from gitward.core.keys import ResourceKey
from gitward.reconcile.registry import Registry
from gitward.reconcile.service import AppNotFound


def explain_health(
    registry: Registry,
    connections: ClusterConnections,
    app: str,
    *,
    kind: str,
    name: str,
    namespace: str | None = None,
) -> dict[str, Any]:
    """``{app, group, kind, namespace, name, health, decidedBy, passed}``; ``kind`` is ``Kind`` or
    ``Kind.group``. AppNotFound when the app or the object is not there; a GitwardError naming the
    candidates when several objects match."""
    rt = registry.runtimes.get(app)
    if rt is None:
        raise AppNotFound(f"application {app!r} not found")
    key = _the_one(app, [e.key for e in rt.inventory], kind=kind, name=name, namespace=namespace)
    cluster = rt.app.spec.destination.cluster
    conn = connections.get(cluster)
    if conn is None:
        raise ClusterError(f"cluster {cluster!r} of application {app!r} is not connected yet")
    decision = registry.health.explain(conn.cache.get(key))
    return {
        "app": app,
        "group": key.group,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        **decision.to_dict(),
    }


def _the_one(
    app: str, keys: list[ResourceKey], *, kind: str, name: str, namespace: str | None
) -> ResourceKey:
    kind_name, dot, group = kind.partition(".")
    found = [
        k
        for k in keys
        if k.kind == kind_name
        and k.name == name
        and (not dot or k.group == group)
        and (namespace is None or k.namespace == namespace)
    ]
    if not found:
        where = f" in namespace {namespace}" if namespace is not None else ""
        raise AppNotFound(f"application {app!r} has no {kind} named {name!r}{where}")
    if len(found) > 1:
        listed = ", ".join(sorted(k.id for k in found))
        raise GitwardError(
            f"{len(found)} objects of application {app!r} match ({listed}): "
            "name the namespace (-n) or the group (Kind.group)"
        )
    return found[0]
