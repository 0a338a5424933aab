"""The web UI's read pages: the application list, one application, its diff, clusters, repositories.

Each page authenticates its caller (``pageseam.page_caller``), asks ``Access.authorize`` for what it
shows, reads the engine through ``EngineService``/``EngineViews`` once per part, and hands plain
dicts to the ``PageRenderer``. What a caller may do is decided here and passed as ``can``; the
templates only hide what is not allowed, and the write routes refuse it anyway.

The list is served from the engine's app index (``reconcile/appindex.py``): one page of rows,
counts per status and the filter menus, without building a summary per app, so a page of a
10,000-app registry answers in milliseconds (``./dev bench ui``, docs/benchmarks.md).

Deliberately not here: writes (``page_actions.py``), login (``page_login.py``), the event stream.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from gitward.api.access import Access
from gitward.api.identity import Principal, Resource
from gitward.api.pageseam import PageRenderer, html, identity, page_caller, readable_projects, session_csrf
from gitward.api.routes import check_name
from gitward.core.errors import GitwardError
from gitward.reconcile.appindex import FILTERS, HEALTH_VALUES, SORT_KEYS, SYNC_VALUES, AppQuery
from gitward.reconcile.service import EngineService, EngineViews

log = logging.getLogger("gitward.api.pages")

PAGE_SIZES = (25, 50, 100, 200)
APP_ACTIONS = ("sync", "refresh", "rollback", "suspend", "terminate")
HISTORY_SHOWN = 25
EVENTS_SHOWN = 50


class PageContext:
    """What every page of one request shares: the caller, the CSRF token, the nav."""

    def __init__(self, access: Access, request: Request, caller: Principal, nav: str) -> None:
        self.values: dict[str, Any] = {
            "user": identity(access, caller),
            "csrf": session_csrf(access, request),
            "nav": nav,
            "path": request.url.path,
        }

    def with_(self, **more: Any) -> dict[str, Any]:
        return {**self.values, **more}


def app_permissions(access: Access, caller: Principal, name: str, project: str) -> dict[str, bool]:
    resource = Resource("applications", name, project or None)
    can = {action: access.allows(caller, action, resource) for action in APP_ACTIONS}
    can["resume"] = can["suspend"]  # one permission for both, as the API checks it
    return can


def api_actions(request: Request, summary: dict[str, Any]) -> list[str]:
    """The app actions the JSON API serves (``POST /api/v1/apps/{name}/<verb>``) that apply to the
    app as it stands: a new action route shows as a button with no change here but its verb."""
    paths = request.app.openapi().get("paths", {})  # built once, then cached by FastAPI
    prefix = "/api/v1/apps/{name}/"
    served = {
        p.removeprefix(prefix) for p, methods in paths.items() if p.startswith(prefix) and "post" in methods
    }
    wanted = ["resume" if summary.get("suspended") else "suspend"]
    if summary.get("running") and not summary.get("terminating"):
        wanted.append("terminate")
    return [verb for verb in wanted if verb in served]


def _query_string(params: dict[str, Any], **changes: Any) -> str:
    merged = {**params, **changes}
    return urllib.parse.urlencode({k: v for k, v in merged.items() if v not in ("", None, False, 0)})


def list_query(request: Request) -> tuple[AppQuery, dict[str, Any]]:
    """The list's query string as an ``AppQuery``, and its parameters to rebuild links."""
    q = request.query_params
    size = int(q.get("size", "50")) if q.get("size", "50").isdigit() else 50
    size = size if size in PAGE_SIZES else 50
    page = max(1, int(q.get("page", "1"))) if q.get("page", "1").isdigit() else 1
    params: dict[str, Any] = {f: q.get(f, "")[:253] for f in (*FILTERS, "label")}
    params["search"] = q.get("search", "")[:253]
    params["sort"] = q.get("sort", "name") if q.get("sort", "name") in SORT_KEYS else "name"
    params["desc"] = q.get("desc", "") == "1"
    params["size"] = size if size != 50 else ""
    query = AppQuery(
        search=params["search"],
        label=params["label"],
        sort=params["sort"],
        descending=params["desc"],
        offset=(page - 1) * size,
        limit=size,
        **{f: params[f] for f in FILTERS},
    )
    params["desc"] = "1" if params["desc"] else ""
    return query, {**params, "page": page, "page_size": size}


def build_page_router(service: EngineService, access: Access, renderer: PageRenderer) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    views = service if isinstance(service, EngineViews) else None

    @router.get("/")
    def home() -> Response:
        return RedirectResponse("/apps", status_code=303)

    @router.get("/apps")
    async def app_list(request: Request) -> Response:
        caller = await page_caller(access, request)
        page_context = PageContext(access, request, caller, "apps")
        query, params = list_query(request)
        query = AppQuery(**{**query.__dict__, "projects": readable_projects(access, caller)})
        if views is None:
            raise HTTPException(501, detail="this server has no application index")
        page = views.query_apps(query)
        base = {k: v for k, v in params.items() if k not in ("page", "page_size")}
        last_page = max(1, -(-page.total // params["page_size"]))
        context = page_context.with_(
            page=page,
            params=params,
            sync_values=SYNC_VALUES,
            health_values=HEALTH_VALUES,
            sort_keys=SORT_KEYS,
            page_sizes=PAGE_SIZES,
            link=lambda **changes: "/apps?" + _query_string(base, **changes),
            last_page=last_page,
        )
        return html(renderer, "apps.html", context)

    @router.get("/apps/{name}")
    async def app_page(name: str, request: Request) -> Response:
        caller = await page_caller(access, request)
        summary = readable_app(service, access, caller, name)
        history = service.history(name)[:HISTORY_SHOWN]
        events = service.events(name, limit=EVENTS_SHOWN)
        tree: list[dict[str, Any]] = []
        commit = None
        if views is not None:
            tree = await views.app_tree(name)
            commit = await asyncio.to_thread(views.commit_of, name)
        operation = summary.get("running") or summary.get("operation")
        if operation and operation.get("id") is not None and not summary.get("running"):
            operation = _operation_record(history, operation)
        context = PageContext(access, request, caller, "apps").with_(
            app=summary,
            can=app_permissions(access, caller, name, str(summary.get("project") or "")),
            api_actions=api_actions(request, summary),
            tree=tree,
            commit=commit,
            operation=operation,
            history=history,
            drift=[e for e in events if e.get("reason") == "Drift"],
            events=events,
        )
        return html(renderer, "app.html", context)

    @router.get("/apps/{name}/diff")
    async def diff_page(
        name: str, request: Request, view: Annotated[str, Query(pattern="^(unified|split)$")] = "unified"
    ) -> Response:
        caller = await page_caller(access, request)
        summary = readable_app(service, access, caller, name)
        error = ""
        entries: list[dict[str, Any]] = []
        try:
            entries = await service.diff_app(name)
        except GitwardError as err:
            error = f"{err.reason}: {err.message}"
        context = PageContext(access, request, caller, "apps").with_(
            app=summary,
            can=app_permissions(access, caller, name, str(summary.get("project") or "")),
            entries=[e for e in entries if e.get("action") != "none"],
            unchanged=sum(1 for e in entries if e.get("action") == "none"),
            view=view,
            error=error,
        )
        return html(renderer, "diff.html", context)

    @router.get("/clusters")
    async def clusters_page(request: Request) -> Response:
        caller = await page_caller(access, request)
        access.authorize(caller, "get", Resource("clusters"))
        rows = views.cluster_views() if views else []
        context = PageContext(access, request, caller, "clusters").with_(clusters=rows)
        return html(renderer, "clusters.html", context)

    @router.get("/repositories")
    async def repositories_page(request: Request) -> Response:
        caller = await page_caller(access, request)
        access.authorize(caller, "get", Resource("repositories"))
        rows = views.repository_views() if views else []
        context = PageContext(access, request, caller, "repositories").with_(repositories=rows)
        return html(renderer, "repositories.html", context)

    return router


def readable_app(service: EngineService, access: Access, caller: Principal, name: str) -> dict[str, Any]:
    """The app's summary after the caller's ``get`` on it was allowed (Forbidden also for an app
    that does not exist, unless the caller may read every project: no probing of other projects)."""
    check_name(name)
    if not access.allows(caller, "get", Resource("applications", name)):
        try:
            project = service.get_app(name).get("project") or None
        except GitwardError:
            project = None
        access.authorize(caller, "get", Resource("applications", name, project))
    return service.get_app(name)


def _operation_record(history: list[dict[str, Any]], operation: dict[str, Any]) -> dict[str, Any]:
    """The last operation with its per-resource results (and plan steps, when the record has
    them), from history when it is there."""
    for entry in history:
        if entry.get("id") == operation.get("id"):
            return {**operation, **entry}
    return operation
