"""Map the engine's error tree onto HTTP status codes, with bodies that are safe to show.

    AppNotFound -> 404    Stalled -> 422    Transient -> 503    Waiting and other GitwardError -> 400
    an invalid request (bad body, path or query) -> 400

Messages of GitwardError are shown as they are: the error tree's contract (core/errors.py) is that
they never hold Secret values. Any other exception is a bug; its text could hold anything, so the
client gets a fixed message and the details go to the server log only.

Deliberately not here: retry hints for Waiting beyond ``Retry-After``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gitward.core.errors import GitwardError, Stalled, Transient, Waiting
from gitward.reconcile.service import AppNotFound

log = logging.getLogger(__name__)


def status_for(error: GitwardError) -> int:
    if isinstance(error, AppNotFound):
        return 404
    if isinstance(error, Stalled):
        return 422
    if isinstance(error, Transient):
        return 503
    return 400


def _body(reason: str, message: str) -> dict[str, str]:
    return {"reason": reason, "message": message}


async def _gitward_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GitwardError)
    headers = {}
    if isinstance(exc, Waiting):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return JSONResponse(_body(exc.reason, exc.message), status_code=status_for(exc), headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse(_body("InternalError", "internal server error"), status_code=500)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    # Only where and what, never the rejected input itself: it may be a credential pasted by mistake.
    assert isinstance(exc, RequestValidationError)
    problems = [
        ".".join(str(part) for part in error.get("loc", ())) + ": " + str(error.get("msg", ""))
        for error in exc.errors()
    ]
    return JSONResponse(_body("BadRequest", "; ".join(problems) or "invalid request"), status_code=400)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(GitwardError, _gitward_error)
    app.add_exception_handler(Exception, _unexpected_error)
