"""Reading a Flux ``Kustomization`` and the ``GitRepository`` or ``OCIRepository`` it points at as a gitward
Application.

Flux always heals drift and retries at a fixed ``retryInterval`` without end; the converted app is
automated with ``selfHeal``, ``prune`` as written, and a retry of limit -1 with factor 1.
``suspend`` on the Kustomization or its GitRepository becomes the app's ``spec.suspend``: no
automated sync or heal, and the app's status says it is suspended, as ``flux get`` would.
``targetNamespace`` becomes both the destination namespace and the kustomize namespace override, as
in Flux. The revision is taken from ``ref`` with Flux's precedence (commit, name, semver, tag,
branch) and defaults to ``master`` like Flux.

The GitRepository's ``verify`` (OpenPGP keys in a Secret, modes HEAD, Tag, TagAndHEAD) becomes the
app's ``source.verify``, and the Kustomization's ``decryption`` (provider sops, keys in a Secret)
its ``source.decryption``. A ``secretRef`` names a Secret in the object's own namespace, as in
Flux; standalone gitward reads it from a folder of one file per key (``reconcile/trust.py``).
Without ``secretRef`` Flux falls back to its controller's own keys, which gitward does not have, so
that is refused.

The GitRepository's ``secretRef`` (fetch credentials) is honoured when the config comes from the
cluster (``gitward run --from-cluster``): ``credentials_repository`` makes it an implied gitward
Repository named ``gitrepository.<namespace>.<name>``, in the GitRepository's namespace, whose ``url``
is the GitRepository's and whose ``secretRef`` is its, so the fetcher's lookup of credentials by URL
(the longest matching prefix) finds it like any Repository. The Secret holds Flux's keys
(``username``/``password``, ``bearerToken``, or ``identity`` with ``known_hosts``) and is read at each
fetch, from the GitRepository's namespace, which must be gitward's own (it reads Secrets there only).
Credentials belong to a URL (one mirror per URL), so two GitRepositories of one URL naming different
Secrets are refused. In a config file gitward has no management cluster to read a Secret from, so
``secretRef`` is refused there with the way out (a Repository naming the credentials' files).
The GitRepository's ``timeout`` is refused: the fetch timeout is the engine's, the same for every
fetch of a repository shared by all its apps.

An ``OCIRepository`` (``v1`` or ``v1beta2``) becomes an ``oci://`` source without a chart, an OCI
artifact (``model/source.py``): ``ref`` with Flux's precedence (digest, semver, tag; ``latest`` when
empty), ``interval`` and ``suspend`` as for a GitRepository. ``layerSelector`` is accepted only as the
Flux content layer extracted (what gitward reads), ``provider`` only as ``generic``, and ``insecure``
only for a loopback registry (gitward speaks plain HTTP to loopback registries and HTTPS with verified
certificates to every other). ``secretRef`` and ``timeout`` are refused like a GitRepository's, and
``verify``, ``certSecretRef``, ``proxySecretRef``, ``serviceAccountName``, ``ignore`` and
``ref.semverFilter`` are refused by name.

A HelmRelease and its HelmRepository are read by ``model/fluxhelm.py``.

A ``Bucket`` (``generic`` provider, S3-compatible) becomes an ``s3://ENDPOINT/BUCKET[/PREFIX]``
source (``s3+http://`` with ``insecure``, for a loopback endpoint only), read anonymously as it is
now (``sources/bucket.py``): ``secretRef`` and ``region`` (used only to sign requests) are refused,
and so are other providers, ``timeout``, ``ignore``, ``sts``, ``certSecretRef``, ``proxySecretRef``
and ``serviceAccountName``.

Deliberately not here: other source kinds, substituteFrom,
patches, components, remote kubeconfigs, service-account impersonation, cloud KMS decryption. Each
is refused with the field named.

Health and time, as in Flux: ``timeout`` (default: the interval) bounds every wait of a sync;
``wait: true`` makes the sync wait until every object it applied is healthy, and fail when they are
not in time; ``healthChecks`` (ignored by Flux when ``wait`` is true) names objects that must be
healthy when the sync ends. ``dependsOn`` names Kustomizations; gitward's app names are not
namespaced, so a ``namespace`` other than the Kustomization's own is refused rather than read as a
different app of the same name. ``force: true`` is the sync option ``Force=true``: an object the
server refuses to update because a field is immutable is deleted and created again.

Deletion, as in Flux: a deleted Kustomization with ``prune: true`` garbage-collects the objects it
applied, one with ``prune: false`` leaves them. The converted app gets ``deletionPolicy: background``
for ``prune: true`` and ``orphan`` otherwise, so an app that leaves gitward's config does the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gitward.core.durations import parse_duration
from gitward.model.application import Application
from gitward.model.common import API_VERSION, check_no_credentials
from gitward.model.errors import ConversionError
from gitward.model.foreign import (
    CONVERTED_FROM_ANNOTATION,
    application_document,
    converted_metadata,
    mapping,
    only,
    pick,
)
from gitward.model.repository import Repository

KUSTOMIZATION_GROUP = "kustomize.toolkit.fluxcd.io"
SOURCE_GROUP = "source.toolkit.fluxcd.io"
FLUX_VERSIONS = frozenset({"v1", "v1beta2"})

_KUSTOMIZATION_FIELDS = {
    "interval", "retryInterval", "path", "prune", "sourceRef", "targetNamespace", "dependsOn",
    "postBuild", "suspend", "force", "images", "namePrefix", "nameSuffix", "commonMetadata",
    "decryption", "timeout", "wait", "healthChecks",
}  # fmt: skip
_HEALTH_CHECK_FIELDS = {"apiVersion", "kind", "name", "namespace"}
# The interval is honoured with the Kustomization's (the shorter one polls). secretRef (outside the
# cluster config) and timeout are refused by ``_refuse_fetch_settings``: a file config has no Secret to
# read, and the fetch timeout is engine-wide, so neither would be acted on per GitRepository.
_REPOSITORY_FIELDS = {"url", "ref", "interval", "timeout", "secretRef", "suspend", "verify"}
_OCI_REPOSITORY_FIELDS = {
    "url", "ref", "interval", "timeout", "secretRef", "suspend", "insecure", "layerSelector", "provider",
}  # fmt: skip
_OCI_REF_PRECEDENCE = ("digest", "semver", "tag")
_BUCKET_FIELDS = {
    "bucketName",
    "endpoint",
    "insecure",
    "provider",
    "prefix",
    "interval",
    "suspend",
    "timeout",
}
_FLUX_CONTENT_LAYER = "application/vnd.cncf.flux.content.v1.tar+gzip"
LOOPBACK_HOSTS = re.compile(r"^(?:localhost|127(?:\.\d{1,3}){3}|::1)$")
_VERIFY_MODES = {"HEAD": "HEAD", "head": "HEAD", "Tag": "Tag", "TagAndHEAD": "TagAndHEAD"}
_REF_PRECEDENCE = ("commit", "name", "semver", "tag", "branch")


def _is_flux(obj: Mapping[str, Any], group: str, kind: str) -> bool:
    api_version = str(obj.get("apiVersion", ""))
    grp, _, version = api_version.partition("/")
    return grp == group and version in FLUX_VERSIONS and obj.get("kind") == kind


def is_flux_kustomization(obj: Mapping[str, Any]) -> bool:
    return _is_flux(obj, KUSTOMIZATION_GROUP, "Kustomization")


def is_flux_git_repository(obj: Mapping[str, Any]) -> bool:
    return _is_flux(obj, SOURCE_GROUP, "GitRepository")


def is_flux_oci_repository(obj: Mapping[str, Any]) -> bool:
    return _is_flux(obj, SOURCE_GROUP, "OCIRepository")


def is_flux_bucket(obj: Mapping[str, Any]) -> bool:
    return _is_flux(obj, SOURCE_GROUP, "Bucket")


#: The source kinds a Flux Kustomization may name in ``sourceRef`` that gitward reads.
SOURCE_KINDS = ("GitRepository", "OCIRepository", "Bucket")


def object_ref(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name) of a Flux object."""
    meta = mapping(obj.get("metadata"), "metadata")
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def source_kind(kustomization: Mapping[str, Any]) -> str:
    """The kind of source a Kustomization reads (``GitRepository`` or ``OCIRepository``)."""
    spec = mapping(kustomization.get("spec"), "spec")
    kind = mapping(spec.get("sourceRef"), "spec.sourceRef").get("kind")
    if kind not in SOURCE_KINDS:
        raise ConversionError(
            f"spec.sourceRef.kind {kind!r} is not supported (only {', '.join(SOURCE_KINDS)})"
        )
    return str(kind)


def source_ref(kustomization: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name) of the source a Kustomization reads; namespace defaults to its own."""
    source_kind(kustomization)
    spec = mapping(kustomization.get("spec"), "spec")
    ref = mapping(spec.get("sourceRef"), "spec.sourceRef")
    if not ref.get("name"):
        raise ConversionError("spec.sourceRef.name is required")
    namespace = ref.get("namespace") or object_ref(kustomization)[0]
    return str(namespace), str(ref["name"])


def from_flux(
    *,
    kustomization: Mapping[str, Any],
    git_repository: Mapping[str, Any] | None = None,
    oci_repository: Mapping[str, Any] | None = None,
    bucket: Mapping[str, Any] | None = None,
    from_cluster: bool = False,
) -> Application:
    """The gitward Application that runs the Kustomization with its source (a GitRepository or an
    OCIRepository); ConversionError or pydantic ValidationError if not. ``from_cluster``: the config
    is read from the cluster, where a GitRepository's ``secretRef`` is honoured
    (``credentials_repository``)."""
    spec = mapping(kustomization.get("spec"), "spec")
    only(spec, allowed=_KUSTOMIZATION_FIELDS, where="spec")
    if bucket is not None:
        repo_spec = mapping(bucket.get("spec"), "Bucket spec")
        source = _bucket_source(spec, repo_spec)
    elif oci_repository is not None:
        repo_spec = mapping(oci_repository.get("spec"), "OCIRepository spec")
        source = _oci_source(spec, repo_spec, oci_repository)
    else:
        if git_repository is None:
            raise ConversionError("a Flux Kustomization needs its GitRepository or OCIRepository")
        repo_spec = mapping(git_repository.get("spec"), "GitRepository spec")
        only(repo_spec, allowed=_REPOSITORY_FIELDS, where="GitRepository spec")
        check_url(repo_spec.get("url"), git_repository)
        refuse_fetch_settings(repo_spec, from_cluster=from_cluster)
        source = _source(spec, repo_spec)
        verify = verify_spec(repo_spec, git_repository)
        if verify:
            source["verify"] = verify
    suspended = bool(spec.get("suspend")) or bool(repo_spec.get("suspend"))
    decryption = _decryption(spec, kustomization)
    if decryption:
        source["decryption"] = decryption
    out: dict[str, Any] = {
        "source": source,
        "destination": {"namespace": spec.get("targetNamespace") or ""},
        "syncPolicy": _sync_policy(spec, repository_interval=repo_spec.get("interval")),
    }
    if suspended:
        out["suspend"] = True
    out["deletionPolicy"] = "background" if spec.get("prune") else "orphan"
    if spec.get("dependsOn"):
        out["dependsOn"] = depends_on(spec["dependsOn"], own_namespace=object_ref(kustomization)[0])
    group_version = str(kustomization.get("apiVersion"))
    metadata = converted_metadata(kustomization, origin=f"{group_version}/Kustomization")
    return Application.model_validate(application_document(metadata, out))


def check_url(url: Any, repository: Mapping[str, Any], kind: str = "GitRepository") -> None:
    """Name the source's own field: the user wrote ``spec.url`` there, not a repoURL."""
    if isinstance(url, str):
        namespace, name = object_ref(repository)
        try:
            check_no_credentials(url, what=f"{kind} {namespace}/{name} spec.url")
        except ValueError as exc:
            raise ConversionError(str(exc)) from None


def _oci_source(
    spec: Mapping[str, Any], repo_spec: Mapping[str, Any], oci_repository: Mapping[str, Any]
) -> dict[str, Any]:
    """An OCIRepository as an ``oci://`` artifact source; every field gitward cannot honour refused."""
    only(repo_spec, allowed=_OCI_REPOSITORY_FIELDS, where="OCIRepository spec")
    url = repo_spec.get("url")
    check_url(url, oci_repository, kind="OCIRepository")
    if not isinstance(url, str) or not url.lower().startswith("oci://"):
        raise ConversionError("OCIRepository spec.url must be an oci:// URL")
    if "secretRef" in repo_spec:
        raise ConversionError(
            "OCIRepository spec.secretRef is not supported: declare a Repository object with username "
            f"and passwordFile for URL {url} instead"
        )
    if "timeout" in repo_spec:
        raise ConversionError(
            "OCIRepository spec.timeout is not supported: gitward's fetch timeout is engine-wide, "
            "not per repository"
        )
    if (repo_spec.get("provider") or "generic") != "generic":
        raise ConversionError(
            f"OCIRepository spec.provider {repo_spec['provider']!r} is not supported (only generic: "
            "credentials come from a Repository object)"
        )
    if repo_spec.get("insecure") and not LOOPBACK_HOSTS.match(urlsplit(url).hostname or ""):
        raise ConversionError(
            "OCIRepository spec.insecure is supported only for a loopback registry: gitward speaks "
            "HTTPS with verified certificates to every other"
        )
    selector = mapping(repo_spec.get("layerSelector"), "OCIRepository spec.layerSelector")
    only(selector, allowed={"mediaType", "operation"}, where="OCIRepository spec.layerSelector")
    if selector.get("mediaType", _FLUX_CONTENT_LAYER) != _FLUX_CONTENT_LAYER:
        raise ConversionError(
            f"OCIRepository spec.layerSelector.mediaType {selector['mediaType']!r} is not supported "
            f"(gitward reads the {_FLUX_CONTENT_LAYER} layer)"
        )
    if selector.get("operation", "extract") != "extract":
        raise ConversionError(
            f"OCIRepository spec.layerSelector.operation {selector['operation']!r} is not supported "
            "(gitward extracts the layer)"
        )
    ref = mapping(repo_spec.get("ref"), "OCIRepository spec.ref")
    only(ref, allowed=_OCI_REF_PRECEDENCE, where="OCIRepository spec.ref")
    revision = next((str(ref[f]) for f in _OCI_REF_PRECEDENCE if ref.get(f)), "latest")
    out = _source(spec, {"url": url, "ref": {}})
    out["revision"] = revision
    return out


def _bucket_source(spec: Mapping[str, Any], repo_spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Bucket as an ``s3://`` (``s3+http://`` when ``insecure``) source, read anonymously."""
    if "secretRef" in repo_spec:
        raise ConversionError(
            "Bucket spec.secretRef is not supported: gitward reads buckets anonymously (it signs no "
            "request), so make the bucket readable, or keep the manifests in Git or an OCI artifact"
        )
    if "region" in repo_spec:
        raise ConversionError("Bucket spec.region is not supported: it is used only to sign requests")
    only(repo_spec, allowed=_BUCKET_FIELDS, where="Bucket spec")
    if (repo_spec.get("provider") or "generic") != "generic":
        raise ConversionError(
            f"Bucket spec.provider {repo_spec['provider']!r} is not supported (only generic)"
        )
    if "timeout" in repo_spec:
        raise ConversionError("Bucket spec.timeout is not supported: gitward's fetch timeout is engine-wide")
    endpoint, name = repo_spec.get("endpoint"), repo_spec.get("bucketName")
    if not isinstance(endpoint, str) or not endpoint or "://" in endpoint or "/" in endpoint:
        raise ConversionError("Bucket spec.endpoint must be HOST or HOST:PORT")
    if not isinstance(name, str) or not name or "/" in name:
        raise ConversionError("Bucket spec.bucketName is required")
    scheme = "s3+http" if repo_spec.get("insecure") else "s3"
    if scheme == "s3+http" and not LOOPBACK_HOSTS.match(endpoint.rpartition(":")[0] or endpoint):
        raise ConversionError(
            "Bucket spec.insecure is supported only for a loopback endpoint: gitward speaks HTTPS with "
            "verified certificates to every other"
        )
    prefix = str(repo_spec.get("prefix") or "").strip("/")
    out = _source(
        spec, {"url": f"{scheme}://{endpoint}/{name}" + (f"/{prefix}" if prefix else ""), "ref": {}}
    )
    out["revision"] = "HEAD"
    return out


def refuse_fetch_settings(repo_spec: Mapping[str, Any], *, from_cluster: bool) -> None:
    """Refuse, by name, the GitRepository fields that set how its fetch runs and would be accepted and
    ignored: ``secretRef`` in a file config (no management cluster to read the Secret from), and
    ``timeout`` (one timeout for every fetch)."""
    if "secretRef" in repo_spec and not from_cluster:
        raise ConversionError(
            "GitRepository spec.secretRef is not supported in a config file (it needs gitward run "
            "--from-cluster, which reads the Secret): declare a Repository object with "
            f"passwordFile/sshPrivateKeyFile for URL {repo_spec.get('url')!s} instead"
        )
    if "timeout" in repo_spec:
        raise ConversionError(
            "GitRepository spec.timeout is not supported: gitward's fetch timeout is engine-wide, "
            "not per repository"
        )


def credentials_repository(repository: Mapping[str, Any]) -> Repository | None:
    """The implied Repository carrying a GitRepository's or HelmRepository's ``secretRef`` (None
    without one): same namespace, the source's URL, and the Secret's name. Read with ``run
    --from-cluster`` only."""
    kind = str(repository.get("kind") or "GitRepository")
    repo_spec = mapping(repository.get("spec"), f"{kind} spec")
    if "secretRef" not in repo_spec:
        return None
    where = f"{kind} spec.secretRef"
    secret = secret_ref(repo_spec["secretRef"], repository, where)
    namespace, name = object_ref(repository)
    metadata = {
        "name": f"{kind.lower()}.{secret['namespace']}.{name}",
        "namespace": namespace,
        "annotations": {
            CONVERTED_FROM_ANNOTATION: f"{repository.get('apiVersion')}/{kind} {namespace}/{name}"
        },
    }
    spec = {"url": repo_spec.get("url"), "secretRef": {"name": secret["name"]}}
    return Repository.model_validate(
        {"apiVersion": API_VERSION, "kind": "Repository", "metadata": metadata, "spec": spec}
    )


def secret_ref(value: Any, owner: Mapping[str, Any], where: str) -> dict[str, str]:
    """A ``secretRef`` of a Flux object: a Secret in the object's own namespace."""
    ref = mapping(value, where)
    only(ref, allowed={"name"}, where=where)
    if not ref.get("name"):
        raise ConversionError(
            f"{where}.name is required: without a Secret, Flux uses its controller's own keys, "
            "which gitward does not have"
        )
    return {"namespace": object_ref(owner)[0] or "default", "name": str(ref["name"])}


def verify_spec(repo_spec: Mapping[str, Any], git_repository: Mapping[str, Any]) -> dict[str, Any] | None:
    """GitRepository ``verify``: its Secret's files are armored OpenPGP public keys, as in Flux."""
    if "verify" not in repo_spec:
        return None
    verify = mapping(repo_spec["verify"], "GitRepository spec.verify")
    only(verify, allowed={"mode", "secretRef"}, where="GitRepository spec.verify")
    mode = _VERIFY_MODES.get(str(verify.get("mode") or "HEAD"))
    if mode is None:
        raise ConversionError(
            f"GitRepository spec.verify.mode {verify.get('mode')!r} is not one of HEAD, Tag, TagAndHEAD"
        )
    ref = mapping(repo_spec.get("ref"), "GitRepository spec.ref")
    names_a_tag = bool(ref.get("tag") or ref.get("semver")) and not (ref.get("commit") or ref.get("name"))
    if mode != "HEAD" and not names_a_tag:
        raise ConversionError(
            f"GitRepository spec.verify.mode {mode} needs spec.ref.tag or spec.ref.semver (and no commit "
            "or name), as in Flux"
        )
    if "secretRef" not in verify:
        raise ConversionError(
            "GitRepository spec.verify.secretRef is required: it names the Secret of trusted public keys"
        )
    secret = secret_ref(verify["secretRef"], git_repository, "GitRepository spec.verify.secretRef")
    return {"mode": mode, "keys": {"secretRef": secret}}


def _decryption(spec: Mapping[str, Any], kustomization: Mapping[str, Any]) -> dict[str, Any] | None:
    """Kustomization ``decryption``: provider sops, keys from a Secret's ``*.agekey`` and ``*.asc``."""
    if "decryption" not in spec:
        return None
    decryption = mapping(spec["decryption"], "spec.decryption")
    only(decryption, allowed={"provider", "secretRef"}, where="spec.decryption")
    if decryption.get("provider") != "sops":
        raise ConversionError(
            f"spec.decryption.provider {decryption.get('provider')!r} is not supported (sops)"
        )
    if "secretRef" not in decryption:
        raise ConversionError(
            "spec.decryption.secretRef is required: without it Flux decrypts with its controller's "
            "own keys, which gitward does not have"
        )
    secret = secret_ref(decryption["secretRef"], kustomization, "spec.decryption.secretRef")
    return {"provider": "sops", "secretRef": secret}


def _source(spec: Mapping[str, Any], repo_spec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "repoURL": repo_spec.get("url"),
        "revision": git_revision(mapping(repo_spec.get("ref"), "GitRepository spec.ref")),
        "path": spec.get("path") or "",
    }
    post_build = mapping(spec.get("postBuild"), "spec.postBuild")
    only(post_build, allowed={"substitute"}, where="spec.postBuild")
    if post_build.get("substitute"):
        out["substitute"] = dict(mapping(post_build["substitute"], "spec.postBuild.substitute"))
    kustomize = pick(spec, {"namePrefix": "namePrefix", "nameSuffix": "nameSuffix"})
    if spec.get("targetNamespace"):
        kustomize["namespace"] = spec["targetNamespace"]
    if spec.get("images"):
        kustomize["images"] = [_image(mapping(image, "spec.images")) for image in spec["images"]]
    common = mapping(spec.get("commonMetadata"), "spec.commonMetadata")
    only(common, allowed={"labels"}, where="spec.commonMetadata")
    if common.get("labels"):
        kustomize["commonLabels"] = dict(mapping(common["labels"], "spec.commonMetadata.labels"))
    if kustomize:
        out["kustomize"] = kustomize
    return out


def git_revision(ref: Mapping[str, Any]) -> str:
    only(ref, allowed=_REF_PRECEDENCE, where="GitRepository spec.ref")
    for field in _REF_PRECEDENCE:
        if ref.get(field):
            return str(ref[field])
    return "master"


def _image(image: Mapping[str, Any]) -> str:
    """Flux's ``{name, newName, newTag, digest}`` as a ``kustomize edit set image`` argument."""
    only(image, allowed={"name", "newName", "newTag", "digest"}, where="spec.images[]")
    name = str(image.get("name") or "")
    if not name:
        raise ConversionError("spec.images[].name is required")
    target = f"{name}={image['newName']}" if image.get("newName") else name
    if image.get("digest"):
        return f"{target}@{image['digest']}"
    if image.get("newTag"):
        return f"{target}:{image['newTag']}"
    return target


def _sync_policy(spec: Mapping[str, Any], *, repository_interval: Any = None) -> dict[str, Any]:
    interval = shorter_interval(spec.get("interval") or "5m", repository_interval)
    retry_interval = spec.get("retryInterval") or spec.get("interval") or "5m"
    out: dict[str, Any] = {
        "interval": interval,
        "retry": {"limit": -1, "backoff": {"duration": retry_interval, "factor": 1,
                                            "maxDuration": retry_interval}},
        "timeout": spec.get("timeout") or spec.get("interval") or "5m",
    }  # fmt: skip
    out["automated"] = {"prune": bool(spec.get("prune", False)), "selfHeal": True}
    if spec.get("force"):
        out["options"] = ["Force=true"]
    if spec.get("wait"):
        out["wait"] = True
    elif spec.get("healthChecks"):
        out["healthChecks"] = [_health_check(check) for check in spec["healthChecks"]]
    return out


def shorter_interval(kustomization_interval: Any, repository_interval: Any) -> Any:
    """Flux polls the source at the GitRepository's interval and reconciles at the Kustomization's;
    gitward polls and compares at one interval, the shorter one, so neither is waited for longer."""
    if not isinstance(repository_interval, str) or not isinstance(kustomization_interval, str):
        return kustomization_interval
    try:
        shorter = parse_duration(repository_interval) < parse_duration(kustomization_interval)
    except ValueError:
        return kustomization_interval  # the Application's own validation names the bad value
    return repository_interval if shorter else kustomization_interval


def _health_check(check: Any) -> dict[str, Any]:
    ref = mapping(check, "spec.healthChecks[]")
    only(ref, allowed=_HEALTH_CHECK_FIELDS, where="spec.healthChecks[]")
    return dict(ref)


def depends_on(entries: Any, *, own_namespace: str) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        raise ConversionError("spec.dependsOn must be a list")
    out = []
    for i, entry in enumerate(entries):
        dep = mapping(entry, f"spec.dependsOn[{i}]")
        only(dep, allowed={"name", "namespace"}, where=f"spec.dependsOn[{i}]")
        namespace = dep.get("namespace")
        if namespace and namespace != (own_namespace or "default"):
            raise ConversionError(
                f"spec.dependsOn[{i}].namespace {namespace!r}: gitward's application names are not "
                f"namespaced, so only a Kustomization in this one's own namespace ({own_namespace!r}) "
                "can be a dependency"
            )
        out.append({"name": dep.get("name")})
    return out
