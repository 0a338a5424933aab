"""Bearer-token authentication for every route except the health probes.

The token is compared with ``hmac.compare_digest`` so the time a wrong guess takes does not reveal
how much of it was right. A failed check answers 401 with ``WWW-Authenticate: Bearer`` and never
echoes what the client sent.

Deliberately not here: per-project roles (deployer, viewer); today the one token is the admin.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

# auto_error=False: a missing header must give the same 401 as a wrong token, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="The admin token from the server's token file.")


def require_token(token: str) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    """A dependency that lets a request through only with ``Authorization: Bearer <token>``."""
    if not token:
        raise ValueError("the API token must not be empty")
    expected = token.encode()

    def check(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:  # noqa: B008
        given = credentials.credentials.encode() if credentials is not None else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="missing or invalid bearer token",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return check
