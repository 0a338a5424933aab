"""What the HTML pages share: the ``PageRenderer`` seam to ``ui/``, the page caller, forms, headers.

``ui/`` renders templates and owns the static files; it does not import ``api/`` and ``api/`` does
not import it (siblings of docs/architecture.md, layers): ``create_app`` takes any ``PageRenderer`` and
``gitward run`` passes ``gitward.ui.render.JinjaPages``.

Pages authenticate through the same ``Access`` as the JSON API (bearer tokens for scripts, the
session cookie for browsers). A browser without a session is sent to ``/login``; a script with a bad
token gets 401. Writes from pages take the session's CSRF token from the ``X-Gitward-CSRF`` header
(the script layer) or the ``csrf`` form field (plain HTML forms): the cookie alone, which a browser
attaches to another site's request, never writes.

Every page answer carries a strict Content-Security-Policy (scripts and styles only from
``/static``, no inline code, no framing, forms only to this server) and is not cached, since it
shows the caller's data.

Deliberately not here: the routes (``pages.py``, ``page_actions.py``, ``page_login.py``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gitward.api.access import Access
from gitward.api.identity import Principal, Resource, Unauthenticated
from gitward.api.sessions import SESSION_COOKIE

MAX_FORM_BYTES = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class PageRenderer(Protocol):
    """The web UI's half (``gitward.ui.render.JinjaPages``)."""

    @property
    def static_dir(self) -> Path: ...

    def render(self, template: str, context: Mapping[str, Any]) -> str: ...


class LoginNeeded(Exception):
    """A browser without a (valid) session asked for a page: send it to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def local_path(value: str) -> str:
    """``value`` when it is a path on this server, else ``/``: login never redirects elsewhere."""
    ok = value.startswith("/") and not value.startswith("//") and "\\" not in value
    return value if ok else "/"


def login_redirect(next_path: str) -> RedirectResponse:
    query = urllib.parse.urlencode({"next": local_path(next_path)})
    return RedirectResponse(f"/login?{query}", status_code=303)


def _next_of(request: Request) -> str:
    path = request.url.path
    return f"{path}?{request.url.query}" if request.url.query else path


async def page_caller(access: Access, request: Request, *, csrf: str | None = None) -> Principal:
    """The caller of a page request; raises ``LoginNeeded`` for a browser without a credential and
    ``Unauthenticated`` for a bad bearer token or a write without the CSRF token."""
    if "authorization" not in request.headers:
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id or access.sessions.get(session_id) is None:
            raise LoginNeeded(_next_of(request))  # none, ended or expired: sign in (again)
    return await access.authenticate(request, csrf=csrf)


def session_csrf(access: Access, request: Request) -> str:
    """The CSRF token of the request's session ("" for bearer callers: they need none)."""
    if "authorization" in request.headers:
        return ""
    session = access.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
    return session.csrf if session else ""


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the only kind the pages send), capped."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Unauthenticated("form too large")
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return dict(pairs)


def html(renderer: PageRenderer, template: str, context: Mapping[str, Any], *, status: int = 200) -> Response:
    return HTMLResponse(renderer.render(template, context), status_code=status, headers=HEADERS)


def identity(access: Access, caller: Principal) -> dict[str, Any]:
    """The caller as the page header shows it, and whether the global nav applies."""
    roles = ", ".join(g.describe() for g in caller.grants) or "no role"
    return {
        "name": caller.name,
        "roles": roles,
        "via": caller.via,
        "sees_clusters": access.allows(caller, "get", Resource("clusters")),
        "sees_repositories": access.allows(caller, "get", Resource("repositories")),
    }


def readable_projects(access: Access, caller: Principal) -> frozenset[str] | None:
    """The projects whose apps the caller may read; None when it may read every project's."""
    if access.allows(caller, "get", Resource("applications")):
        return None
    return frozenset(g.project for g in caller.grants if g.project is not None)
