"""The engine as the API and CLI see it: the ``EngineService`` protocol.

``api/`` serves exactly these calls over HTTP and ``cli/`` calls them through the HTTP API, so the
control loop can change freely behind this seam. Every result is a JSON-ready dict (Secret data
already masked) so no layer above has to know the engine's internal types.

Shapes (keys are camelCase, as in the Application status the user reads):
- app summary: ``{name, project, repoURL, path, revision, destination: {cluster, namespace},
  sync: {status, revision}, health: {status, message}, conditions: [...], suspended: bool,
  suspendReason: str, operation: {...} | None, resources: [{id, group, kind, namespace, name,
  version, sync, health, message}]}``
- operation: ``{id, app, revision, commit, phase, startedAt, finishedAt, message, trigger, initiator,
  resources: [Change.to_dict()...]}``
- diff entry: ``{id, group, kind, namespace, name, action: create|update|delete|none, diff: str}``
- event: ``{id, app, time, type: Normal|Warning, reason, message, object, fields: [...], manager}``
- app summary, further: ``suspendedBy: spec|user|rollback|revision|"", syncWindow: {message, windows,
  until} | None`` (a sync window holds automation back), ``terminating: bool``
- project windows: ``{project, time, windows: [{name, kind, schedule, duration, timeZone,
  applications, namespaces, clusters, manualSync, andOperator, active, opened, closes, nextOpen,
  apps}]}`` (times in epoch seconds, None when unknown)

``EngineViews`` is the read side the web UI and the live stream add (issue 13): one page of the app
list from a precomputed index (``appindex``), the resource tree from the watch cache (``tree``), the
deployed commit's author and message, clusters and repositories, and the status feed
(``livefeed``). It is a separate protocol so a service without it still serves the JSON API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from gitward.core.errors import GitwardError
from gitward.model import Receiver
from gitward.reconcile.appindex import AppPage, AppQuery
from gitward.reconcile.livefeed import StatusFeed


class AppNotFound(GitwardError):
    reason = "NotFound"


class EngineService(Protocol):
    def list_apps(self) -> list[dict[str, Any]]: ...

    def get_app(self, name: str) -> dict[str, Any]:
        """Raises AppNotFound."""
        ...

    async def diff_app(self, name: str) -> list[dict[str, Any]]:
        """Desired (at the current revision) against live, via server-side dry-run."""
        ...

    async def dry_run_sync(
        self, name: str, *, revision: str | None = None, prune: bool | None = None
    ) -> dict[str, Any]:
        """The plan a sync would run, in order, each step with what it would change (masked diffs);
        touches nothing (``reconcile/dryrun.py`` gives the shape)."""
        ...

    async def sync_app(
        self,
        name: str,
        *,
        revision: str | None = None,
        prune: bool | None = None,
        force: bool = False,
        initiator: str = "",
    ) -> dict[str, Any]:
        """Run one sync now and return the finished operation. A sync to a branch resumes automation.
        ``initiator`` (here and below): who asked, recorded in the operation (the audit trail)."""
        ...

    async def refresh_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Fetch the source now, then reconcile; returns the app summary afterwards."""
        ...

    def history(self, name: str) -> list[dict[str, Any]]: ...

    async def rollback(self, name: str, history_id: int, *, initiator: str = "") -> dict[str, Any]:
        """Sync the revision of that history entry and suspend automated sync for the app."""
        ...

    def events(self, name: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]: ...

    def suspend_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """No automated sync or self-heal until resumed; returns the app summary."""
        ...

    def resume_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Automation on again at the tracked revision (a pass is queued); refused while
        ``spec.suspend`` is true. Returns the app summary."""
        ...

    def terminate_app(self, name: str, *, initiator: str = "") -> dict[str, Any]:
        """Ask the running operation to stop at its next step: ``{name, terminating, operation,
        message}``; a GitwardError (reason NoOperationRunning) when there is nothing to stop."""
        ...

    async def delete_app(
        self, name: str, *, cascade: str | None = None, initiator: str = ""
    ) -> dict[str, Any]:
        """Remove an app the config no longer declares, its objects handled per ``cascade``
        (orphan, foreground, background; default: its deletionPolicy): ``{name, time, policy, why,
        initiator, objects, message}``. Refused (reason DeclaredInConfig) for an app the config
        declares, naming the file; AppNotFound for an app gitward does not know."""
        ...

    def config_status(self) -> dict[str, Any]:
        """How the last load of the config went: ``{path, loadedAt, keptLastGood, errors: [{kind,
        name, message, document}]}``; ``keptLastGood`` when the last reload was refused as a whole."""
        ...

    def project_windows(self, name: str) -> dict[str, Any]:
        """The project's sync windows now; raises AppNotFound for an unknown project."""
        ...

    async def trigger_repository(self, url: str, *, refs: Mapping[str, str] | None = None) -> list[str]:
        """A push to ``url``: fetch it once, queue the apps whose input changed; returns their names.
        ``refs`` (ref name -> new object id) is what the push announced: no fetch when the mirror has it."""
        ...

    def webhook_receiver(self, name: str) -> Receiver | None:
        """The configured webhook Receiver ``name`` (``secretFile`` an absolute path), if any."""
        ...

    async def webhook_secret(self, receiver: Receiver) -> bytes:
        """The Receiver's shared secret as it is now (its file, or its Secret with ``run
        --from-cluster``); empty when it cannot be read (the reason is logged, never a value)."""
        ...

    def explain_health(
        self, app: str, *, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any]:
        """Which rule decided the health of one of the app's objects (``reconcile/healthexplain.py``):
        ``{app, group, kind, namespace, name, health: {status, message}, decidedBy: {source, name,
        rule, expression}, passed: [...]}``; AppNotFound for an unknown app or object."""
        ...


@runtime_checkable
class EngineViews(Protocol):
    @property
    def feed(self) -> StatusFeed:
        """Status changes, numbered, for ``GET /api/v1/stream``."""
        ...

    def query_apps(self, query: AppQuery) -> AppPage:
        """One page of the app list, filtered and sorted, with counts per status."""
        ...

    async def app_tree(self, name: str) -> list[dict[str, Any]]:
        """The app's objects and what they own (``tree.build_tree``); raises AppNotFound."""
        ...

    def commit_of(self, name: str) -> dict[str, Any] | None:
        """Author, time and message of the commit the app is at; None when unknown."""
        ...

    def cluster_views(self) -> list[dict[str, Any]]:
        """``{name, context, connected, reachable, since, error, watchedKinds, apps, health}``."""
        ...

    def repository_views(self) -> list[dict[str, Any]]:
        """``{url, apps, lastFetch, errors: [{app, message}]}`` per repository the apps use."""
        ...


@runtime_checkable
class AppSetService(Protocol):
    """ApplicationSets (``reconcile/appsets.py``). Summary: ``{name, kind, invalid, generators,
    applicationsSync, preserveResourcesOnDeletion, goTemplate, apps, generatedAt, error, problems}``;
    one set adds ``{applications, problemMessages, kept, blocked, held, parameterSets, commits,
    failedAt}``; a preview is ``{name, error, problems, parameterSets, apps: [{name, action, project,
    repoURL, path, revision, destination}]}`` with action create, update, hold, unchanged, conflict,
    delete, keep or blocked."""

    def list_appsets(self) -> list[dict[str, Any]]: ...

    def get_appset(self, name: str) -> dict[str, Any]:
        """Raises AppNotFound."""
        ...

    async def preview_appset(self, name: str) -> dict[str, Any]:
        """Generate now and say what would change; registers, deletes and records nothing."""
        ...
