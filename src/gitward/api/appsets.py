"""``/api/v1/appsets``: list ApplicationSets, read one, and preview what generating one would do.

Reading needs ``get`` on applications on every project (a set makes apps in any project it
names), as the config's status does. A preview generates the set now (it may fetch its
repositories into gitward's mirrors) and answers the plan; it registers, deletes and records
nothing, so it is a read too.

Deliberately not here: the answers' shapes (``reconcile.service.AppSetService``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from gitward.api.access import Access
from gitward.api.identity import Principal, Resource
from gitward.api.routes import check_name
from gitward.reconcile.service import AppSetService

SetName = Annotated[str, Path(description="ApplicationSet name", max_length=253)]
_EVERY_APP = Resource("applications")


def build_appset_router(service: AppSetService, access: Access) -> APIRouter:
    router = APIRouter(prefix="/api/v1/appsets", tags=["applicationsets"])
    caller_of = Depends(access.caller)

    @router.get("", summary="List ApplicationSets")
    async def list_appsets(caller: Principal = caller_of) -> list[dict[str, Any]]:
        access.authorize(caller, "get", _EVERY_APP)
        return service.list_appsets()

    @router.get("/{name}", summary="One ApplicationSet: what it made, kept and could not make")
    async def get_appset(name: SetName, caller: Principal = caller_of) -> dict[str, Any]:
        access.authorize(caller, "get", _EVERY_APP)
        return service.get_appset(check_name(name))

    @router.post("/{name}/preview", summary="Generate now and say what would change; changes nothing")
    async def preview_appset(name: SetName, caller: Principal = caller_of) -> dict[str, Any]:
        access.authorize(caller, "get", _EVERY_APP)
        return await service.preview_appset(check_name(name))

    return router
