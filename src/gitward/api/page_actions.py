"""The web UI's writes: sync (after a preview), refresh and rollback (after a confirmation).

    GET  /apps/{name}/sync             the preview: the plan a sync would run, step by step, with
                                       what each object would get (the engine's dry run; the
                                       server-side dry-run diff where it has none), and the form
    POST /apps/{name}/sync             sync now (fields ``csrf``, optional ``revision``, ``prune``)
    POST /apps/{name}/refresh          fetch and reconcile now
    GET  /apps/{name}/rollback/{id}    the confirmation of a rollback to a history entry
    POST /apps/{name}/rollback/{id}    roll back

Every POST authenticates with the session's CSRF token (form field or header) or a bearer token,
and asks ``Access.authorize`` for its action before the engine is called: a button a role may not
use is hidden by the page, and the request is refused here anyway. The engine records the caller as
the operation's initiator, as for the JSON API. A write answers with a redirect to the app page
(POST-redirect-GET), where the operation shows; the page's script follows it without a reload.

A refresh waits for its reconcile at most ``REFRESH_WAIT`` seconds, then redirects anyway: the page
shows the rest live.

Deliberately not here: the JSON API's own write routes (``routes.py``), which the pages do not use
so that a plain HTML form (no script) can write too.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gitward.api.access import Access
from gitward.api.identity import Principal, Resource
from gitward.api.models import REVISION_PATTERN
from gitward.api.pages import PageContext, app_permissions, readable_app
from gitward.api.pageseam import PageRenderer, html, page_caller, read_form
from gitward.api.routes import check_name
from gitward.core.errors import GitwardError, ValidationError
from gitward.reconcile.service import EngineService

REFRESH_WAIT = 20.0
_REVISION_MAX = 255


def _revision(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > _REVISION_MAX or not re.match(REVISION_PATTERN, value):
        raise ValidationError("invalid revision")
    return value


def build_page_action_router(service: EngineService, access: Access, renderer: PageRenderer) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    running: dict[str, asyncio.Task[Any]] = {}

    async def writer(request: Request, name: str, action: str) -> tuple[Principal, dict[str, str]]:
        fields = await read_form(request)
        caller = await page_caller(access, request, csrf=fields.get("csrf"))
        check_name(name)
        project = None
        if not access.allows(caller, action, Resource("applications", name)):
            project = str(service.get_app(name).get("project") or "") or None
        access.authorize(caller, action, Resource("applications", name, project))
        return caller, fields

    def back(name: str, anchor: str = "operation") -> Response:
        return RedirectResponse(f"/apps/{name}#{anchor}", status_code=303)

    @router.get("/apps/{name}/sync")
    async def sync_preview(name: str, request: Request) -> Response:
        caller = await page_caller(access, request)
        summary = readable_app(service, access, caller, name)
        can = app_permissions(access, caller, name, str(summary.get("project") or ""))
        if not can["sync"]:
            access.authorize(caller, "sync", Resource("applications", name, summary.get("project") or None))
        error, entries, plan = "", [], None
        dry_run = getattr(service, "dry_run_sync", None)  # the plan, when the engine can tell it
        try:
            if dry_run is not None:
                plan = await dry_run(name)
            else:
                entries = await service.diff_app(name)
        except GitwardError as err:
            error = f"{err.reason}: {err.message}"
        context = PageContext(access, request, caller, "apps").with_(
            app=summary,
            can=can,
            plan=plan,
            changes=[e for e in entries if e.get("action") != "none"],
            unchanged=sum(1 for e in entries if e.get("action") == "none"),
            view="unified",
            error=error,
        )
        return html(renderer, "sync.html", context)

    @router.post("/apps/{name}/sync")
    async def sync(name: str, request: Request) -> Response:
        caller, fields = await writer(request, name, "sync")
        prune = {"on": True, "off": False}.get(fields.get("prune", ""))
        await service.sync_app(
            name, revision=_revision(fields.get("revision", "")), prune=prune, initiator=caller.name
        )
        return back(name)

    @router.post("/apps/{name}/refresh")
    async def refresh(name: str, request: Request) -> Response:
        caller, _ = await writer(request, name, "refresh")
        task = running.get(name)
        if task is None or task.done():
            task = asyncio.create_task(
                service.refresh_app(name, initiator=caller.name), name=f"page-refresh:{name}"
            )
            running[name] = task
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
        await asyncio.wait({task}, timeout=REFRESH_WAIT)
        return back(name, "status")

    @router.get("/apps/{name}/rollback/{history_id}")
    async def rollback_confirm(name: str, history_id: int, request: Request) -> Response:
        caller = await page_caller(access, request)
        summary = readable_app(service, access, caller, name)
        access.authorize(caller, "rollback", Resource("applications", name, summary.get("project") or None))
        entry = next((e for e in service.history(name) if e.get("id") == history_id), None)
        context = PageContext(access, request, caller, "apps").with_(
            app=summary, entry=entry, history_id=history_id
        )
        return html(renderer, "rollback.html", context, status=200 if entry else 404)

    @router.post("/apps/{name}/rollback/{history_id}")
    async def rollback(name: str, history_id: int, request: Request) -> Response:
        caller, _ = await writer(request, name, "rollback")
        await service.rollback(name, history_id, initiator=caller.name)
        return back(name)

    return router
