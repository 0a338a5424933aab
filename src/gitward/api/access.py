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
The roles and providers follow the config (``configure``, called by ``server.py`` whenever the
engine's access config changes); an OIDC user's grants are taken from the RoleBindings in force at
each request, so an edited RoleBinding reaches an ID token already verified and a session already
open.
The UI (issue 13) plugs into the same two calls; a new way to sign in is one more branch here, never
a check inside a route.

A failure is a 401 whose message says why without echoing what was sent.

Deliberately not here: the routes (``routes.py``, ``token_routes.py``, ``login_routes.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gitward.api.access_tokens import PREFIX, TokenRegistry
from gitward.api.identity import Forbidden, Grant, Principal, Resource, Unauthenticated
from gitward.api.oidc import OidcVerifier
from gitward.api.roles import RoleBook
from gitward.api.sessions import CSRF_HEADER, SESSION_COOKIE, SessionStore
from gitward.model.access import OIDCProvider

# Documents the bearer scheme in /openapi.json; the header itself is read by ``authenticate``, so a
# missing one gives this module's 401, not FastAPI's 403.
_BEARER = HTTPBearer(auto_error=False, description="The admin token, an API token or an OIDC ID token.")
ADMIN = Principal(name="admin", via="admin-token", grants=(Grant("admin"),))
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The client secret of a provider's web login, read when a login needs it (None: a public client).
ClientSecret = Callable[[OIDCProvider], Awaitable[str | None]]


async def client_secret_file(provider: OIDCProvider) -> str | None:
    """The default reading: ``clientSecretFile`` as written (the engine's ``AccessBook`` resolves
    relative paths and reads Secrets)."""
    path = provider.spec.client_secret_file
    if not path:
        return None
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    return text.strip()


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
        client_secret: ClientSecret = client_secret_file,
    ) -> None:
        if not admin_token:
            raise ValueError("the admin token must not be empty")
        self._admin = admin_token.encode()
        self.tokens = tokens
        self.roles = roles or RoleBook()
        self.oidc = oidc
        self.sessions = sessions or SessionStore()
        self.client_secret = client_secret

    def configure(self, roles: RoleBook, providers: Sequence[OIDCProvider]) -> None:
        """Use these roles and providers from now on. A verifier whose providers did not change is
        kept, with the issuers' keys it has read; its principals get their grants anew (``_regranted``)."""
        self.roles = roles
        if not providers:
            self.oidc = None
        elif self.oidc is not None and self.oidc.providers == list(providers):
            self.oidc.roles = roles
        else:
            self.oidc = OidcVerifier(providers, roles)

    def _regranted(self, principal: Principal) -> Principal:
        """An OIDC user's grants from the RoleBindings in force now (they may have changed since the
        token was verified or the session made)."""
        if principal.via != "oidc":
            return principal
        grants = self.roles.grants_for(principal.name, principal.groups)
        return principal if grants == principal.grants else dataclasses.replace(principal, grants=grants)

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
            return self._regranted(session.principal)
        raise Unauthenticated("missing bearer token")

    async def authenticate_token(self, token: str) -> Principal:
        """The principal of a bearer token of any kind; raises ``Unauthenticated``."""
        if hmac.compare_digest(token.encode(), self._admin):
            return ADMIN
        if token.startswith(PREFIX):
            return self.tokens.verify(token)
        if token.count(".") == 2 and self.oidc is not None:
            return self._regranted(await self.oidc.verify(token))
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
