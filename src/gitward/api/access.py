"""The identity seam: ``Access.authenticate(request) -> Principal`` and ``Access.authorize(...)``.

Every credential a request may carry ends here, checked in this order:

    Authorization: Bearer <admin token>     the token file's token: admin on every project
    Authorization: Bearer gwt_<id>_<secret> an API token: its own role and project (access_tokens.py)
    Authorization: Bearer <JWT>             an OIDC ID token: grants from RoleBindings (oidc.py)
    Cookie: gitward_session=<id>            a web login session (sessions.py); a write also needs the
                                            session's ``X-Gitward-CSRF`` header, so another site's page
                                            cannot make a logged-in browser write

``authorize`` is ``RoleBook.authorize``: routes call it once per request with the action and the
resource, and a refusal becomes 403 with the message naming what is missing (``install_access``).
The UI (issue 13) plugs into the same two calls; a new way to sign in is one more branch here, never
a check inside a route.

A failure is a 401 whose message says why without echoing what was sent.

Deliberately not here: the routes (``routes.py``, ``token_routes.py``, ``login_routes.py``).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gitward.api.access_tokens import PREFIX, TokenRegistry
from gitward.api.identity import Forbidden, Grant, Principal, Resource, Unauthenticated
from gitward.api.oidc import OidcVerifier
from gitward.api.roles import RoleBook
from gitward.api.sessions import CSRF_HEADER, SESSION_COOKIE, SessionStore

# Documents the bearer scheme in /openapi.json; the header itself is read by ``authenticate``, so a
# missing one gives this module's 401, not FastAPI's 403.
_BEARER = HTTPBearer(auto_error=False, description="The admin token, an API token or an OIDC ID token.")
ADMIN = Principal(name="admin", via="admin-token", grants=(Grant("admin"),))
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return value.strip()


class Access:
    """Authentication and authorization for every route; one per server."""

    def __init__(
        self,
        *,
        admin_token: str,
        tokens: TokenRegistry,
        roles: RoleBook | None = None,
        oidc: OidcVerifier | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        if not admin_token:
            raise ValueError("the admin token must not be empty")
        self._admin = admin_token.encode()
        self.tokens = tokens
        self.roles = roles or RoleBook()
        self.oidc = oidc
        self.sessions = sessions or SessionStore()

    async def authenticate(self, request: Request, *, csrf: str | None = None) -> Principal:
        """The caller of ``request``; raises ``Unauthenticated``. ``csrf``: the session's CSRF token
        as a plain HTML form sends it (a form cannot set headers); the header wins when both come."""
        token = _bearer(request)
        if token is not None:
            return await self.authenticate_token(token)
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            session = self.sessions.get(session_id)
            if session is None:
                raise Unauthenticated("the login session has ended; sign in again")
            sent = request.headers.get(CSRF_HEADER) or csrf or ""
            if request.method not in _SAFE_METHODS and not hmac.compare_digest(
                sent.encode(), session.csrf.encode()
            ):
                raise Unauthenticated(f"a write through a login session needs the {CSRF_HEADER} header")
            return session.principal
        raise Unauthenticated("missing bearer token")

    async def authenticate_token(self, token: str) -> Principal:
        """The principal of a bearer token of any kind; raises ``Unauthenticated``."""
        if hmac.compare_digest(token.encode(), self._admin):
            return ADMIN
        if token.startswith(PREFIX):
            return self.tokens.verify(token)
        if token.count(".") == 2 and self.oidc is not None:
            return await self.oidc.verify(token)
        raise Unauthenticated("missing or invalid bearer token")

    def authorize(self, principal: Principal, action: str, resource: Resource) -> None:
        """Return when allowed; raise ``Forbidden`` naming the missing permission otherwise."""
        self.roles.authorize(principal, action, resource)

    def allows(self, principal: Principal, action: str, resource: Resource) -> bool:
        return self.roles.allows(principal, action, resource)

    @property
    def caller(self) -> Callable[[Request], Awaitable[Principal]]:
        """A FastAPI dependency giving the route its principal (a plain function: FastAPI resolves a
        function's annotations, not those of an instance's ``__call__``)."""

        async def principal(
            request: Request,
            _documented: HTTPAuthorizationCredentials | None = Depends(_BEARER),  # noqa: B008
        ) -> Principal:
            return await self.authenticate(request)

        return principal


def _unauthenticated(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    return JSONResponse(
        {"reason": "Unauthorized", "message": exc.message},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _forbidden(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    return JSONResponse({"reason": "Forbidden", "message": exc.message}, status_code=403)


def install_access(app: FastAPI) -> None:
    """Map the seam's two errors to 401 and 403 with the API's error body."""
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(Forbidden, _forbidden)
