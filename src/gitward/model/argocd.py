"""Reading an Argo CD ``argoproj.io/v1alpha1`` Application as a gitward Application.

Field by field: ``source`` (``targetRevision`` -> ``revision``; helm, kustomize, directory with its
``jsonnet`` options, plugin with its ``name``, ``env`` and ``parameters``),
``destination`` (``name`` is a gitward Cluster name; ``server`` only as the in-cluster address),
``syncPolicy`` (``syncOptions`` -> ``options``), ``ignoreDifferences`` (JSON pointers, jq path
expressions of the subset gitward reads, field managers),
``revisionHistoryLimit`` (how many deployments the history keeps), ``metadata.finalizers`` (Argo CD's
cascade on deletion: ``resources-finalizer.argocd.argoproj.io`` -> ``deletionPolicy: foreground``,
``.../background`` -> ``background``, none -> ``orphan``; any other finalizer is refused by name).
Argo CD does not recurse into plain directories unless asked, so a converted plain source keeps
``recurse: false``; the render type is still detected from the files, as Argo CD does.

``spec.sources`` (several sources, Argo CD's multi-source apps) becomes the app's ``sources``: each
rendered and the objects concatenated; a source with ``ref`` provides its repository's files to
other sources' Helm ``valueFiles`` written ``$ref/path``, and is rendered itself only with a
``path`` or ``chart``. As Argo CD does, ``spec.source`` is ignored when ``spec.sources`` is set. Two
sources rendering the same object are refused (Argo CD lets the last win with a warning): one
object, one declaration.

Deliberately not here: AppProjects (``model/argoproject.py``) and managed-namespace metadata.
Each is refused with the field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.model.application import Application
from gitward.model.errors import ConversionError
from gitward.model.foreign import (
    application_document,
    converted_metadata,
    inline_values,
    mapping,
    only,
    pick,
)

ARGO_API_VERSION = "argoproj.io/v1alpha1"
ARGO_KIND = "Application"
IN_CLUSTER_SERVERS = frozenset({"https://kubernetes.default.svc", "https://kubernetes.default.svc/"})

_SPEC_FIELDS = {
    "project", "source", "sources", "destination", "syncPolicy", "ignoreDifferences", "revisionHistoryLimit",
}  # fmt: skip
# Read-only or informational fields that do not change what is deployed.
_SPEC_HARMLESS = {"info"}
#: The spec fields of an Argo CD Application gitward reads (an ApplicationSet's template checks them).
ARGO_SPEC_FIELDS = frozenset(_SPEC_FIELDS | _SPEC_HARMLESS)
_SOURCE_FIELDS = {
    *("repoURL", "targetRevision", "path", "chart", "helm", "kustomize", "directory", "plugin", "ref"),
}
_HELM_FIELDS = {"releaseName", "values", "valuesObject", "valueFiles", "parameters", "namespace", "version"}
_KUSTOMIZE_FIELDS = {"images", "namePrefix", "nameSuffix", "namespace", "commonLabels"}
_DIRECTORY_FIELDS = {"recurse", "include", "exclude", "jsonnet"}
_JSONNET_FIELDS = {"libs", "extVars", "tlas"}
_PLUGIN_FIELDS = {"name", "env", "parameters"}
_SYNC_FIELDS = {"automated", "syncOptions", "retry"}
_IGNORE_FIELDS = {
    "group",
    "kind",
    "name",
    "namespace",
    "jsonPointers",
    "jqPathExpressions",
    "managedFieldsManagers",
}
#: Argo CD's resources finalizers -> the deletion policy they ask for.
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
_FINALIZER_POLICIES = {
    RESOURCES_FINALIZER: "foreground",
    f"{RESOURCES_FINALIZER}/foreground": "foreground",
    f"{RESOURCES_FINALIZER}/background": "background",
}


def is_argocd_application(obj: Mapping[str, Any]) -> bool:
    return obj.get("apiVersion") == ARGO_API_VERSION and obj.get("kind") == ARGO_KIND


def from_argocd(obj: Mapping[str, Any]) -> Application:
    """The gitward Application that runs ``obj``; ConversionError or pydantic ValidationError if not."""
    spec = mapping(obj.get("spec"), "spec")
    only(spec, allowed=_SPEC_FIELDS | _SPEC_HARMLESS, where="spec")
    out: dict[str, Any] = {
        "project": spec.get("project") or "default",
        "destination": _destination(mapping(spec.get("destination"), "spec.destination")),
    }
    if spec.get("sources"):
        # Argo CD ignores spec.source when spec.sources is set; gitward reads the list alone
        out["sources"] = _sources(spec["sources"])
    else:
        out["source"] = _source(mapping(spec.get("source"), "spec.source"))
    if spec.get("syncPolicy") is not None:
        out["syncPolicy"] = _sync_policy(mapping(spec["syncPolicy"], "spec.syncPolicy"))
    if spec.get("ignoreDifferences"):
        out["ignoreDifferences"] = [
            _ignore_rule(mapping(rule, f"spec.ignoreDifferences[{i}]"), i)
            for i, rule in enumerate(spec["ignoreDifferences"])
        ]
    if spec.get("revisionHistoryLimit") is not None:
        out["revisionHistoryLimit"] = spec["revisionHistoryLimit"]
    out["deletionPolicy"] = deletion_policy(obj)
    metadata = converted_metadata(obj, origin=f"{ARGO_API_VERSION}/{ARGO_KIND}")
    return Application.model_validate(application_document(metadata, out))


def deletion_policy(obj: Mapping[str, Any]) -> str:
    """The cascade Argo CD's finalizers ask for: foreground, background, or orphan when there is none.

    Any other finalizer is refused: gitward would not run whatever it stands for.
    """
    finalizers = mapping(obj.get("metadata"), "metadata").get("finalizers") or []
    if not isinstance(finalizers, list):
        raise ConversionError("metadata.finalizers must be a list")
    policies = []
    for finalizer in finalizers:
        policy = _FINALIZER_POLICIES.get(str(finalizer))
        if policy is None:
            raise ConversionError(
                f"metadata.finalizers: {str(finalizer)!r} is not supported by gitward "
                f"(known: {', '.join(sorted(_FINALIZER_POLICIES))})"
            )
        policies.append(policy)
    if len(set(policies)) > 1:
        raise ConversionError("metadata.finalizers asks for both foreground and background deletion")
    return policies[0] if policies else "orphan"


def _sources(entries: Any) -> list[dict[str, Any]]:
    """``spec.sources``: each read as a source; one with ``ref`` gives its files to the others'
    ``$ref/...`` Helm value files and, without path or chart, is not rendered itself."""
    if not isinstance(entries, list):
        raise ConversionError("spec.sources must be a list")
    out = []
    for index, entry in enumerate(entries):
        where = f"spec.sources[{index}]"
        source = mapping(entry, where)
        ref = source.get("ref")
        read = _source({k: v for k, v in source.items() if k != "ref"}, where=where)
        if ref:
            read["ref"] = ref
            if not source.get("path") and not source.get("chart"):
                read.pop("directory", None)  # not rendered: only its files are read
        out.append(read)
    return out


def _source(source: Mapping[str, Any], *, where: str = "spec.source") -> dict[str, Any]:
    only(source, allowed=_SOURCE_FIELDS, where=where)
    if source.get("ref"):
        raise ConversionError(f"{where}.ref is only meaningful with multiple sources (spec.sources)")
    out = pick(source, {"repoURL": "repoURL", "path": "path", "chart": "chart"})
    out["revision"] = source.get("targetRevision") or "HEAD"
    if source.get("helm") is not None:
        out["helm"] = _helm(mapping(source["helm"], f"{where}.helm"), where=f"{where}.helm")
    if source.get("kustomize") is not None:
        kustomize = mapping(source["kustomize"], f"{where}.kustomize")
        only(kustomize, allowed=_KUSTOMIZE_FIELDS, where=f"{where}.kustomize")
        out["kustomize"] = dict(kustomize)
    if source.get("plugin") is not None:
        plugin = mapping(source["plugin"], f"{where}.plugin")
        only(plugin, allowed=_PLUGIN_FIELDS, where=f"{where}.plugin")
        out["plugin"] = {key: value for key, value in plugin.items() if value not in (None, "")}
    if source.get("directory") is not None:
        out["directory"] = _directory(mapping(source["directory"], f"{where}.directory"), where=where)
    elif not ({"helm", "kustomize", "chart", "plugin"} & set(out)):
        # Argo CD reads only the top directory of a plain source unless told to recurse.
        out["directory"] = {"recurse": False}
    return out


def _helm(helm: Mapping[str, Any], *, where: str = "spec.source.helm") -> dict[str, Any]:
    only(helm, allowed=_HELM_FIELDS, where=where)
    if helm.get("version") not in (None, "", "v3"):
        # Argo CD's choice of Helm major version: gitward renders with the pinned Helm 3 only.
        raise ConversionError(f"{where}.version {helm['version']!r} is not supported (v3 only)")
    out = pick(helm, {"releaseName": "releaseName", "valueFiles": "valueFiles", "namespace": "namespace"})
    values: dict[str, Any] = {}
    if helm.get("values"):
        values = inline_values(helm["values"], f"{where}.values")
    if helm.get("valuesObject") is not None:
        # Argo CD gives valuesObject precedence over the values string.
        values = dict(mapping(helm["valuesObject"], f"{where}.valuesObject"))
    if values:
        out["values"] = values
    if helm.get("parameters"):
        out["parameters"] = [
            pick(
                mapping(p, f"{where}.parameters"),
                {"name": "name", "value": "value", "forceString": "forceString"},
            )
            for p in helm["parameters"]
        ]
    return out


def _directory(directory: Mapping[str, Any], *, where: str = "spec.source") -> dict[str, Any]:
    only(directory, allowed=_DIRECTORY_FIELDS, where=f"{where}.directory")
    out = pick(directory, {"include": "include", "exclude": "exclude"})
    if directory.get("jsonnet"):
        jsonnet = mapping(directory["jsonnet"], f"{where}.directory.jsonnet")
        only(jsonnet, allowed=_JSONNET_FIELDS, where=f"{where}.directory.jsonnet")
        out["jsonnet"] = {key: value for key, value in jsonnet.items() if value}
    out["recurse"] = bool(directory.get("recurse", False))
    return out


def _destination(destination: Mapping[str, Any]) -> dict[str, Any]:
    only(destination, allowed={"name", "server", "namespace"}, where="spec.destination")
    name, server = destination.get("name"), destination.get("server")
    if name and server:
        raise ConversionError("spec.destination: set either name or server, not both")
    if server and server not in IN_CLUSTER_SERVERS:
        raise ConversionError(
            f"spec.destination.server {server!r} is not the in-cluster address; "
            "name a gitward Cluster with spec.destination.name instead"
        )
    out: dict[str, Any] = {"cluster": name or "in-cluster"}
    if destination.get("namespace"):
        out["namespace"] = destination["namespace"]
    return out


def _sync_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    only(policy, allowed=_SYNC_FIELDS, where="spec.syncPolicy")
    out: dict[str, Any] = {}
    if policy.get("automated") is not None:
        automated = mapping(policy["automated"], "spec.syncPolicy.automated")
        only(
            automated,
            allowed={"prune", "selfHeal", "allowEmpty", "enabled"},
            where="spec.syncPolicy.automated",
        )
        if automated.get("enabled", True) is not False:
            out["automated"] = pick(
                automated, {"prune": "prune", "selfHeal": "selfHeal", "allowEmpty": "allowEmpty"}
            )
    if policy.get("syncOptions"):
        out["options"] = list(policy["syncOptions"])
    if policy.get("retry") is not None:
        out["retry"] = dict(mapping(policy["retry"], "spec.syncPolicy.retry"))
    return out


def _ignore_rule(rule: Mapping[str, Any], index: int) -> dict[str, Any]:
    where = f"spec.ignoreDifferences[{index}]"
    only(rule, allowed=_IGNORE_FIELDS, where=where)
    return dict(rule)
