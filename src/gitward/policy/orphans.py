"""Orphaned objects: what lives in an app's namespaces that no app manages (a Project's
``orphanedResources``, as Argo CD's AppProject has it).

An object is orphaned when it is top-level (no ``ownerReferences``: a ReplicaSet of a Deployment or
the Pods of a Job belong to their owner), no app manages it, and none of these keeps it off the list:
- the project denies its kind (its namespaced white- and blacklists): such objects are a cluster
  administrator's, not the project's users';
- what every namespace has: the ``default`` ServiceAccount, the ``kube-root-ca.crt`` ConfigMap, the
  ``kubernetes`` Service of ``default``;
- an ``ignore`` entry of the project (``group``, ``kind``, ``name`` globs).

The list is information only: gitward never writes, adopts or deletes an orphaned object.
Deliberately not here: which kinds are watched to find them and which apps manage what
(``reconcile/orphans.py`` knows the cluster and the registry).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from gitward.core.keys import ResourceKey
from gitward.model import Project
from gitward.model.project import OrphanedResourceIgnore
from gitward.policy.project import kind_allowed

#: (group, kind, namespace or "*", name) of objects every cluster makes: never orphaned.
_ALWAYS_THERE = (
    ("", "ServiceAccount", "*", "default"),
    ("", "ConfigMap", "*", "kube-root-ca.crt"),
    ("", "Service", "default", "kubernetes"),
)


def orphaned(
    objects: Iterable[Mapping[str, Any]],
    *,
    project: Project,
    namespaces: Collection[str],
    managed: Callable[[Mapping[str, Any]], bool],
) -> list[ResourceKey]:
    """The orphaned objects among ``objects`` in ``namespaces``, in key order; ``managed`` says
    whether some app manages an object."""
    settings = project.spec.orphaned_resources
    if settings is None:
        return []
    found: set[ResourceKey] = set()
    for obj in objects:
        key = ResourceKey.of(obj)
        if key.namespace not in namespaces or (obj.get("metadata") or {}).get("ownerReferences"):
            continue
        if _always_there(key) or _ignored(key, settings.ignore) or managed(obj):
            continue
        spec = project.spec
        if not kind_allowed(key, spec.namespace_resource_whitelist, spec.namespace_resource_blacklist):
            continue
        found.add(key)
    return sorted(found)


def _always_there(key: ResourceKey) -> bool:
    return any(
        key.group == group and key.kind == kind and namespace in ("*", key.namespace) and key.name == name
        for group, kind, namespace, name in _ALWAYS_THERE
    )


def _ignored(key: ResourceKey, entries: Iterable[OrphanedResourceIgnore]) -> bool:
    return any(
        (entry.group is None or fnmatchcase(key.group, entry.group))
        and (entry.kind is None or fnmatchcase(key.kind, entry.kind))
        and (entry.name is None or fnmatchcase(key.name, entry.name))
        for entry in entries
    )
