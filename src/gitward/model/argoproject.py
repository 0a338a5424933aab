"""Reading an Argo CD ``argoproj.io/v1alpha1`` AppProject as a gitward Project.

Field by field: ``description``; ``sourceRepos`` (globs, ``!`` denies, as in gitward);
``destinations`` (``name`` is a gitward Cluster name or glob; ``server`` only as ``*`` or the
in-cluster address, since gitward names its clusters instead of addressing them; ``namespace`` a
glob); the four resource lists (``{group, kind}`` globs); ``syncWindows`` (gitward reads Argo CD's
window fields itself, ``model/project.py``); ``orphanedResources`` (``warn`` and ``ignore`` entries
of ``{group, kind, name}``, as gitward's Project has them).

Argo CD and gitward read an omitted ``clusterResourceWhitelist`` differently: Argo CD allows no
cluster-scoped kind, gitward every kind. The converted Project keeps Argo CD's meaning, so an
AppProject without the list gets an empty whitelist (no cluster-scoped kind); an omitted
``namespaceResourceWhitelist`` allows every namespaced kind in both.

Refused, naming the field: ``roles`` (gitward's access control is its own Role and RoleBinding
objects, whose grammar differs from Argo CD's policies), ``signatureKeys`` (GPG key IDs of Argo CD's
keyring, which gitward does not have: write a gitward Project with ``signatureKeys`` naming the
keys), ``sourceNamespaces``, ``destinationServiceAccounts``,
``permitOnlyProjectScopedClusters`` and any other field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.model.argocd import ARGO_API_VERSION, IN_CLUSTER_SERVERS
from gitward.model.common import API_VERSION
from gitward.model.errors import ConversionError
from gitward.model.foreign import converted_metadata, mapping, only
from gitward.model.project import Project

ARGO_PROJECT_KIND = "AppProject"
_LISTS = (
    "clusterResourceWhitelist",
    "clusterResourceBlacklist",
    "namespaceResourceWhitelist",
    "namespaceResourceBlacklist",
)
_SPEC_FIELDS = {"description", "sourceRepos", "destinations", "syncWindows", "orphanedResources", *_LISTS}
_WHY_REFUSED = {
    "roles": "gitward's access control is its own Role and RoleBinding objects (Argo CD's policy "
    "grammar is not read)",
    "signatureKeys": "Argo CD names GPG key IDs of its own keyring, which gitward does not have; write "
    "a gitward Project whose signatureKeys names the keys",
    "sourceNamespaces": "gitward's Application names are global, not per namespace",
    "destinationServiceAccounts": "gitward applies with its own credentials for each cluster",
    "permitOnlyProjectScopedClusters": "gitward has no project-scoped clusters",
}


def is_argocd_project(obj: Mapping[str, Any]) -> bool:
    return obj.get("apiVersion") == ARGO_API_VERSION and obj.get("kind") == ARGO_PROJECT_KIND


def from_argocd_project(obj: Mapping[str, Any]) -> Project:
    """The gitward Project that enforces ``obj``; ConversionError or pydantic ValidationError if not."""
    spec = mapping(obj.get("spec"), "spec")
    for name, why in _WHY_REFUSED.items():
        if spec.get(name) not in (None, [], {}, False):
            raise ConversionError(f"spec.{name} is not supported by gitward: {why}")
    only({k: v for k, v in spec.items() if k not in _WHY_REFUSED}, allowed=_SPEC_FIELDS, where="spec")
    out: dict[str, Any] = {}
    if spec.get("description"):
        out["description"] = spec["description"]
    out["sourceRepos"] = list(_strings(spec.get("sourceRepos"), "spec.sourceRepos"))
    out["destinations"] = [
        _destination(mapping(entry, f"spec.destinations[{i}]"), i)
        for i, entry in enumerate(_entries(spec.get("destinations"), "spec.destinations"))
    ]
    for name in _LISTS:
        if spec.get(name) is not None:
            entries = _entries(spec[name], f"spec.{name}")
            out[name] = [_group_kind(entry, f"spec.{name}[{i}]") for i, entry in enumerate(entries)]
    out.setdefault("clusterResourceWhitelist", [])  # Argo CD: none unless listed
    if spec.get("syncWindows"):
        out["syncWindows"] = list(_entries(spec["syncWindows"], "spec.syncWindows"))
    if spec.get("orphanedResources") is not None:
        out["orphanedResources"] = dict(mapping(spec["orphanedResources"], "spec.orphanedResources"))
    metadata = converted_metadata(obj, origin=f"{ARGO_API_VERSION}/{ARGO_PROJECT_KIND}")
    return Project.model_validate(
        {"apiVersion": API_VERSION, "kind": "Project", "metadata": metadata, "spec": out}
    )


def _entries(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConversionError(f"{where} must be a list")
    return value


def _strings(value: Any, where: str) -> list[str]:
    entries = _entries(value, where)
    if not all(isinstance(entry, str) for entry in entries):
        raise ConversionError(f"{where} must be a list of strings")
    return entries


def _destination(entry: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Argo CD's ``{server, name, namespace}`` as gitward's ``{cluster, namespace}``."""
    where = f"spec.destinations[{index}]"
    only(entry, allowed={"server", "name", "namespace"}, where=where)
    server, name = entry.get("server"), entry.get("name")
    if server not in (None, "", "*") and server not in IN_CLUSTER_SERVERS:
        raise ConversionError(
            f"{where}.server {server!r} is not '*' or the in-cluster address: gitward names its "
            "clusters, so write the Cluster's name in name instead"
        )
    if name and server not in (None, "", "*"):
        raise ConversionError(f"{where}: set either name or server, not both")
    if not entry.get("namespace"):
        # Argo CD matches an empty namespace with cluster-scoped objects only; gitward has no such
        # pattern, so the glob must be written
        raise ConversionError(f"{where}.namespace is required (a glob, '*' for every namespace)")
    cluster = name or ("in-cluster" if server in IN_CLUSTER_SERVERS else "*")
    return {"cluster": cluster, "namespace": entry["namespace"]}


def _group_kind(entry: Any, where: str) -> dict[str, Any]:
    found = mapping(entry, where)
    only(found, allowed={"group", "kind"}, where=where)
    if not found.get("kind"):
        raise ConversionError(f"{where}.kind is required")
    return {"group": str(found.get("group") or ""), "kind": str(found["kind"])}
