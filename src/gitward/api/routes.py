"""The ``/api/v1`` routes: thin adapters from HTTP to ``EngineService`` calls.

Each route validates what comes from the client (app names, revisions, limits), calls the service
once and returns what it returned, shaped by the response model (the app reads are built to match it
and served without re-validation). Errors bubble up to ``errors.py``.

Deliberately not here: authentication (a router-wide dependency set in ``app.py``), webhooks and
server-sent events (their own modules when they arrive).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, HTTPException, Path, Query, Response

from gitward.api.models import (
    AppSummary,
    DiffEntry,
    ErrorBody,
    Event,
    HistoryEntry,
    Operation,
    SyncRequest,
)
from gitward.reconcile.service import EngineService

# Kubernetes object names (DNS-1123 subdomain): no "/", "..", spaces or leading dots, so a name can
# never turn into a path or an option anywhere below.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid request or engine refusal"},
    401: {"model": ErrorBody, "description": "Missing or invalid bearer token"},
    404: {"model": ErrorBody, "description": "No such application"},
    422: {"model": ErrorBody, "description": "Stalled: needs a human (invalid spec, policy, render)"},
    503: {"model": ErrorBody, "description": "Transient: Git, cluster or API unavailable; retry"},
}

AppName = Annotated[str, Path(description="Application name", max_length=253)]


def _checked(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise HTTPException(status_code=400, detail="invalid application name")
    return name


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def build_router(service: EngineService) -> APIRouter:
    router = APIRouter(prefix="/api/v1", responses=_ERRORS, tags=["applications"])

    # The two reads a dashboard polls are served as built, not re-validated against the model: for a
    # thousand apps validation cost more than the engine's own work (the model still documents them).
    @router.get("/apps", response_model=list[AppSummary], summary="List applications")
    async def list_apps() -> Response:
        return _json(service.list_apps())

    @router.get("/apps/{name}", response_model=AppSummary, summary="One application")
    async def get_app(name: AppName) -> Response:
        return _json(service.get_app(_checked(name)))

    @router.get("/apps/{name}/diff", response_model=list[DiffEntry], summary="Desired against live")
    async def diff_app(name: AppName) -> list[dict[str, Any]]:
        return await service.diff_app(_checked(name))

    @router.post("/apps/{name}/sync", response_model=Operation, summary="Sync now; returns the operation")
    async def sync_app(name: AppName, body: Annotated[SyncRequest | None, Body()] = None) -> dict[str, Any]:
        request = body or SyncRequest()
        return await service.sync_app(
            _checked(name), revision=request.revision, prune=request.prune, force=request.force
        )

    @router.post("/apps/{name}/refresh", response_model=AppSummary, summary="Fetch and reconcile now")
    async def refresh_app(name: AppName) -> dict[str, Any]:
        return await service.refresh_app(_checked(name))

    @router.get("/apps/{name}/history", response_model=list[HistoryEntry], summary="Deployment history")
    def history(name: AppName) -> list[dict[str, Any]]:
        return service.history(_checked(name))

    @router.post(
        "/apps/{name}/rollback/{history_id}",
        response_model=Operation,
        summary="Sync a past revision and suspend automated sync",
    )
    async def rollback(name: AppName, history_id: Annotated[int, Path(ge=0)]) -> dict[str, Any]:
        return await service.rollback(_checked(name), history_id)

    @router.get("/events", response_model=list[Event], tags=["events"], summary="Recent events")
    def events(
        app: Annotated[str | None, Query(description="only this application's events")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        return service.events(_checked(app) if app is not None else None, limit=limit)

    return router
