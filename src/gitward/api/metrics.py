"""``/metrics``: the default Prometheus registry in the text format, plus the API's own counters.

The engine registers its metrics (syncs, reconcile durations, queue depth) in the default registry
wherever it measures them; this module only exposes them and counts HTTP requests. Request labels use
the route template (``/api/v1/apps/{name}``), never the concrete path, so app names cannot blow up
the number of series.

Deliberately not here: any label holding user input or secret material.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

REQUESTS = Counter(
    "gitward_api_requests_total",
    "HTTP requests served by the gitward API, by method, route template and status code.",
    ["method", "route", "status"],
)


def metrics_response() -> Response:
    return Response(content=generate_latest(), media_type=CONTENT_TYPE_LATEST)


def install_request_counter(app: FastAPI) -> None:
    @app.middleware("http")
    async def count_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        REQUESTS.labels(request.method, template, str(response.status_code)).inc()
        return response
