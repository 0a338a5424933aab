"""``create_app``: the FastAPI application that serves an ``EngineService`` over HTTP.

Routes: ``/api/v1/...`` (see ``routes.py``, ``token_routes.py``, ``login_routes.py``) and ``/metrics``
authenticate their caller and check its roles through ``Access`` (``access.py``); ``/healthz`` and
``/readyz`` do not, so probes work without credentials. ``/api/v1/webhooks/{receiver}`` (see
``webhooks.py``) is authenticated by the receiver's own secret instead. ``/openapi.json``, ``/docs``,
``/api/v1/auth/providers`` and the ``/auth/`` login redirects hold no data, so they are open too.

Given a ``PageRenderer`` (``ui``; ``gitward run`` passes ``gitward.ui.render.JinjaPages``), the same
app serves the web UI: its pages (``pages.py``, ``page_actions.py``, ``page_login.py``) and its
static files under ``/static``. ``GET /api/v1/stream`` (``stream.py``) is served whenever the
service has the engine's views (``reconcile.service.EngineViews``).

Deliberately not here: starting uvicorn and the token file (``server.py``, ``tokens.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, Response
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request

import gitward
from gitward.api.access import Access, install_access
from gitward.api.access_tokens import TokenRegistry
from gitward.api.appsets import build_appset_router
from gitward.api.errors import install_error_handlers
from gitward.api.identity import Principal, Resource
from gitward.api.login_routes import build_login_router
from gitward.api.metrics import install_request_counter, metrics_response
from gitward.api.models import Probe
from gitward.api.page_actions import build_page_action_router
from gitward.api.page_errors import install_page_errors
from gitward.api.page_login import build_page_login_router
from gitward.api.pages import build_page_router
from gitward.api.pageseam import PageRenderer
from gitward.api.routes import build_router
from gitward.api.stream import build_stream_router
from gitward.api.token_routes import build_token_router
from gitward.api.webhooks import build_webhook_router
from gitward.core.errors import GitwardError
from gitward.reconcile.service import AppSetService, EngineService, EngineViews


def _always_ready() -> bool:
    return True


_REASONS = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 503: "Unavailable"}


def create_app(
    service: EngineService,
    *,
    token: str | None = None,
    access: Access | None = None,
    ready: Callable[[], bool] = _always_ready,
    ui: PageRenderer | None = None,
) -> FastAPI:
    """Build the API for ``service``; ``ready`` backs ``/readyz`` (e.g. caches synced). ``access``
    decides who may do what; given only ``token``, that admin token is the one credential."""
    if access is None:
        if not token:
            raise ValueError("the API token must not be empty")
        access = Access(admin_token=token, tokens=TokenRegistry(None))
    checked = access
    app = FastAPI(
        title="gitward",
        version=gitward.__version__,
        description="GitOps continuous delivery: applications, diffs, syncs, history and events.",
    )
    install_error_handlers(app)
    install_access(app)
    install_request_counter(app)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # Same body shape as engine errors, so clients parse one format.
        reason = _REASONS.get(exc.status_code, "BadRequest")
        return JSONResponse(
            {"reason": reason, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.get("/healthz", response_model=Probe, tags=["probes"], summary="Liveness")
    def healthz() -> Probe:
        return Probe(status="ok")

    @app.get(
        "/readyz",
        response_model=Probe,
        tags=["probes"],
        summary="Readiness",
        responses={503: {"model": Probe}},
    )
    def readyz(response: Response) -> Probe:
        if ready():
            return Probe(status="ready")
        response.status_code = 503
        return Probe(status="not ready")

    @app.get("/metrics", tags=["metrics"], summary="Prometheus metrics", response_class=Response)
    async def metrics(caller: Principal = Depends(checked.caller)) -> Response:  # noqa: B008
        # async: collected on the event loop, never while the engine's counters change underneath
        checked.authorize(caller, "get", Resource("metrics"))
        return metrics_response()

    app.include_router(build_router(service, access))
    app.include_router(build_token_router(access))
    app.include_router(build_login_router(access))
    # Webhooks authenticate with their receiver's secret (HMAC or token), not the bearer token.
    app.include_router(build_webhook_router(service))
    if isinstance(service, AppSetService):
        app.include_router(build_appset_router(service, access))
    if isinstance(service, EngineViews):
        app.include_router(build_stream_router(service.feed, access, _project_lookup(service)))
    if ui is not None:
        app.include_router(build_page_login_router(access, ui))
        app.include_router(build_page_router(service, access, ui))
        app.include_router(build_page_action_router(service, access, ui))
        app.mount("/static", StaticFiles(directory=str(ui.static_dir)), name="static")
        install_page_errors(app, ui)
    return app


def _project_lookup(service: EngineService) -> Callable[[str], str | None]:
    def project_of(name: str) -> str | None:
        try:
            return str(service.get_app(name).get("project") or "") or None
        except GitwardError:
            return None

    return project_of
