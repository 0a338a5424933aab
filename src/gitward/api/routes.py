"""The ``/api/v1`` routes: thin adapters from HTTP to ``EngineService`` calls.

Each route validates what comes from the client (app names, revisions, limits), calls the service
once and returns what it returned, shaped by the response model (the app reads are built to match it
and served without re-validation). Errors bubble up to ``errors.py``.

A refresh waits for its reconcile at most ``wait`` seconds: a reconcile against a cluster that stopped
answering can take minutes (each request is retried), and a client must get an answer within its own
timeout. Past ``wait`` the route answers 202 with the app as it stands (``refreshing: true``) while
the reconcile goes on; a refresh asked for while one of the same app runs joins it.

Every route authenticates its caller (``Access`` as a dependency) and asks ``Access.authorize`` once
for the action it is about to take, before calling the engine. An app's project is looked up only when
no grant on every project decides it already, so the admin and global tokens pay no lookup. Lists
(apps, events) show what the caller may read and leave out the rest. Writes pass the caller's name to
the engine, which records it in the operation (the audit trail ``app history`` shows).

``GET /apps`` with any of ``limit``, ``offset``, ``sort`` or a filter answers one page from the
engine's app index (``reconcile/appindex.py``) and says how many matched in ``X-Total-Count``;
without them it lists every app, as before.

Deliberately not here: how callers are authenticated (``access.py``), webhooks (``webhooks.py``) and
server-sent events (``stream.py``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response

from gitward.api.access import Access
from gitward.api.identity import Principal, Resource
from gitward.api.models import (
    AppListQuery,
    AppSummary,
    DeleteAnswer,
    DiffEntry,
    ErrorBody,
    Event,
    HistoryEntry,
    Operation,
    ProjectWindows,
    SyncRequest,
    TerminateAnswer,
)
from gitward.core.errors import GitwardError
from gitward.reconcile.service import EngineService, EngineViews

# Kubernetes object names (DNS-1123 subdomain): no "/", "..", spaces or leading dots, so a name can
# never turn into a path or an option anywhere below.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid request or engine refusal"},
    401: {"model": ErrorBody, "description": "Missing or invalid bearer token"},
    403: {
        "model": ErrorBody,
        "description": "The caller's roles do not allow this; the message says what is missing",
    },
    404: {"model": ErrorBody, "description": "No such application"},
    422: {"model": ErrorBody, "description": "Stalled: needs a human (invalid spec, policy, render)"},
    503: {"model": ErrorBody, "description": "Transient: Git, cluster or API unavailable; retry"},
}

AppName = Annotated[str, Path(description="Application name", max_length=253)]


def _checked(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise HTTPException(status_code=400, detail="invalid application name")
    return name


check_name = _checked  # for the pages and the stream: one rule for app names in every route


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


log = logging.getLogger("gitward.api")

#: The longest a refresh request waits for its reconcile before answering 202.
MAX_REFRESH_WAIT = 300.0


class _Refreshes:
    """Refreshes still running, one per app, kept referenced until they end (the loop holds tasks
    weakly) and their outcome retrieved (the engine has recorded it in the app's status)."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[dict[str, Any]]] = {}

    def start(
        self, name: str, run: Callable[[], Coroutine[Any, Any, dict[str, Any]]]
    ) -> asyncio.Task[dict[str, Any]]:
        task = self._running.get(name)
        if task is None:
            task = asyncio.create_task(run(), name=f"refresh:{name}")
            self._running[name] = task
            task.add_done_callback(lambda done: self._ended(name, done))
        return task

    def _ended(self, name: str, task: asyncio.Task[dict[str, Any]]) -> None:
        if self._running.get(name) is task:
            del self._running[name]
        if not task.cancelled() and task.exception() is not None:
            log.debug("refresh of %s ended with %s", name, type(task.exception()).__name__)


class _Checks:
    """The authorization questions the routes ask, answered through ``Access`` and the engine."""

    def __init__(self, service: EngineService, access: Access) -> None:
        self.service, self.access = service, access

    def app(self, principal: Principal, action: str, name: str) -> None:
        """Allowed to ``action`` on app ``name``; raises ``Forbidden`` (also for an unknown app, so a
        project-scoped caller cannot probe which apps exist elsewhere)."""
        if self.access.allows(principal, action, Resource("applications", name)):
            return  # a grant on every project decides without the app
        try:
            project = self.service.get_app(name).get("project") or None
        except GitwardError:
            project = None
        self.access.authorize(principal, action, Resource("applications", name, project))

    def readable_projects(self, principal: Principal) -> frozenset[str] | None:
        if self.access.allows(principal, "get", Resource("applications")):
            return None
        return frozenset(g.project for g in principal.grants if g.project is not None)

    def visible(self, principal: Principal, apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.access.allows(principal, "get", Resource("applications")):
            return apps
        return [a for a in apps if self._may_read(principal, a)]

    def _may_read(self, principal: Principal, app: dict[str, Any]) -> bool:
        resource = Resource("applications", str(app.get("name")), app.get("project") or None)
        return self.access.allows(principal, "get", resource)

    def events(self, principal: Principal, limit: int) -> list[dict[str, Any]]:
        """Recent events of the apps the caller may read, newest first."""
        if self.access.allows(principal, "get", Resource("applications")):
            return self.service.events(None, limit=limit)
        merged: list[dict[str, Any]] = []
        for app in self.visible(principal, self.service.list_apps()):
            merged += self.service.events(str(app["name"]), limit=limit)
        merged.sort(key=lambda e: e.get("id") or 0, reverse=True)
        return merged[:limit]


def build_router(service: EngineService, access: Access) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=_ERRORS, tags=["applications"])
    caller_of = Depends(access.caller)
    check = _Checks(service, access)

    # The two reads a dashboard polls are served as built, not re-validated against the model: for a
    # thousand apps validation cost more than the engine's own work (the model still documents them).
    @router.get("/apps", response_model=list[AppSummary], summary="List applications")
    async def list_apps(page: Annotated[AppListQuery, Depends()], caller: Principal = caller_of) -> Response:
        if not page.paged() or not isinstance(service, EngineViews):
            return _json(check.visible(caller, service.list_apps()))
        found = service.query_apps(page.to_query(check.readable_projects(caller)))
        answer = _json([service.get_app(row.name) for row in found.rows])
        answer.headers["X-Total-Count"] = str(found.total)
        return answer

    @router.get("/apps/{name}", response_model=AppSummary, summary="One application")
    async def get_app(name: AppName, caller: Principal = caller_of) -> Response:
        check.app(caller, "get", _checked(name))
        return _json(service.get_app(name))

    @router.get("/apps/{name}/diff", response_model=list[DiffEntry], summary="Desired against live")
    async def diff_app(name: AppName, caller: Principal = caller_of) -> list[dict[str, Any]]:
        check.app(caller, "get", _checked(name))
        return await service.diff_app(name)

    @router.post(
        "/apps/{name}/sync",
        response_model=Operation,
        summary="Sync now; returns the operation (with dryRun=true: the plan, and nothing is touched)",
    )
    async def sync_app(
        name: AppName,
        caller: Principal = caller_of,
        body: Annotated[SyncRequest | None, Body()] = None,
        dry_run: Annotated[
            bool, Query(alias="dryRun", description="answer the plan and what each step would change")
        ] = False,
    ) -> dict[str, Any] | Response:
        request = body or SyncRequest()
        if dry_run:  # a read: the plan touches nothing, so it needs what a diff needs
            check.app(caller, "get", _checked(name))
            return _json(await service.dry_run_sync(name, revision=request.revision, prune=request.prune))
        check.app(caller, "sync", _checked(name))
        return await service.sync_app(
            name, revision=request.revision, prune=request.prune, force=request.force, initiator=caller.name
        )

    refreshes = _Refreshes()

    @router.post(
        "/apps/{name}/refresh",
        response_model=AppSummary,
        summary="Fetch and reconcile now",
        responses={202: {"model": AppSummary, "description": "Still reconciling after `wait` seconds"}},
    )
    async def refresh_app(
        name: AppName,
        response: Response,
        caller: Principal = caller_of,
        wait: Annotated[
            float, Query(ge=0, le=MAX_REFRESH_WAIT, description="seconds to wait for the reconcile")
        ] = 30.0,
    ) -> dict[str, Any]:
        checked = _checked(name)
        check.app(caller, "refresh", checked)
        task = refreshes.start(checked, lambda: service.refresh_app(checked, initiator=caller.name))
        done, _ = await asyncio.wait({task}, timeout=wait)
        if task in done:
            return task.result()
        response.status_code = 202
        return {**service.get_app(checked), "refreshing": True}

    @router.get("/apps/{name}/history", response_model=list[HistoryEntry], summary="Deployment history")
    def history(name: AppName, caller: Principal = caller_of) -> list[dict[str, Any]]:
        check.app(caller, "get", _checked(name))
        return service.history(name)

    @router.post(
        "/apps/{name}/rollback/{history_id}",
        response_model=Operation,
        summary="Sync a past revision and suspend automated sync",
    )
    async def rollback(
        name: AppName, history_id: Annotated[int, Path(ge=0)], caller: Principal = caller_of
    ) -> dict[str, Any]:
        check.app(caller, "rollback", _checked(name))
        return await service.rollback(name, history_id, initiator=caller.name)

    # Suspend, resume and terminate change what the engine does next and answer at once: they are
    # coroutines, so they run on the engine's loop, never in a worker thread.
    @router.post(
        "/apps/{name}/suspend", response_model=AppSummary, summary="Stop automated sync and self-heal"
    )
    async def suspend(name: AppName, caller: Principal = caller_of) -> dict[str, Any]:
        check.app(caller, "suspend", _checked(name))
        return service.suspend_app(name, initiator=caller.name)

    @router.post("/apps/{name}/resume", response_model=AppSummary, summary="Resume automated sync")
    async def resume(name: AppName, caller: Principal = caller_of) -> dict[str, Any]:
        check.app(caller, "suspend", _checked(name))
        return service.resume_app(name, initiator=caller.name)

    @router.post(
        "/apps/{name}/terminate",
        response_model=TerminateAnswer,
        summary="Stop the running operation at its next step (400 NoOperationRunning when none runs)",
    )
    async def terminate(name: AppName, caller: Principal = caller_of) -> dict[str, Any]:
        check.app(caller, "terminate", _checked(name))
        return service.terminate_app(name, initiator=caller.name)

    @router.delete(
        "/apps/{name}",
        response_model=DeleteAnswer,
        summary="Remove an application the config no longer declares (400 DeclaredInConfig when it does)",
    )
    async def delete_app(
        name: AppName,
        caller: Principal = caller_of,
        cascade: Annotated[
            Literal["orphan", "foreground", "background"] | None,
            Query(description="what happens to its objects; default: the app's deletionPolicy"),
        ] = None,
    ) -> dict[str, Any]:
        check.app(caller, "delete", _checked(name))
        return await service.delete_app(name, cascade=cascade, initiator=caller.name)

    @router.get(
        "/projects/{name}/windows",
        response_model=ProjectWindows,
        tags=["projects"],
        summary="A project's sync windows: open or closed, until when",
    )
    async def project_windows(
        name: Annotated[str, Path(description="Project name", max_length=253)], caller: Principal = caller_of
    ) -> dict[str, Any]:
        checked = _checked(name)
        access.authorize(caller, "get", Resource("projects", checked, checked))
        return service.project_windows(checked)

    @router.get(
        "/apps/{name}/health/explain",
        summary="Which rule decided the health of one of the app's objects, and why",
    )
    async def explain_health(
        name: AppName,
        kind: Annotated[str, Query(description="Kind, or Kind.group", max_length=316)],
        object_name: Annotated[
            str, Query(alias="objectName", description="The object's name", max_length=253)
        ],
        namespace: Annotated[str | None, Query(description="The object's namespace", max_length=63)] = None,
        caller: Principal = caller_of,
    ) -> dict[str, Any]:
        check.app(caller, "get", _checked(name))
        return service.explain_health(name, kind=kind, name=object_name, namespace=namespace)

    @router.get("/config", tags=["config"], summary="The config's last load: when, and what it refused")
    async def config_status(caller: Principal = caller_of) -> dict[str, Any]:
        access.authorize(caller, "get", Resource("projects"))
        return service.config_status()

    @router.get("/events", response_model=list[Event], tags=["events"], summary="Recent events")
    def events(
        caller: Principal = caller_of,
        app: Annotated[str | None, Query(description="only this application's events")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        if app is None:
            return check.events(caller, limit)
        check.app(caller, "get", _checked(app))
        return service.events(app, limit=limit)

    return router
