"""``create_app``: the FastAPI application that serves an ``EngineService`` over HTTP.

Routes: ``/api/v1/...`` (see ``routes.py``) and ``/metrics`` need the bearer token; ``/healthz`` and
``/readyz`` do not, so probes work without credentials. ``/api/v1/webhooks/{receiver}`` (see
``webhooks.py``) is authenticated by the receiver's own secret instead. ``/openapi.json`` and
``/docs`` describe the API and hold no data, so they are open too.

Deliberately not here: starting uvicorn and the token file (``server.py``, ``tokens.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, FastAPI, Response
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse
from starlette.requests import Request

import gitward
from gitward.api.auth import require_token
from gitward.api.errors import install_error_handlers
from gitward.api.metrics import install_request_counter, metrics_response
from gitward.api.models import Probe
from gitward.api.routes import build_router
from gitward.api.webhooks import build_webhook_router
from gitward.reconcile.service import EngineService


def _always_ready() -> bool:
    return True


def create_app(service: EngineService, *, token: str, ready: Callable[[], bool] = _always_ready) -> FastAPI:
    """Build the API for ``service``; ``ready`` backs ``/readyz`` (e.g. caches synced)."""
    authenticated = [Depends(require_token(token))]
    app = FastAPI(
        title="gitward",
        version=gitward.__version__,
        description="GitOps continuous delivery: applications, diffs, syncs, history and events.",
    )
    install_error_handlers(app)
    install_request_counter(app)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # Same body shape as engine errors, so clients parse one format.
        reason = "Unauthorized" if exc.status_code == 401 else "BadRequest"
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

    @app.get(
        "/metrics",
        dependencies=authenticated,
        tags=["metrics"],
        summary="Prometheus metrics",
        response_class=Response,
    )
    async def metrics() -> Response:
        # async: collected on the event loop, never while the engine's counters change underneath
        return metrics_response()

    app.include_router(build_router(service), dependencies=authenticated)
    # Webhooks authenticate with their receiver's secret (HMAC or token), not the bearer token.
    app.include_router(build_webhook_router(service))
    return app
