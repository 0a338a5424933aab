"""``/api/v1/tokens``: create, list and revoke API tokens -- a global admin's job.

``POST`` answers the new token once, in the response body, and never again: the server keeps only its
hash. ``GET`` lists every token without any secret (id, name, role, project, creator, expiry,
revocation). ``DELETE /tokens/{id}`` revokes: the next request with that token gets 401.

A token's role must exist when it is made (built-in or a ``Role`` of the config) and its project must
be a valid name; the project need not exist yet (a token for a team's future project is fine, and it
grants nothing outside that project either way).

Deliberately not here: checking tokens on requests (``access.py``) and their storage (``store/tokens``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from gitward.api.access import Access
from gitward.api.identity import Principal, Resource

MAX_EXPIRY_SECONDS = 10 * 365 * 86400.0
_TOKENS = Resource("tokens")


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    role: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    project: str | None = Field(
        None, min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    )
    expiresIn: float | None = Field(
        None, gt=0, le=MAX_EXPIRY_SECONDS, description="seconds until the token expires; none: never"
    )


class TokenInfo(BaseModel):
    id: str
    name: str
    role: str
    project: str | None = None
    createdAt: float
    createdBy: str
    expiresAt: float | None = None
    revokedAt: float | None = None


class CreatedToken(TokenInfo):
    token: str = Field(description="the token itself: shown this once, stored only as a hash")


def build_token_router(access: Access) -> APIRouter:
    router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])
    caller_of = Depends(access.caller)

    @router.post("", status_code=201, response_model=CreatedToken, summary="Create an API token")
    def create(body: TokenRequest, caller: Principal = caller_of) -> dict[str, Any]:
        access.authorize(caller, "create", _TOKENS)
        if not access.roles.knows(body.role):
            known = ", ".join(sorted(access.roles.roles))
            raise HTTPException(400, detail=f"role {body.role!r} is not defined (known: {known})")
        token, record = access.tokens.create(
            name=body.name,
            role=body.role,
            project=body.project,
            expires_in=body.expiresIn,
            created_by=caller.name,
        )
        return {**record.public(), "token": token}

    @router.get("", response_model=list[TokenInfo], summary="List API tokens (no secrets)")
    def list_tokens(caller: Principal = caller_of) -> list[dict[str, Any]]:
        access.authorize(caller, "get", _TOKENS)
        return [r.public() for r in access.tokens.records()]

    @router.delete("/{token_id}", response_model=TokenInfo, summary="Revoke an API token")
    def revoke(
        token_id: Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]+$")], caller: Principal = caller_of
    ) -> dict[str, Any]:
        access.authorize(caller, "delete", _TOKENS)
        record = access.tokens.revoke(token_id)
        if record is None:
            raise HTTPException(404, detail=f"no live API token {token_id}")
        return record.public()

    return router
