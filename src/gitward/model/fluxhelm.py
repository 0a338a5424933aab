"""Reading a Flux ``HelmRelease`` (``helm.toolkit.fluxcd.io/v2``) and its chart source as a gitward
Application that renders the chart.

The chart comes from ``spec.chart.spec`` (``chart``, ``version``, ``sourceRef``) of a
``HelmRepository`` (HTTP, or ``type: oci``: the chart ``chart`` under the registry path) or of a
``GitRepository`` (``chart`` is the folder in the repository, rendered at the GitRepository's
revision: Flux's ``reconcileStrategy: Revision``), or from ``spec.chartRef`` naming an
``OCIRepository`` whose URL is the chart itself (``ref.tag`` or ``ref.semver``). ``valuesFiles``
are the chart's own files for a Helm repository and files of the Git repository (from its root, as
in Flux) for a GitRepository.

Field by field: ``values`` are the app's Helm values; ``valuesFrom`` (ConfigMaps and Secrets in the
HelmRelease's namespace) becomes the app's ``helm.valuesFrom``, read from the management cluster at
each render, so it needs ``run --from-cluster`` and is refused in a config file, naming the field.
``targetNamespace`` (else the HelmRelease's own namespace, as in Flux) is the release namespace and
the destination; ``releaseName`` defaults as in Flux to ``[targetNamespace-]name``. ``interval``,
``timeout``, ``suspend``, ``dependsOn`` as for a Kustomization. ``install.remediation.retries`` and
``upgrade.remediation.retries`` are the app's retry limit (a negative one retries without end); gitward
cannot tell an install from an upgrade, so two different values are refused, and it never uninstalls
or rolls back, so ``remediateLastFailure: true`` and ``upgrade.remediation.strategy`` are refused.
Helm waits for the release's objects unless ``disableWait``: the app waits until its objects are
healthy (``syncPolicy.wait``). ``install.createNamespace`` is ``CreateNamespace=true``. The chart's
CRDs are applied at every sync (``crds: CreateReplace``; ``Skip`` is refused). ``driftDetection.mode:
enabled`` is self-heal (otherwise drift is shown, not healed, as ``warn``) and its ``ignore`` rules
with a ``target.kind`` are ``ignoreDifferences``. ``uninstall.deletionPropagation`` is the deletion
policy (Flux uninstalls a deleted HelmRelease: ``background`` by default). ``maxHistory`` bounds the
app's deployment history (0: unbounded). Helm's own release storage does not exist in gitward: the
objects are applied server-side like any app's.

Refused, naming the field: ``postRenderers``, ``serviceAccountName``, ``kubeConfig``,
``storageNamespace``, ``test``, ``rollback``, ``commonMetadata``, ``persistentClient``, other install,
upgrade and uninstall settings, a chart ``verify``, a ``Bucket`` or ``HelmChart`` source, and the
HelmRepository's ``timeout``, ``certSecretRef``, ``passCredentials``, ``accessFrom`` and a
``provider`` other than ``generic``. A HelmRepository's ``secretRef`` (``username`` and ``password``)
is honoured with ``--from-cluster`` as an implied Repository, as a GitRepository's is.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gitward.model.application import Application
from gitward.model.errors import ConversionError
from gitward.model.flux import (
    LOOPBACK_HOSTS,
    check_url,
    depends_on,
    git_revision,
    object_ref,
    refuse_fetch_settings,
    shorter_interval,
    verify_spec,
)
from gitward.model.foreign import application_document, converted_metadata, mapping, only

HELM_GROUP = "helm.toolkit.fluxcd.io"
HELM_VERSIONS = frozenset({"v2"})
SOURCE_GROUP = "source.toolkit.fluxcd.io"
_FLUX_SOURCE_VERSIONS = frozenset({"v1", "v1beta2"})

_RELEASE_FIELDS = {
    "chart", "chartRef", "interval", "timeout", "releaseName", "targetNamespace", "install", "upgrade",
    "uninstall", "values", "valuesFrom", "suspend", "dependsOn", "driftDetection", "maxHistory",
}  # fmt: skip
_CHART_FIELDS = {"chart", "version", "sourceRef", "interval", "reconcileStrategy", "valuesFiles"}
_HELM_REPOSITORY_FIELDS = {
    "url",
    "type",
    "interval",
    "timeout",
    "secretRef",
    "suspend",
    "insecure",
    "provider",
}
_OCI_CHART_FIELDS = {"url", "ref", "interval", "timeout", "secretRef", "suspend", "insecure", "provider",
                     "layerSelector"}  # fmt: skip
_HELM_CHART_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_INSTALL_FIELDS = {"remediation", "createNamespace", "crds", "disableWait"}
_UPGRADE_FIELDS = {"remediation", "crds", "disableWait"}
_REMEDIATION_FIELDS = {"retries", "remediateLastFailure", "ignoreTestFailures"}
_CRDS_ACCEPTED = {"install": {"Create", "CreateReplace"}, "upgrade": {"CreateReplace"}}
_VALUES_FROM_FIELDS = {"kind", "name", "valuesKey", "targetPath", "optional"}


def _is(obj: Mapping[str, Any], group: str, versions: frozenset[str], kind: str) -> bool:
    grp, _, version = str(obj.get("apiVersion", "")).partition("/")
    return grp == group and version in versions and obj.get("kind") == kind


def is_flux_helmrelease(obj: Mapping[str, Any]) -> bool:
    return _is(obj, HELM_GROUP, HELM_VERSIONS, "HelmRelease")


def is_flux_helm_repository(obj: Mapping[str, Any]) -> bool:
    return _is(obj, SOURCE_GROUP, _FLUX_SOURCE_VERSIONS, "HelmRepository")


def chart_source_ref(release: Mapping[str, Any]) -> tuple[str, str, str]:
    """(kind, namespace, name) of the object a HelmRelease takes its chart from; the namespace
    defaults to the HelmRelease's own. Kinds gitward does not read are refused here."""
    spec = mapping(release.get("spec"), "spec")
    if spec.get("chart") is not None and spec.get("chartRef") is not None:
        raise ConversionError("spec.chart and spec.chartRef exclude each other")
    if spec.get("chartRef") is not None:
        where = "spec.chartRef"
        ref = mapping(spec["chartRef"], where)
        only(ref, allowed={"kind", "name", "namespace", "apiVersion"}, where=where)
        if ref.get("kind") != "OCIRepository":
            raise ConversionError(
                f"{where}.kind {ref.get('kind')!r} is not supported (only OCIRepository: name the chart's "
                "HelmRepository or GitRepository in spec.chart.spec.sourceRef instead)"
            )
    else:
        chart = mapping(mapping(spec.get("chart"), "spec.chart").get("spec"), "spec.chart.spec")
        where = "spec.chart.spec.sourceRef"
        ref = mapping(chart.get("sourceRef"), where)
        only(ref, allowed={"kind", "name", "namespace", "apiVersion"}, where=where)
        if ref.get("kind") == "Bucket":
            raise ConversionError(
                f"{where}.kind Bucket is not supported by gitward: keep the chart in a Git repository or a "
                "Helm repository instead"
            )
        if ref.get("kind") not in ("HelmRepository", "GitRepository"):
            raise ConversionError(f"{where}.kind {ref.get('kind')!r} is not HelmRepository or GitRepository")
    if not ref.get("name"):
        raise ConversionError(f"{where}.name is required")
    namespace = ref.get("namespace") or object_ref(release)[0]
    return str(ref["kind"]), str(namespace), str(ref["name"])


def from_helmrelease(
    release: Mapping[str, Any], *, source: Mapping[str, Any], from_cluster: bool = False
) -> Application:
    """The gitward Application that renders the HelmRelease's chart from ``source`` (the object named
    by ``chart_source_ref``); ConversionError or pydantic ValidationError if not."""
    spec = mapping(release.get("spec"), "spec")
    only(spec, allowed=_RELEASE_FIELDS, where="spec")
    kind = str(source.get("kind"))
    source_spec = mapping(source.get("spec"), f"{kind} spec")
    if kind == "OCIRepository":
        app_source = _oci_chart(source_spec, source)
    elif kind == "HelmRepository":
        app_source = _helm_repository_chart(_chart_spec(spec), source_spec, source)
    else:
        app_source = _git_chart(_chart_spec(spec), source_spec, source, from_cluster=from_cluster)
    namespace = str(spec.get("targetNamespace") or object_ref(release)[0] or "default")
    value_files = app_source.pop("valueFiles", None)
    app_source["helm"] = _helm(spec, release, namespace=namespace, from_cluster=from_cluster)
    if value_files:
        app_source["helm"]["valueFiles"] = value_files
    chart_interval = mapping(spec.get("chart"), "spec.chart").get("spec", {}) or {}
    interval = shorter_interval(spec.get("interval") or "5m", chart_interval.get("interval"))
    out: dict[str, Any] = {
        "source": app_source,
        "destination": {"namespace": namespace},
        "syncPolicy": _sync_policy(spec, interval=shorter_interval(interval, source_spec.get("interval"))),
        "deletionPolicy": _deletion_policy(spec),
    }
    if spec.get("suspend") or source_spec.get("suspend"):
        out["suspend"] = True
    if spec.get("dependsOn"):
        out["dependsOn"] = depends_on(spec["dependsOn"], own_namespace=object_ref(release)[0])
    if spec.get("maxHistory"):
        out["revisionHistoryLimit"] = spec["maxHistory"]
    ignores = _drift_ignores(spec)
    if ignores:
        out["ignoreDifferences"] = ignores
    metadata = converted_metadata(release, origin=f"{release.get('apiVersion')}/HelmRelease")
    return Application.model_validate(application_document(metadata, out))


def _chart_spec(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    chart = mapping(spec.get("chart"), "spec.chart")
    only(chart, allowed={"spec"}, where="spec.chart")
    chart_spec = mapping(chart.get("spec"), "spec.chart.spec")
    only(chart_spec, allowed=_CHART_FIELDS, where="spec.chart.spec")
    if not chart_spec.get("chart"):
        raise ConversionError("spec.chart.spec.chart is required")
    return chart_spec


def _value_files(chart_spec: Mapping[str, Any]) -> list[str]:
    files = chart_spec.get("valuesFiles") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ConversionError("spec.chart.spec.valuesFiles must be a list of paths")
    return list(files)


def _helm_repository_chart(
    chart_spec: Mapping[str, Any], repo_spec: Mapping[str, Any], repository: Mapping[str, Any]
) -> dict[str, Any]:
    only(repo_spec, allowed=_HELM_REPOSITORY_FIELDS, where="HelmRepository spec")
    url = repo_spec.get("url")
    check_url(url, repository, kind="HelmRepository")
    if not isinstance(url, str) or not url:
        raise ConversionError("HelmRepository spec.url is required")
    oci = repo_spec.get("type", "default") == "oci"
    if repo_spec.get("type", "default") not in ("default", "oci"):
        raise ConversionError(f"HelmRepository spec.type {repo_spec['type']!r} is not default or oci")
    if oci != url.lower().startswith("oci://"):
        raise ConversionError("HelmRepository spec.url must be an oci:// URL exactly when spec.type is oci")
    _refuse_registry_settings(repo_spec, url, kind="HelmRepository", oci=oci)
    if chart_spec.get("reconcileStrategy", "ChartVersion") not in ("ChartVersion", "Revision"):
        raise ConversionError(
            f"spec.chart.spec.reconcileStrategy {chart_spec['reconcileStrategy']!r} is not ChartVersion "
            "or Revision"
        )
    out: dict[str, Any] = {
        "repoURL": url.rstrip("/") if oci else url,
        "chart": chart_spec["chart"],
        "revision": str(chart_spec.get("version") or "*"),
    }
    files = _value_files(chart_spec)
    if files:
        out["valueFiles"] = files  # the chart's own files: relative to the chart, as gitward reads them
    return out


def _git_chart(
    chart_spec: Mapping[str, Any],
    repo_spec: Mapping[str, Any],
    repository: Mapping[str, Any],
    *,
    from_cluster: bool,
) -> dict[str, Any]:
    only(repo_spec, allowed={"url", "ref", "interval", "timeout", "secretRef", "suspend", "verify"},
         where="GitRepository spec")  # fmt: skip
    check_url(repo_spec.get("url"), repository)
    refuse_fetch_settings(repo_spec, from_cluster=from_cluster)
    if chart_spec.get("version") not in (None, "", "*"):
        raise ConversionError(
            "spec.chart.spec.version is ignored by Flux for a chart from a GitRepository (the chart is "
            "rendered at the GitRepository's revision): remove it"
        )
    if chart_spec.get("reconcileStrategy") not in (None, "Revision"):
        raise ConversionError(
            f"spec.chart.spec.reconcileStrategy {chart_spec['reconcileStrategy']!r} is not supported for a "
            "GitRepository chart: gitward renders the chart at every revision whose files changed "
            "(Revision)"
        )
    path = posixpath.normpath(str(chart_spec["chart"]).removeprefix("./"))
    out: dict[str, Any] = {
        "repoURL": repo_spec.get("url"),
        "revision": git_revision(mapping(repo_spec.get("ref"), "GitRepository spec.ref")),
        "path": "" if path == "." else path,
    }
    verify = verify_spec(repo_spec, repository)
    if verify:
        out["verify"] = verify
    out["valueFiles"] = [_inside_chart(f, path, i) for i, f in enumerate(_value_files(chart_spec))]
    return out


def _inside_chart(file: str, chart: str, index: int) -> str:
    """A values file named from the repository's root (Flux) as a path from the chart folder (gitward)."""
    relative = posixpath.relpath(posixpath.normpath(file.removeprefix("./")), chart)
    if relative.startswith("../") or relative == "..":
        raise ConversionError(
            f"spec.chart.spec.valuesFiles[{index}] {file!r} is outside the chart folder {chart!r}: gitward "
            "reads values files inside the chart's folder"
        )
    return relative


def _oci_chart(repo_spec: Mapping[str, Any], repository: Mapping[str, Any]) -> dict[str, Any]:
    """An OCIRepository whose URL is a chart: ``oci://host/path/chart`` -> repository and chart."""
    only(repo_spec, allowed=_OCI_CHART_FIELDS, where="OCIRepository spec")
    url = repo_spec.get("url")
    check_url(url, repository, kind="OCIRepository")
    if not isinstance(url, str) or not url.lower().startswith("oci://"):
        raise ConversionError("OCIRepository spec.url must be an oci:// URL")
    _refuse_registry_settings(repo_spec, url, kind="OCIRepository", oci=True)
    selector = mapping(repo_spec.get("layerSelector"), "OCIRepository spec.layerSelector")
    only(selector, allowed={"mediaType", "operation"}, where="OCIRepository spec.layerSelector")
    if selector.get("mediaType", _HELM_CHART_LAYER) != _HELM_CHART_LAYER or selector.get(
        "operation", "copy"
    ) not in ("copy", "extract"):
        raise ConversionError(
            f"OCIRepository spec.layerSelector must select the Helm chart layer ({_HELM_CHART_LAYER}) "
            "for a HelmRelease's spec.chartRef"
        )
    ref = mapping(repo_spec.get("ref"), "OCIRepository spec.ref")
    only(ref, allowed={"tag", "semver", "digest"}, where="OCIRepository spec.ref")
    if ref.get("digest"):
        raise ConversionError(
            "OCIRepository spec.ref.digest is not supported for a chart: gitward picks a chart by version "
            "(spec.ref.tag or spec.ref.semver)"
        )
    base, _, chart = url.rstrip("/").rpartition("/")
    if "/" not in base.removeprefix("oci://"):
        raise ConversionError(
            "OCIRepository spec.url must name the chart's repository: oci://HOST/PATH/CHART"
        )
    return {"repoURL": base, "chart": chart, "revision": str(ref.get("semver") or ref.get("tag") or "*")}


def _refuse_registry_settings(repo_spec: Mapping[str, Any], url: str, *, kind: str, oci: bool) -> None:
    if "timeout" in repo_spec:
        raise ConversionError(
            f"{kind} spec.timeout is not supported: gitward's fetch timeout is engine-wide, not per "
            "repository"
        )
    if (repo_spec.get("provider") or "generic") != "generic":
        raise ConversionError(
            f"{kind} spec.provider {repo_spec['provider']!r} is not supported (only generic: credentials "
            "come from spec.secretRef or a Repository object)"
        )
    if repo_spec.get("insecure") and not (oci and LOOPBACK_HOSTS.match(urlsplit(url).hostname or "")):
        raise ConversionError(
            f"{kind} spec.insecure is supported only for a loopback OCI registry: gitward speaks HTTPS with "
            "verified certificates to every other (and plain HTTP to an http:// Helm repository)"
        )


def _helm(
    spec: Mapping[str, Any], release: Mapping[str, Any], *, namespace: str, from_cluster: bool
) -> dict[str, Any]:
    name = object_ref(release)[1]
    target = spec.get("targetNamespace")
    out: dict[str, Any] = {
        "releaseName": spec.get("releaseName") or (f"{target}-{name}" if target else name),
        "namespace": namespace,
    }
    values = mapping(spec.get("values"), "spec.values")
    if values:
        out["values"] = dict(values)
    if spec.get("valuesFrom"):
        if not from_cluster:
            raise ConversionError(
                "spec.valuesFrom needs gitward run --from-cluster, which reads the ConfigMaps and Secrets "
                "from the management cluster; in a config file write the values in spec.values"
            )
        out["valuesFrom"] = _values_from(spec["valuesFrom"], own_namespace=object_ref(release)[0])
    return out


def _values_from(entries: Any, *, own_namespace: str) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        raise ConversionError("spec.valuesFrom must be a list")
    out = []
    for i, entry in enumerate(entries):
        where = f"spec.valuesFrom[{i}]"
        ref = mapping(entry, where)
        only(ref, allowed=_VALUES_FROM_FIELDS, where=where)
        if ref.get("kind") not in ("ConfigMap", "Secret"):
            raise ConversionError(f"{where}.kind {ref.get('kind')!r} is not ConfigMap or Secret")
        item: dict[str, Any] = {
            "kind": ref["kind"],
            "name": ref.get("name"),
            "namespace": own_namespace or "default",
        }
        for key in ("valuesKey", "targetPath", "optional"):
            if ref.get(key) is not None:
                item[key] = ref[key]
        out.append(item)
    return out


def _remediation_retries(spec: Mapping[str, Any]) -> int | None:
    """The retry limit both remediation blocks ask for (None: neither sets one)."""
    found: dict[str, int] = {}
    for action in ("install", "upgrade"):
        block = mapping(spec.get(action), f"spec.{action}")
        only(
            block, allowed=_INSTALL_FIELDS if action == "install" else _UPGRADE_FIELDS, where=f"spec.{action}"
        )
        crds = block.get("crds")
        if crds is not None and crds not in _CRDS_ACCEPTED[action]:
            raise ConversionError(
                f"spec.{action}.crds {crds!r} is not supported: gitward applies the chart's CRDs at every "
                "sync (CreateReplace)"
            )
        where = f"spec.{action}.remediation"
        remediation = mapping(block.get("remediation"), where)
        only(remediation, allowed=_REMEDIATION_FIELDS, where=where)
        if remediation.get("remediateLastFailure"):
            raise ConversionError(
                f"{where}.remediateLastFailure is not supported: gitward never uninstalls or rolls back a "
                "failed sync; the last good objects stay applied"
            )
        if remediation.get("ignoreTestFailures"):
            raise ConversionError(f"{where}.ignoreTestFailures is not supported: gitward runs no Helm tests")
        if remediation.get("retries") is not None:
            retries = remediation["retries"]
            if not isinstance(retries, int) or isinstance(retries, bool):
                raise ConversionError(f"{where}.retries must be an integer")
            found[action] = max(retries, -1)
    if len(set(found.values())) > 1:
        raise ConversionError(
            "spec.install.remediation.retries and spec.upgrade.remediation.retries differ: gitward retries "
            "every failed sync the same way, so set them equal"
        )
    return next(iter(found.values()), None)


def _waits(spec: Mapping[str, Any]) -> bool:
    disabled = {a: bool(mapping(spec.get(a), f"spec.{a}").get("disableWait")) for a in ("install", "upgrade")}
    if disabled["install"] != disabled["upgrade"]:
        raise ConversionError(
            "spec.install.disableWait and spec.upgrade.disableWait differ: gitward waits (or not) the same "
            "way for every sync, so set them equal"
        )
    return not disabled["install"]


def _sync_policy(spec: Mapping[str, Any], *, interval: Any) -> dict[str, Any]:
    retries = _remediation_retries(spec)
    drift = mapping(spec.get("driftDetection"), "spec.driftDetection")
    only(drift, allowed={"mode", "ignore"}, where="spec.driftDetection")
    mode = drift.get("mode", "disabled")
    if mode not in ("enabled", "warn", "disabled"):
        raise ConversionError(f"spec.driftDetection.mode {mode!r} is not enabled, warn or disabled")
    out: dict[str, Any] = {
        "interval": interval,
        "timeout": spec.get("timeout") or "5m",
        "automated": {"prune": True, "selfHeal": mode == "enabled"},
        # Flux's default: a failed install or upgrade is not retried until the HelmRelease changes
        "retry": {"limit": retries if retries is not None else 0},
    }
    if mapping(spec.get("install"), "spec.install").get("createNamespace"):
        out["options"] = ["CreateNamespace=true"]
    if _waits(spec):
        out["wait"] = True
    return out


def _deletion_policy(spec: Mapping[str, Any]) -> str:
    uninstall = mapping(spec.get("uninstall"), "spec.uninstall")
    only(uninstall, allowed={"deletionPropagation"}, where="spec.uninstall")
    policy = uninstall.get("deletionPropagation", "background")
    if policy not in ("background", "foreground", "orphan"):
        raise ConversionError(
            f"spec.uninstall.deletionPropagation {policy!r} is not background, foreground or orphan"
        )
    return str(policy)


def _drift_ignores(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    drift = mapping(spec.get("driftDetection"), "spec.driftDetection")
    entries = drift.get("ignore") or []
    if not isinstance(entries, list):
        raise ConversionError("spec.driftDetection.ignore must be a list")
    out = []
    for i, entry in enumerate(entries):
        where = f"spec.driftDetection.ignore[{i}]"
        rule = mapping(entry, where)
        only(rule, allowed={"paths", "target"}, where=where)
        target = mapping(rule.get("target"), f"{where}.target")
        only(target, allowed={"group", "version", "kind", "name", "namespace"}, where=f"{where}.target")
        if not target.get("kind"):
            raise ConversionError(
                f"{where}.target.kind is required: gitward ignores fields of one kind at a time"
            )
        ignore: dict[str, Any] = {"group": target.get("group") or "", "kind": target["kind"],
                                  "jsonPointers": list(rule.get("paths") or [])}  # fmt: skip
        for key in ("name", "namespace"):
            if target.get(key):
                ignore[key] = target[key]
        out.append(ignore)
    return out
