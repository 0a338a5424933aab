"""Loading a whole configuration: every document validated on its own, bad ones reported.

One invalid Application must not stop the others (docs/reliability.md, bad input 17), so each document is
validated independently and failures become ``ObjectError`` values instead of exceptions. Names must
be unique per kind: when two documents claim one name, every copy is refused, so which one runs
never depends on file order. Documents that are not gitward, Argo CD or Flux objects are reported;
an Argo CD or Flux kind gitward does not read (a HelmRelease, an ArtifactGenerator) is refused with
what it is and what to write instead (``model/foreign.py``). Only errors about Applications name an
application (``lists_as_application``): any other refused object is a config error, never an app.

Deliberately not here: reading files and YAML (the caller passes parsed documents), and cross-object
rules (a missing Project or Cluster is reported when the app is reconciled).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic

from gitward.model.access import OIDCProvider, Role, RoleBinding
from gitward.model.application import Application
from gitward.model.appset import ApplicationSet
from gitward.model.argoappset import from_argocd_applicationset, is_argocd_applicationset
from gitward.model.argocd import ARGO_API_VERSION, from_argocd, is_argocd_application
from gitward.model.argoproject import from_argocd_project, is_argocd_project
from gitward.model.cluster import Cluster
from gitward.model.common import GROUP
from gitward.model.errors import ConversionError, ObjectError, describe
from gitward.model.flux import (
    FLUX_VERSIONS,
    credentials_repository,
    from_flux,
    is_flux_bucket,
    is_flux_git_repository,
    is_flux_kustomization,
    is_flux_oci_repository,
    object_ref,
    source_kind,
    source_ref,
)
from gitward.model.fluxhelm import (
    HELM_GROUP,
    chart_source_ref,
    from_helmrelease,
    is_flux_helm_repository,
    is_flux_helmrelease,
)
from gitward.model.foreign import (
    CONVERTED_FROM_ANNOTATION,
    foreign_kind,
    foreign_object_message,
    group_of,
)
from gitward.model.healthcheck import HealthCheck
from gitward.model.notification import Notification
from gitward.model.plugin import Plugin
from gitward.model.project import DEFAULT_PROJECT, Project
from gitward.model.receiver import Receiver
from gitward.model.repository import Repository

GitwardObject = (
    Application
    | Project
    | Cluster
    | Repository
    | Receiver
    | Role
    | RoleBinding
    | OIDCProvider
    | Notification
    | HealthCheck
    | ApplicationSet
    | Plugin
)
_GITWARD_KINDS: dict[str, type[GitwardObject]] = {
    "Application": Application,
    "Project": Project,
    "Cluster": Cluster,
    "Repository": Repository,
    "Receiver": Receiver,
    "Role": Role,
    "RoleBinding": RoleBinding,
    "OIDCProvider": OIDCProvider,
    "Notification": Notification,
    "HealthCheck": HealthCheck,
    "ApplicationSet": ApplicationSet,
    "Plugin": Plugin,
}


@dataclass(frozen=True)
class LoadedConfig:
    """The valid objects, sorted by name, and one error per refused document."""

    applications: tuple[Application, ...] = ()
    clusters: tuple[Cluster, ...] = ()
    projects: tuple[Project, ...] = ()
    errors: tuple[ObjectError, ...] = field(default_factory=tuple)
    repositories: tuple[Repository, ...] = ()
    receivers: tuple[Receiver, ...] = ()
    # Access control (model/access.py): read by the API, not by the engine.
    roles: tuple[Role, ...] = ()
    role_bindings: tuple[RoleBinding, ...] = ()
    oidc_providers: tuple[OIDCProvider, ...] = ()
    notifications: tuple[Notification, ...] = ()  # model/notification.py, sent by notify/
    health_checks: tuple[HealthCheck, ...] = ()  # model/healthcheck.py, evaluated by health/
    application_sets: tuple[ApplicationSet, ...] = ()  # model/appset.py, run by reconcile/appsets.py
    plugins: tuple[Plugin, ...] = ()  # model/plugin.py, run by render/plugin.py

    def application(self, name: str) -> Application | None:
        return next((app for app in self.applications if app.name == name), None)

    def cluster(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    def project(self, name: str) -> Project | None:
        """A defined Project, or the implicit ``default`` (allow all) when none is defined by that name."""
        found = next((p for p in self.projects if p.name == name), None)
        if found is None and name == DEFAULT_PROJECT:
            return Project.implicit_default()
        return found

    def failed(self, kind: str) -> frozenset[str]:
        """Names of objects of ``kind`` that were refused: keep their last good state, do not delete."""
        return frozenset(e.name for e in self.errors if e.kind == kind and e.name)


def is_gitward_application(obj: Mapping[str, Any]) -> bool:
    """True for a gitward Application of any version (app-of-apps: managed here, not sent to a cluster).

    Any version counts so that an object of a version this build does not know is reported as an
    error by the loader instead of being applied to a cluster that has no such kind.
    """
    return _group(obj) == GROUP and obj.get("kind") == "Application"


def is_gitward_object(obj: Mapping[str, Any]) -> bool:
    return _group(obj) == GROUP


def _group(obj: Mapping[str, Any]) -> str:
    api_version = obj.get("apiVersion")
    return api_version.partition("/")[0] if isinstance(api_version, str) else ""


def load_object(document: Mapping[str, Any]) -> GitwardObject:
    """One gitward or Argo CD object (an Argo CD Application, ApplicationSet or AppProject); raises
    ``ConversionError`` or pydantic's ValidationError.

    Flux Kustomizations need their GitRepository and go through ``load_objects``.
    """
    if is_argocd_application(document):
        return from_argocd(document)
    if is_argocd_applicationset(document):
        return from_argocd_applicationset(document)
    if is_argocd_project(document):
        return from_argocd_project(document)
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if _group(document) != GROUP:
        foreign = _foreign_message(document)
        raise ConversionError(foreign or f"apiVersion {api_version!r} kind {kind!r} is not a gitward object")
    model = _GITWARD_KINDS.get(str(kind))
    if model is None:
        raise ConversionError(f"kind {kind!r} is not supported (known: {', '.join(_GITWARD_KINDS)})")
    return model.model_validate(document)


def _foreign_message(document: Mapping[str, Any]) -> str | None:
    """Why an Argo CD or Flux object is refused: a version gitward does not read, or a kind it does not
    run at all; None for any other object."""
    api_version, kind = str(document.get("apiVersion") or ""), str(document.get("kind") or "")
    group = group_of(api_version)
    found = foreign_kind(group, kind)
    if found is None:
        return None
    if found.in_config:
        flux_versions = ["v2"] if group == HELM_GROUP else sorted(FLUX_VERSIONS)
        versions = [ARGO_API_VERSION] if group == "argoproj.io" else [f"{group}/{v}" for v in flux_versions]
        return (
            f"{kind} of apiVersion {api_version!r} is not read by gitward (it reads {' and '.join(versions)})"
        )
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return foreign_object_message(api_version, kind, name if isinstance(name, str) else "")


def lists_as_application(error: ObjectError) -> bool:
    """Whether a refused document is shown as an invalid application (so its owner sees why, and its
    last good state is kept): an Application, gitward's or converted, or a document whose kind could
    not be read. Any other refused object (a Project, a Flux HelmRelease) is a config error only."""
    return error.kind in ("Application", "")


def load_objects(
    documents: Iterable[Mapping[str, Any] | None], *, from_cluster: bool = False
) -> LoadedConfig:
    """Validate every document; empty documents (``None``, as YAML gives for ``---``) are skipped.

    ``from_cluster``: the documents are the management cluster's objects (``run --from-cluster``), so a
    Flux GitRepository's ``secretRef`` is honoured as an implied Repository (``model/flux.py``)."""
    loaded: list[tuple[int, GitwardObject]] = []
    errors: list[ObjectError] = []
    repositories: dict[tuple[str, str, str], Mapping[str, Any]] = {}  # (kind, namespace, name)
    kustomizations: list[tuple[int, Mapping[str, Any]]] = []
    releases: list[tuple[int, Mapping[str, Any]]] = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, Mapping):
            errors.append(ObjectError("", "", "document is not a mapping", index))
        elif _is_flux_source(document):
            repositories[(str(document.get("kind")), *object_ref(document))] = document
        elif is_flux_kustomization(document):
            kustomizations.append((index, document))
        elif is_flux_helmrelease(document):
            releases.append((index, document))
        else:
            _load_one(index, document, loaded, errors)
    implied: dict[str, Repository] = {}  # URL -> the Repository carrying a GitRepository's secretRef
    for index, kustomization in kustomizations:
        _load_flux(index, kustomization, repositories, loaded, errors, implied if from_cluster else None)
    for index, release in releases:
        _load_release(index, release, repositories, loaded, errors, implied if from_cluster else None)
    loaded.extend((-1, repository) for repository in implied.values())
    return _without_duplicates(loaded, errors)


def _load_one(
    index: int,
    document: Mapping[str, Any],
    loaded: list[tuple[int, GitwardObject]],
    errors: list[ObjectError],
) -> None:
    try:
        loaded.append((index, load_object(document)))
    except (ConversionError, pydantic.ValidationError) as exc:
        errors.append(_error(index, document, exc))


def _load_flux(
    index: int,
    kustomization: Mapping[str, Any],
    repositories: Mapping[tuple[str, str, str], Mapping[str, Any]],
    loaded: list[tuple[int, GitwardObject]],
    errors: list[ObjectError],
    implied: dict[str, Repository] | None,
) -> None:
    """``implied`` (from the cluster only): the GitRepositories' secretRefs as Repositories, by URL."""
    try:
        kind = source_kind(kustomization)
        ref = source_ref(kustomization)
        repository = repositories.get((kind, *ref))
        if repository is None:
            raise ConversionError(f"{kind} {ref[0]}/{ref[1]} referenced by spec.sourceRef is not defined")
        if kind == "Bucket":
            app = from_flux(kustomization=kustomization, bucket=repository)
        elif kind == "OCIRepository":
            app = from_flux(kustomization=kustomization, oci_repository=repository)
        else:
            from_cluster = implied is not None
            app = from_flux(kustomization=kustomization, git_repository=repository, from_cluster=from_cluster)
            credentials = credentials_repository(repository) if implied is not None else None
            if implied is not None and credentials is not None:
                _imply(implied, credentials)
        loaded.append((index, app))
    except (ConversionError, pydantic.ValidationError) as exc:
        errors.append(_error(index, kustomization, exc))


def _is_flux_source(document: Mapping[str, Any]) -> bool:
    return (
        is_flux_git_repository(document)
        or is_flux_oci_repository(document)
        or is_flux_helm_repository(document)
        or is_flux_bucket(document)
    )


def _load_release(
    index: int,
    release: Mapping[str, Any],
    repositories: Mapping[tuple[str, str, str], Mapping[str, Any]],
    loaded: list[tuple[int, GitwardObject]],
    errors: list[ObjectError],
    implied: dict[str, Repository] | None,
) -> None:
    """A Flux HelmRelease with its chart's source (``model/fluxhelm.py``); ``implied`` as for
    ``_load_flux``."""
    try:
        kind, namespace, name = chart_source_ref(release)
        source = repositories.get((kind, namespace, name))
        if source is None:
            raise ConversionError(f"{kind} {namespace}/{name} referenced by the HelmRelease is not defined")
        app = from_helmrelease(release, source=source, from_cluster=implied is not None)
        credentials = (
            credentials_repository(source) if implied is not None and kind != "OCIRepository" else None
        )
        if implied is not None and credentials is not None:
            _imply(implied, credentials)
        loaded.append((index, app))
    except (ConversionError, pydantic.ValidationError) as exc:
        errors.append(_error(index, release, exc))


def _imply(implied: dict[str, Repository], credentials: Repository) -> None:
    """Record a GitRepository's credentials for its URL; a URL fetched with one set of credentials
    cannot take another GitRepository's Secret, so that is refused."""
    url = credentials.spec.url
    other = implied.get(url)
    if other is not None and (other.metadata.namespace, other.spec.secret_ref) != (
        credentials.metadata.namespace,
        credentials.spec.secret_ref,
    ):
        raise ConversionError(
            f"the GitRepository's spec.secretRef differs from the one of "
            f"{other.metadata.annotations.get(CONVERTED_FROM_ANNOTATION, other.name)} for the same URL "
            f"{url}: gitward fetches a URL with one set of credentials, so name the same Secret"
        )
    implied.setdefault(url, credentials)


#: Argo CD and Flux kinds that are applications, whatever their version: refused, they list as invalid apps.
_FOREIGN_APPLICATIONS = frozenset(
    {
        ("argoproj.io", "Application"),
        ("kustomize.toolkit.fluxcd.io", "Kustomization"),
        (HELM_GROUP, "HelmRelease"),
    }
)


def _names_application(document: Mapping[str, Any]) -> bool:
    return (group_of(str(document.get("apiVersion") or "")), document.get("kind")) in _FOREIGN_APPLICATIONS


def _error(index: int, document: Mapping[str, Any], exc: Exception) -> ObjectError:
    message = describe(exc) if isinstance(exc, pydantic.ValidationError) else str(exc)
    kind = "Application" if _names_application(document) else ""
    kind = kind or (str(document.get("kind")) if isinstance(document.get("kind"), str) else "")
    metadata = document.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return ObjectError(kind, name if isinstance(name, str) else "", message, index)


def _without_duplicates(loaded: list[tuple[int, GitwardObject]], errors: list[ObjectError]) -> LoadedConfig:
    """Refuse every copy of a name claimed twice in one kind, including by a document that failed."""
    claims: Counter[tuple[str, str]] = Counter((obj.kind, obj.name) for _, obj in loaded)
    claims.update((e.kind, e.name) for e in errors if e.kind in _GITWARD_KINDS and e.name)
    kept: list[GitwardObject] = []
    for index, obj in loaded:
        count = claims[(obj.kind, obj.name)]
        if count > 1:
            message = f"{obj.kind} name {obj.name!r} is defined {count} times; names must be unique"
            errors.append(ObjectError(obj.kind, obj.name, message, index))
        else:
            kept.append(obj)
    errors.sort(key=lambda e: (e.document, e.kind, e.name))
    by_name = sorted(kept, key=lambda o: o.name)
    return LoadedConfig(
        applications=tuple(o for o in by_name if isinstance(o, Application)),
        clusters=tuple(o for o in by_name if isinstance(o, Cluster)),
        projects=tuple(o for o in by_name if isinstance(o, Project)),
        errors=tuple(errors),
        repositories=tuple(o for o in by_name if isinstance(o, Repository)),
        receivers=tuple(o for o in by_name if isinstance(o, Receiver)),
        roles=tuple(o for o in by_name if isinstance(o, Role)),
        role_bindings=tuple(o for o in by_name if isinstance(o, RoleBinding)),
        oidc_providers=tuple(o for o in by_name if isinstance(o, OIDCProvider)),
        notifications=tuple(o for o in by_name if isinstance(o, Notification)),
        health_checks=tuple(o for o in by_name if isinstance(o, HealthCheck)),
        application_sets=tuple(o for o in by_name if isinstance(o, ApplicationSet)),
        plugins=tuple(o for o in by_name if isinstance(o, Plugin)),
    )
