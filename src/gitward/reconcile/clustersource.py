"""The config read from the management cluster: gitward's custom resources, through list and watch.

``gitward run --from-cluster`` reads its config from the cluster instead of files. Every kind the
loader reads (``model/loader.py``) is listed and watched through the cluster package's cache
(``cluster/cache.py``), cluster-wide or in one namespace; Argo CD ``Application`` and Flux
``Kustomization``/``GitRepository``/``OCIRepository`` objects are read too when their CRDs exist
and the credentials may list them (a foreign kind that cannot be listed is skipped with one log
line). ``config()`` turns what the cache holds into a ``LoadedConfig`` with ``model.load_objects``,
on the objects as read with their ``status`` dropped, so the cluster and the file config are judged
by the same rules.

Names are unique per kind across namespaces, as in the file config: when two namespaces hold an
object of one kind and name, the one created first is read and the other is refused (``refused``
says why, and the status writer shows it on that object). The API server's own refusals need no
handling here; what the loader refuses is an error of the config like any other.

An object being deleted (``metadata.deletionTimestamp`` set) is not read: its app leaves the config
and is removed as its ``deletionPolicy`` says, at once, even while a finalizer keeps the object. An
Argo CD Application's resources finalizer (``resources-finalizer.argocd.argoproj.io``, the
deletion policy it asked for) is then taken off by ``release_finalizers``, once gitward runs no app
of that name and has no removal of it pending, as Argo CD takes it off once it deleted the
resources; any other finalizer is left to whoever put it there.

The status of an Argo CD or Flux object is never written: its own controller owns it (and may run
beside gitward), and its schema is that project's. ``foreign`` names each such object's app so the
Events gitward records for the app are told on it (``eventwriter``); the status is seen with
``gitward app get``, the API and the web UI.

Every change the watches report calls ``on_change`` once the changes have settled for ``debounce``
seconds (a ``kubectl apply`` of ten objects is one reload). A change of ``status`` alone (the status
writer's own patches) reloads nothing: each object's content is digested without it.

Deliberately not here: what a reload does (``engine``, ``registry.update``), writing status
(``statuswriter``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from gitward.cluster.connection import ClusterConnection, ConnectionSettings
from gitward.core.errors import ClusterError, GitwardError
from gitward.core.keys import ResourceKey
from gitward.model import LoadedConfig, ObjectError, load_objects, secretrefs
from gitward.model.argocd import ARGO_API_VERSION, ARGO_KIND, RESOURCES_FINALIZER
from gitward.model.common import API_VERSION
from gitward.reconcile.settings import ClusterConfigSettings

log = logging.getLogger("gitward.engine")

#: The gitward kinds, in the loader's order; all must be served (``gitward install`` or ``gitward crds``).
GITWARD_KINDS = (
    "Application",
    "Project",
    "Cluster",
    "Repository",
    "Receiver",
    "Role",
    "RoleBinding",
    "OIDCProvider",
    "Notification",
    "HealthCheck",
    "ApplicationSet",
    "Plugin",
)
#: Argo CD and Flux kinds read as-is when their CRDs exist (``model/argocd.py``, ``model/argoappset.py``,
#: ``model/flux.py``).
FOREIGN_KINDS = (
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "ApplicationSet"),
    ("argoproj.io/v1alpha1", "AppProject"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ("source.toolkit.fluxcd.io/v1beta2", "OCIRepository"),
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
    ("source.toolkit.fluxcd.io/v1", "Bucket"),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
)


@dataclass(frozen=True)
class ObjectRef:
    """One custom resource, as the status writer and the events name it."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""
    generation: int = 0


@dataclass
class ReadConfig:
    """One reading: the config, the object each gitward Application came from, and the refused ones."""

    config: LoadedConfig
    applications: dict[str, ObjectRef] = field(default_factory=dict)  # app name -> its object
    refused: dict[ObjectRef, str] = field(default_factory=dict)  # Application objects not read, why
    foreign: dict[str, ObjectRef] = field(default_factory=dict)  # app name -> its Argo CD or Flux object
    # gitward's objects of the other kinds (Project, OIDCProvider, ...) -> why refused, "" when read
    others: dict[ObjectRef, str] = field(default_factory=dict)

    def object_of(self, app: str) -> ObjectRef | None:
        """The custom resource ``app`` was read from, gitward's own or a foreign one."""
        return self.applications.get(app) or self.foreign.get(app)


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def argo_finalizers(obj: Mapping[str, Any]) -> list[str]:
    """The Argo CD resources finalizers on ``obj`` (an Argo CD Application), the ones gitward honours."""
    if obj.get("apiVersion") != ARGO_API_VERSION or obj.get("kind") != ARGO_KIND:
        return []
    finalizers = (obj.get("metadata") or {}).get("finalizers") or []
    return [
        str(f)
        for f in finalizers
        if str(f) == RESOURCES_FINALIZER or str(f).startswith(f"{RESOURCES_FINALIZER}/")
    ]


def _created(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (
        str(meta.get("creationTimestamp") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def _content_digest(obj: Mapping[str, Any]) -> str:
    """What the loader reads of an object: everything but its status and the server's bookkeeping."""
    meta = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k not in ("resourceVersion", "managedFields", "generation")
    }
    body = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    return hashlib.sha256(orjson.dumps({"m": meta, "b": body}, option=orjson.OPT_SORT_KEYS)).hexdigest()


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(
        api_version=str(obj.get("apiVersion") or ""),
        kind=str(obj.get("kind") or ""),
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
        generation=int(meta.get("generation") or 0),
    )


def read_objects(objects: Sequence[Mapping[str, Any]]) -> ReadConfig:
    """The config the objects make (pure: the unit tests call it on plain documents).

    The oldest object of a (kind, name) is read; a later one in another namespace is refused with a
    message naming both namespaces. ``status`` is dropped before the loader sees an object.
    """
    seen: dict[tuple[str, str], str] = {}  # (apiVersion kind, name) -> namespace of the one read
    documents: list[dict[str, Any]] = []
    refs: list[ObjectRef] = []
    refused: dict[ObjectRef, str] = {}
    others: dict[ObjectRef, str] = {}
    for obj in sorted(objects, key=_created):
        if is_terminating(obj):
            continue  # being deleted: its app leaves the config (see the module docstring)
        ref = ref_of(obj)
        key = (f"{ref.api_version} {ref.kind}", ref.name)
        if key in seen:
            message = (
                f"{ref.kind} {ref.name!r} is already defined in namespace {seen[key]!r}; names are unique "
                f"across namespaces, so this one in {ref.namespace!r} is not read (rename it)"
            )
            log.warning("%s/%s refused: %s", ref.namespace, ref.name, message)
            if ref.api_version == API_VERSION and ref.kind == "Application":
                refused[ref] = message
            elif ref.api_version == API_VERSION:
                others[ref] = message
            continue
        seen[key] = ref.namespace
        documents.append({k: v for k, v in obj.items() if k != "status"})
        refs.append(ref)
    config = secretrefs.in_cluster(load_objects(documents, from_cluster=True))
    applications = {
        ref.name: ref for ref in refs if ref.api_version == API_VERSION and ref.kind == "Application"
    }
    others.update((ref, "") for ref in refs if ref.api_version == API_VERSION and ref.kind != "Application")
    for error in config.errors:
        about = _refused_object(error, refs)
        if about is None:
            continue
        if about.kind == "Application" and applications.get(about.name) == about:
            refused[about] = error.message
        elif about in others:
            others[about] = error.message
    foreign = {
        ref.name: ref
        for ref in refs
        if (ref.api_version, ref.kind) in _FOREIGN_APPS or _is_flux_kustomization(ref)
    }
    return ReadConfig(
        config=config, applications=applications, refused=refused, foreign=foreign, others=others
    )


def _refused_object(error: ObjectError, refs: Sequence[ObjectRef]) -> ObjectRef | None:
    """The gitward object an error of the loader is about: by the document's position, or (a rule
    on the whole config, ``model/secretrefs.py``, knows none) by kind and name, unique once the
    duplicates across namespaces are left out."""

    def named(ref: ObjectRef) -> bool:
        return ref.api_version == API_VERSION and (ref.kind, ref.name) == (error.kind, error.name)

    if 0 <= error.document < len(refs):
        ref = refs[error.document]
        return ref if named(ref) else None
    if error.document >= 0:
        return None
    return next((r for r in refs if named(r)), None)


_FOREIGN_APPS = {(ARGO_API_VERSION, ARGO_KIND)}


def _is_flux_kustomization(ref: ObjectRef) -> bool:
    """A Flux object that is an app: a Kustomization or a HelmRelease."""
    return (ref.kind == "Kustomization" and ref.api_version.startswith("kustomize.toolkit.fluxcd.io/")) or (
        ref.kind == "HelmRelease" and ref.api_version.startswith("helm.toolkit.fluxcd.io/")
    )


class ClusterSource:
    """The gitward custom resources of the management cluster, kept current by watches."""

    def __init__(self, connection: ClusterConnection, settings: ClusterConfigSettings) -> None:
        self.connection = connection
        self.settings = settings
        self.kinds: list[tuple[str, str]] = []
        self._on_change: Callable[[], object] | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._seen: dict[str, str] = {}  # uid -> digest of what the config reads of the object
        self._releasing: dict[str, asyncio.Task[None]] = {}  # uid -> finalizer release under way
        self.last: ReadConfig = ReadConfig(config=LoadedConfig())

    @classmethod
    async def open(
        cls, settings: ClusterConfigSettings, connection_settings: ConnectionSettings | None = None
    ) -> ClusterSource:
        """Connect and list every kind once; raises GitwardError when a gitward kind is not served."""
        connection = await ClusterConnection.connect(
            settings.kubeconfig, name="management", settings=connection_settings
        )
        source = cls(connection, settings)
        try:
            await source._watch_kinds()
        except BaseException:
            await connection.close()
            raise
        return source

    async def _watch_kinds(self) -> None:
        cache = self.connection.cache
        for kind in GITWARD_KINDS:
            try:
                await cache.ensure_watched(API_VERSION, kind)
            except ClusterError as error:
                hint = (
                    " (apply the custom resource definitions: gitward install, or gitward crds | "
                    "kubectl apply --server-side -f -)"
                    if error.status == 404
                    else ""
                )
                raise GitwardError(
                    f"cannot list {kind}.{API_VERSION} in the management cluster: {error}{hint}",
                    reason="ConfigUnreadable",
                ) from None
            self.kinds.append((API_VERSION, kind))
        for api_version, kind in FOREIGN_KINDS:
            try:
                await cache.ensure_watched(api_version, kind)
            except ClusterError as error:
                log.info("%s %s not read from the cluster: %s", api_version, kind, error)
                continue
            self.kinds.append((api_version, kind))

    def objects(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for api_version, kind in self.kinds:
            out.extend(
                self.connection.cache.objects(
                    api_version=api_version, kind=kind, namespace=self.settings.namespace
                )
            )
        return out

    def config(self) -> LoadedConfig:
        """The config as the cluster holds it now (also kept as ``last``, for the status writer)."""
        self.last = read_objects(self.objects())
        config = self.last.config
        refused = {**self.last.refused, **{ref: why for ref, why in self.last.others.items() if why}}
        if refused:
            known = {(e.kind, e.name) for e in config.errors}
            extra = tuple(
                ObjectError(ref.kind, f"{ref.namespace}/{ref.name}", message, len(config.errors) + i)
                for i, (ref, message) in enumerate(refused.items())
                if (ref.kind, ref.name) not in known
            )
            if extra:
                config = replace(config, errors=config.errors + extra)
        return config

    def watch(self, on_change: Callable[[], object]) -> None:
        """From now on, call ``on_change`` once per settled change of the objects."""
        self._on_change = on_change
        for obj in self.objects():
            self._seen[str((obj.get("metadata") or {}).get("uid") or "")] = _content_digest(obj)
        self._unsubscribe = self.connection.cache.on_change(self._changed)

    def _changed(self, event_type: str, key: ResourceKey, obj: dict[str, Any]) -> None:
        namespace = self.settings.namespace
        if namespace is not None and key.namespace != namespace:
            return
        uid = str((obj.get("metadata") or {}).get("uid") or key)
        if event_type == "DELETED":
            self._seen.pop(uid, None)
        else:
            digest = _content_digest(obj)
            if self._seen.get(uid) == digest:
                return  # a change of status alone (the status writer's own patch)
            self._seen[uid] = digest
        loop = asyncio.get_running_loop()
        if self._pending is not None:
            self._pending.cancel()
        self._pending = loop.call_later(self.settings.debounce, self._fire)

    def _fire(self) -> None:
        self._pending = None
        if self._on_change is None:
            return
        try:
            self._on_change()
        except Exception:
            log.exception("reloading the config from the cluster failed")

    def release_finalizers(self, done: Callable[[str], bool]) -> None:
        """Take Argo CD's resources finalizers off the Applications being deleted whose app is
        ``done`` (gitward runs none of that name and has no removal of it pending)."""
        for obj in self.connection.cache.objects(
            api_version=ARGO_API_VERSION, kind=ARGO_KIND, namespace=self.settings.namespace
        ):
            ref = ref_of(obj)
            if not is_terminating(obj) or not argo_finalizers(obj) or ref.uid in self._releasing:
                continue
            if done(ref.name):
                task = asyncio.get_running_loop().create_task(self._release(obj), name=f"release:{ref.name}")
                self._releasing[ref.uid] = task
                task.add_done_callback(functools.partial(self._released, ref.uid))

    def _released(self, uid: str, _task: asyncio.Task[None]) -> None:
        self._releasing.pop(uid, None)

    async def _release(self, obj: Mapping[str, Any]) -> None:
        ref = ref_of(obj)
        current = list((obj.get("metadata") or {}).get("finalizers") or [])
        ours = set(argo_finalizers(obj))
        patch = [
            {"op": "test", "path": "/metadata/finalizers", "value": current},
            {"op": "replace", "path": "/metadata/finalizers", "value": [f for f in current if f not in ours]},
        ]
        try:
            await self.connection.client.patch(
                ref.api_version, ref.kind, ref.namespace, ref.name, patch, patch_type="json"
            )
        except ClusterError as error:  # changed meanwhile, or gone: the next change sweeps again
            log.warning("finalizer of %s %s/%s not released: %s", ref.kind, ref.namespace, ref.name, error)
            return
        log.info(
            "%s %s/%s: finalizer %s released (its app was removed)",
            ref.kind,
            ref.namespace,
            ref.name,
            ", ".join(sorted(ours)),
        )

    async def stop(self) -> None:
        for task in list(self._releasing.values()):
            task.cancel()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._unsubscribe is not None:
            self._unsubscribe()
        with contextlib.suppress(Exception):
            await self.connection.close()
