"""Errors on the web UI's pages as pages: the JSON API keeps its JSON bodies.

A browser that asks for a page and is refused (401, 403), sends a bad request or meets an engine
error sees the same message the API would give, on a page with the way back; a browser without a
session is sent to the login form. Requests under ``/api/``, ``/auth/``, ``/metrics`` and the probes
get the API's own handlers, unchanged.

Deliberately not here: what the messages say (the error tree and ``Access`` decide; messages never
hold Secret values, core/errors.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import Response

from gitward.api.errors import status_for
from gitward.api.identity import Forbidden, Unauthenticated
from gitward.api.pageseam import LoginNeeded, PageRenderer, html, login_redirect
from gitward.core.errors import GitwardError

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]
PAGE_PREFIXES = ("/apps", "/clusters", "/repositories", "/login", "/logout")


def is_page(request: Request) -> bool:
    path = request.url.path
    return path == "/" or any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def _describe(request: Request, exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, Unauthenticated):
        return 401, "Not signed in", exc.message
    if isinstance(exc, Forbidden):
        return 403, "Not allowed", exc.message
    if isinstance(exc, GitwardError):
        return status_for(exc), exc.reason, exc.message
    if isinstance(exc, HTTPException):
        return exc.status_code, "Error", str(exc.detail)
    if isinstance(exc, RequestValidationError):
        return 400, "Bad request", "the request's parameters are not valid"
    log.error("unhandled error on page %s: %s", request.url.path, type(exc).__name__)
    return 500, "Internal error", "internal server error"


def install_page_errors(app: FastAPI, renderer: PageRenderer) -> None:
    """Wrap the API's handlers so page requests get pages; call after every other handler."""

    async def login_needed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginNeeded)
        return login_redirect(exc.next_path)

    app.add_exception_handler(LoginNeeded, login_needed)
    for kind in (Unauthenticated, Forbidden, GitwardError, HTTPException, RequestValidationError, Exception):
        api_handler = app.exception_handlers.get(kind)
        if api_handler is None:
            continue
        app.add_exception_handler(kind, _wrapped(api_handler, renderer))


def _wrapped(api_handler: Handler, renderer: PageRenderer) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            answer = api_handler(request, exc)
            return await answer if not isinstance(answer, Response) else answer
        status, title, message = _describe(request, exc)
        context = {"status": status, "title": title, "message": message, "user": None, "csrf": ""}
        return html(renderer, "error.html", context, status=status)

    return handler
