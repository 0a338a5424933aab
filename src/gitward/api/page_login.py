"""Signing in to the web UI with a token, and signing out.

    GET  /login    the form (a token field; a link per OIDCProvider to ``/auth/login``)
    POST /login    field ``token``: any bearer credential the API takes (the admin token, an API
                   token, an OIDC ID token) becomes a session, exactly as ``/auth/callback`` makes
                   one after an OIDC login: cookie ``gitward_session`` (HttpOnly) and
                   ``gitward_csrf`` (read by the page's script, sent back as X-Gitward-CSRF), both
                   SameSite=Lax and Secure under TLS, living as long as the session
    POST /logout   ends the session (needs its CSRF token like every write)

The token is checked by ``Access.authenticate_token``, the one seam every credential goes through,
so a revoked or expired token is refused here too and a session never outlives its token. A login
posted from another site's page is refused (``Origin``), so no page can sign a visitor in as
someone else.

Deliberately not here: the OIDC redirects (``login_routes.py``) and the session store.
"""

from __future__ import annotations

import urllib.parse
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from gitward.api.access import Access
from gitward.api.identity import Unauthenticated
from gitward.api.login_routes import CSRF_COOKIE
from gitward.api.pageseam import PageRenderer, html, local_path, read_form
from gitward.api.sessions import DEFAULT_TTL, SESSION_COOKIE, Session

MAX_TOKEN = 8192


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from a page of another origin."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    parsed = urllib.parse.urlsplit(origin)
    return (parsed.scheme, parsed.netloc) == (request.url.scheme, request.headers.get("host", ""))


def set_session_cookies(answer: Response, session: Session, *, seconds: float, secure: bool) -> None:
    max_age = max(1, int(seconds))
    common: dict[str, Any] = {"samesite": "lax", "secure": secure, "max_age": max_age, "path": "/"}
    answer.set_cookie(SESSION_COOKIE, session.id, httponly=True, **common)
    answer.set_cookie(CSRF_COOKIE, session.csrf, httponly=False, **common)


def clear_session_cookies(answer: Response) -> None:
    answer.delete_cookie(SESSION_COOKIE, path="/")
    answer.delete_cookie(CSRF_COOKIE, path="/")


def build_page_login_router(access: Access, renderer: PageRenderer, *, ttl: float = DEFAULT_TTL) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def providers() -> list[str]:
        return [p.name for p in access.oidc.providers] if access.oidc else []

    def form(next_path: str, error: str = "", status: int = 200) -> Response:
        context = {"next": local_path(next_path), "error": error, "providers": providers(), "user": None}
        return html(renderer, "login.html", context, status=status)

    @router.get("/login")
    def login_form(next_path: Annotated[str, Query(alias="next", max_length=2048)] = "/apps") -> Response:
        return form(next_path)

    @router.post("/login")
    async def login(request: Request) -> Response:
        fields = await read_form(request)
        next_path = local_path(fields.get("next", "/apps"))
        if not same_origin(request):
            return form(next_path, "this login did not come from gitward's own page", status=403)
        token = fields.get("token", "").strip()
        if not token or len(token) > MAX_TOKEN:
            return form(next_path, "enter a token", status=400)
        try:
            principal = await access.authenticate_token(token)
        except Unauthenticated as err:
            return form(next_path, err.message, status=401)
        session = access.sessions.create(principal, ttl=ttl)
        answer = RedirectResponse(next_path, status_code=303)
        seconds = access.sessions.seconds_left(session)
        set_session_cookies(answer, session, seconds=seconds, secure=request.url.scheme == "https")
        return answer

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        fields = await read_form(request)
        await access.authenticate(request, csrf=fields.get("csrf"))  # a cross-site logout is refused
        access.sessions.drop(request.cookies.get(SESSION_COOKIE, ""))
        answer = RedirectResponse("/login?next=/apps", status_code=303)
        clear_session_cookies(answer)
        return answer

    return router
