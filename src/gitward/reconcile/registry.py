"""The registry: every app, project, cluster and receiver the config defines, and who owns which object.

One place answers "which apps exist and what do they look like now": the config loaded at start, the
child Applications an app-of-apps renders (added and removed as its render changes), the apps an
ApplicationSet makes (``put_generated``/``drop``, driven by ``appsets``), the apps that
failed validation (listed with their error so their owner sees why), and the claims index that maps
each owned object to its one app (``claims``). The registry changes nothing outside itself: it does
not queue passes or record events; its callers do, with what it returns.

Each app's record (deletion policy, cluster, parent) is kept in the store as the app is registered,
so an app that left the config can still be removed as it asked (``removal``). ``load`` says which
apps the store knows that the config no longer declares; ``update`` applies a reloaded config and
says what was added, changed and removed. Neither ever counts an app as gone when it is merely
invalid, nor a child app whose parent (an app or an ApplicationSet) is still declared, or refused;
a config that did not load at all is the caller's to refuse (``engine``).

Deliberately not here: when apps are reconciled (``scheduler``), what a pass does (``reconcile_pass``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitward.apply import VerdictCache
from gitward.core.appstatus import AppStatus
from gitward.core.errors import ValidationError
from gitward.health import HealthRules
from gitward.model import IN_CLUSTER, Application, Cluster, LoadedConfig, Project, Receiver, load_object
from gitward.model.loader import lists_as_application
from gitward.reconcile.claims import Claims
from gitward.reconcile.gates import follow_spec
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.service import AppNotFound
from gitward.store import Store

log = logging.getLogger("gitward.engine")

#: The parent of an Application an ApplicationSet made: ``ApplicationSet/<name>`` (no app has a "/").
GENERATED_BY = "ApplicationSet/"


def generated_by(appset: str) -> str:
    """The parent name of the apps the ApplicationSet ``appset`` makes (``reconcile/appsets.py``)."""
    return f"{GENERATED_BY}{appset}"


@dataclass
class ChildChanges:
    """What registering an app's rendered child Applications did, for the caller to act on."""

    problems: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # added or changed: to reconcile
    removed: list[str] = field(default_factory=list)  # left the parent's render: forgotten


@dataclass
class ConfigChanges:
    """What applying a reloaded config did: apps to reconcile, and apps that left it (to remove)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_runtimes: dict[str, AppRuntime] = field(default_factory=dict)  # their last runtimes
    health_kinds: frozenset[tuple[str, str]] = frozenset()  # (group, kind) whose HealthChecks changed


class Registry:
    """The apps (as ``AppRuntime``), projects, clusters and receivers, and the claims on objects."""

    def __init__(self, store: Store, *, config_path: Path) -> None:
        self._store = store
        self._config_path = config_path
        self.runtimes: dict[str, AppRuntime] = {}
        self.invalid: dict[str, str] = {}  # app name -> why it failed validation
        # Bumped whenever ``runtimes`` or ``invalid`` may have gained or lost a name, so a view of
        # every app (``Views``) need not compare all names at each status save.
        self.membership = 0
        self.projects: dict[str, Project] = {}
        self.clusters: dict[str, Cluster] = {}
        self.receivers: dict[str, Receiver] = {}
        self.health = HealthRules()  # the config's HealthChecks over the plugins (engine) and built-ins
        self.health_changed: frozenset[tuple[str, str]] = frozenset()  # by the last load or update
        self.claims = Claims(lambda name: name in self.runtimes)
        self.has_dependencies = False  # any dependsOn at all: wake-ups cost nothing without
        self._parents: set[str] = set()  # apps that have rendered child apps (app-of-apps)
        self._records: dict[str, dict[str, Any]] | None = None  # app records, read once
        # Whether this process reconciles ``name`` (several replicas: it owns it; else every app).
        self.owns: Callable[[str], bool] = lambda _name: True

    def load(self, config: LoadedConfig) -> list[str]:
        """The config's objects; each app's status, verdicts and inventory come from the store.

        Returns the apps the store keeps a record of that this config no longer declares (to be
        removed as their records say): not the invalid ones, not children of a declared app.
        """
        self._take_settings(config)
        for app in config.applications:
            self.register(app)
        return self._left(config)

    def update(self, config: LoadedConfig) -> ConfigChanges:
        """Apply a reloaded config: new apps registered, changed ones given their new spec (their
        status, inventory and claims stay), the ones that left it dropped here (the caller removes
        them). An app the config refuses keeps running with its last good spec."""
        out = ConfigChanges()
        self.invalid = {}
        self._take_settings(config)
        for app in config.applications:
            rt = self.runtimes.get(app.name)
            if rt is None:
                self.register(app)
                out.added.append(app.name)
            elif rt.app != app or rt.parent is not None:
                rt.app, rt.parent = app, None
                rt.prepared_memo = None
                self._remember(rt)
                follow_spec(rt)
                out.changed.append(app.name)
        self.has_dependencies = any(rt.app.dependencies for rt in self.runtimes.values())
        out.health_kinds = self.health_changed
        out.removed = self._left(config)
        for name in out.removed:
            if name in self.runtimes:
                out.removed_runtimes[name] = self.runtimes.pop(name)
                self.claims.release(name)
        self.membership += 1
        return out

    def _take_settings(self, config: LoadedConfig) -> None:
        self.membership += 1
        self.clusters = {c.name: c for c in config.clusters}
        self.projects = {p.name: p for p in config.projects}
        self.receivers = {r.name: r for r in config.receivers}
        self.health_changed = self.health.configure(
            config.health_checks, refused=config.failed("HealthCheck")
        )
        for error in config.errors:
            name = error.name or f"document {error.document}"
            if lists_as_application(error) or error.kind == "Project":
                self.invalid[name] = error.message
            log.warning("invalid %s %s: %s", error.kind or "object", name, error.message)

    def owners_of_kinds(self, kinds: frozenset[tuple[str, str]]) -> list[str]:
        """Apps owning an object of one of these (group, kind) pairs (their health is assessed anew)."""
        if not kinds:
            return []
        return sorted(
            name
            for name, rt in self.runtimes.items()
            if any((e.key.group, e.key.kind) in kinds for e in rt.inventory)
        )

    def _left(self, config: LoadedConfig) -> list[str]:
        """Apps known here or by their stored record that ``config`` no longer declares; an invalid
        app and a child app whose parent is kept are not among them."""
        records = self.records()
        kept = {app.name for app in config.applications} | config.failed("Application")
        # a set that is declared (or refused, keeping its last good state) keeps the apps it made
        sets = {s.name for s in config.application_sets} | config.failed("ApplicationSet")
        kept |= {generated_by(name) for name in sets}
        parent_of = {name: str(r.get("parent") or "") for name, r in records.items()}
        parent_of.update({name: rt.parent or "" for name, rt in self.runtimes.items()})
        changed = True
        while changed:  # a child of a kept app is kept, and so are its own children
            grown = {n for n, p in parent_of.items() if p and p in kept} - kept
            kept |= grown
            changed = bool(grown)
        return sorted(name for name in parent_of if name not in kept)

    def records(self) -> dict[str, dict[str, Any]]:
        """What the store keeps of each app for its removal (``removal``)."""
        if self._records is None:
            self._records = self._store.app_records()
        return self._records

    def forget_record(self, name: str) -> None:
        self.records().pop(name, None)

    def _remember(self, rt: AppRuntime) -> None:
        """Keep the app's deletion policy, cluster and parent in the store (written when changed, by
        the app's owner)."""
        if not self.owns(rt.name):
            return
        record = {
            "deletionPolicy": rt.app.spec.deletion_policy,
            "cluster": rt.app.spec.destination.cluster,
            "parent": rt.parent or "",
        }
        if self.records().get(rt.name) != record:
            self._store.save_app_record(rt.name, record)
            self.records()[rt.name] = record

    def remember(self, rt: AppRuntime) -> None:
        """Write the app's record now (a replica that just took the app over)."""
        self._remember(rt)

    def register(self, app: Application, *, parent: str | None = None) -> AppRuntime:
        status = self._store.load_status(app.name)
        rows = self._store.load_verdicts(app.name).get("rows", [])
        rt = AppRuntime(
            app=app,
            status=AppStatus() if status is None else AppStatus.from_dict(status),
            verdicts=VerdictCache.from_export(rows),
            inventory=self._store.load_inventory(app.name),
            parent=parent,
            inventory_known=status is not None,
        )
        self.runtimes[app.name] = rt
        self.membership += 1
        if parent is not None:
            self._parents.add(parent)
        self.has_dependencies = self.has_dependencies or bool(app.dependencies)
        self.reindex(rt)
        self._remember(rt)
        follow_spec(rt)  # spec.suspend shows before the first pass
        return rt

    def reindex(self, rt: AppRuntime) -> None:
        """Keep the claims in step with ``rt.inventory`` (ownership and drift routing)."""
        self.claims.hold(rt.name, (entry.key for entry in rt.inventory))

    def runtime(self, name: str) -> AppRuntime:
        """The app ``name``; an invalid app raises its validation error, an unknown one AppNotFound."""
        rt = self.runtimes.get(name)
        if rt is None:
            if name in self.invalid:
                raise ValidationError(f"application {name!r} is invalid: {self.invalid[name]}")
            raise AppNotFound(f"application {name!r} not found")
        return rt

    def project(self, name: str) -> Project | None:
        found = self.projects.get(name)
        if found is None and name == "default":
            return Project.implicit_default()
        return found

    def apps_of_project(self, name: str) -> list[Application]:
        return [rt.app for rt in self.runtimes.values() if rt.app.spec.project == name]

    def kubeconfig_of(self, cluster: str) -> tuple[Path, str | None]:
        """The kubeconfig file and context of ``cluster`` (``kubeconfig_of`` below)."""
        return kubeconfig_of(self.clusters, cluster, config_folder=self._config_folder())

    def webhook_receiver(self, name: str) -> Receiver | None:
        """The Receiver ``name``, its relative ``secretFile`` resolved against the config's folder."""
        receiver = self.receivers.get(name)
        if receiver is None or receiver.spec.secret_file is None:
            return receiver
        secret = Path(receiver.spec.secret_file).expanduser()
        if not secret.is_absolute():
            secret = self._config_folder() / secret
        spec = receiver.spec.model_copy(update={"secret_file": str(secret)})
        return receiver.model_copy(update={"spec": spec})

    def _config_folder(self) -> Path:
        base = self._config_path
        return base if base.is_dir() else base.parent

    def apply_children(self, parent: AppRuntime, children: Sequence[dict[str, Any]]) -> ChildChanges:
        """Register the Applications ``parent`` rendered and forget the ones it no longer renders
        (only when every child loaded: a broken render must not remove apps)."""
        out = ChildChanges()
        if not children and parent.name not in self._parents:
            return out  # the common case, without a scan of every app
        wanted: set[str] = set()
        for document in children:
            child = self._child_of(parent, document, out.problems)
            if child is None:
                continue
            wanted.add(child.name)
            existing = self.runtimes.get(child.name)
            if existing is None or existing.app != child:
                rt = self.register(child, parent=parent.name) if existing is None else existing
                rt.app = child
                self._remember(rt)
                self.has_dependencies = self.has_dependencies or bool(child.dependencies)
                out.changed.append(child.name)
        if not out.problems:
            out.removed = self._forget_children(parent.name, keep=wanted)
        return out

    def _child_of(
        self, parent: AppRuntime, document: dict[str, Any], problems: list[str]
    ) -> Application | None:
        try:
            child = load_object(document)
        except Exception as exc:
            problems.append(f"child application: {exc}")
            return None
        if not isinstance(child, Application):
            problems.append(f"child {child.kind} {child.name!r} is not an Application")
            return None
        existing = self.runtimes.get(child.name)
        if existing is not None and existing.parent != parent.name:
            problems.append(f"child application {child.name!r} is already defined elsewhere")
            return None
        return child

    def put_generated(self, app: Application, *, parent: str) -> bool:
        """Register ``app`` as made by ``parent`` (an ApplicationSet), or give the one it made before
        its new spec (status, inventory and claims stay); True when anything changed."""
        rt = self.runtimes.get(app.name)
        if rt is None:
            self.register(app, parent=parent)
            return True
        if rt.app == app:
            return False
        rt.app, rt.prepared_memo = app, None
        self._remember(rt)
        follow_spec(rt)
        self.has_dependencies = self.has_dependencies or bool(app.dependencies)
        return True

    def drop(self, names: Iterable[str]) -> None:
        """Forget these apps here (their removal is the caller's: ``removal``)."""
        for name in names:
            if self.runtimes.pop(name, None) is not None:
                self.claims.release(name)
        self.membership += 1

    def _forget_children(self, parent: str, *, keep: Iterable[str]) -> list[str]:
        kept = set(keep)
        removed = [n for n, rt in self.runtimes.items() if rt.parent == parent and n not in kept]
        for name in removed:
            del self.runtimes[name]
            self.claims.release(name)
        self.membership += 1
        return removed


def kubeconfig_of(
    clusters: Mapping[str, Cluster], cluster: str, *, config_folder: Path
) -> tuple[Path, str | None]:
    """The kubeconfig file and context of ``cluster``; a relative path is read from the config's
    folder, and the in-cluster name falls back to ``$KUBECONFIG``. A function of the config alone,
    so ``gitward preview`` resolves clusters exactly as the engine does, with no registry."""
    spec = clusters.get(cluster)
    if spec is not None:
        if spec.spec.kubeconfig is None:  # its Secret is read by ``Clusters.connection``
            raise ValidationError(f"cluster {cluster!r} takes its kubeconfig from a Secret")
        path = Path(os.path.expanduser(spec.spec.kubeconfig))
        return (path if path.is_absolute() else config_folder / path), spec.spec.context
    if cluster == IN_CLUSTER and os.environ.get("KUBECONFIG"):
        return Path(os.environ["KUBECONFIG"].split(os.pathsep)[0]), None
    if cluster == IN_CLUSTER:  # ``gitward run`` sets KUBECONFIG in a pod (cli/run.py)
        raise ValidationError(
            "cluster 'in-cluster' cannot be reached: KUBECONFIG is not set and gitward does not run in "
            "a pod with a service account; set KUBECONFIG, run gitward in a pod, or define a Cluster "
            "named 'in-cluster'",
            reason="ClusterNotFound",
        )
    raise ValidationError(f"cluster {cluster!r} is not defined", reason="ClusterNotFound")
