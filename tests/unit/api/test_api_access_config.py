"""The API's access follows the engine's access config: roles, RoleBindings and providers change
without a restart, for ID tokens already verified and sessions already open too.

Tokens are signed with real keys by the issuer of ``test_api_oidc`` (no network); Dex itself and the
cluster's custom resources are exercised end to end in ``tests/e2e/test_gitward_from_cluster_access.py``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from tests.unit.api.test_api_oidc import ISSUER, Issuer

from gitward.api.access import Access
from gitward.api.access_tokens import TokenRegistry
from gitward.api.identity import Grant, Principal, Unauthenticated
from gitward.api.oidc import OidcVerifier
from gitward.api.server import follow_access
from gitward.model import load_objects
from gitward.reconcile.accessbook import AccessBook

API = "gitward.dev/v1alpha1"


def _documents(role: str, *, provider: bool = True) -> list[dict[str, Any]]:
    binding = {
        "apiVersion": API,
        "kind": "RoleBinding",
        "metadata": {"name": "alice"},
        "spec": {"role": role, "project": "web", "users": ["alice@example.com"]},
    }
    sso = {
        "apiVersion": API,
        "kind": "OIDCProvider",
        "metadata": {"name": "sso"},
        "spec": {"issuer": ISSUER, "clientID": "gitward", "cliClientID": "gitward-cli"},
    }
    return [binding, sso] if provider else [binding]


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


def _access(issuer: Issuer, book: AccessBook) -> Access:
    access = Access(admin_token="admin-token-0123456789", tokens=TokenRegistry(None))
    follow_access(access, book)
    if access.oidc is not None:  # the issuer's documents without a network
        access.oidc = OidcVerifier(access.oidc.providers, access.roles, fetch=issuer.fetch)
    return access


async def test_an_edited_role_binding_changes_a_verified_tokens_grants(issuer: Issuer) -> None:
    book = AccessBook(config_path=Path("/nowhere"))
    book.configure(load_objects(_documents("viewer")))
    access = _access(issuer, book)
    token = issuer.token()
    assert (await access.authenticate_token(token)).grants == (Grant("viewer", "web"),)
    verifier, fetches = access.oidc, issuer.fetches

    book.configure(load_objects(_documents("deployer")))
    assert (await access.authenticate_token(token)).grants == (Grant("deployer", "web"),)
    assert access.oidc is verifier  # same providers: the verifier and its keys are kept
    assert issuer.fetches == fetches

    book.configure(load_objects(_documents("deployer", provider=False)))
    assert access.oidc is None
    with pytest.raises(Unauthenticated):
        await access.authenticate_token(token)


def test_an_open_session_gets_the_grants_in_force_at_each_request(issuer: Issuer) -> None:
    book = AccessBook(config_path=Path("/nowhere"))
    book.configure(load_objects(_documents("viewer")))
    access = _access(issuer, book)
    assert access.oidc is not None
    provider = access.oidc.providers[0]
    claims = {"sub": "u1", "email": "alice@example.com", "exp": time.time() + 600}
    session = access.sessions.create(access.oidc.principal(provider, claims))
    app = FastAPI()

    @app.get("/grants")
    async def grants(caller: Principal = Depends(access.caller)) -> list[str]:  # noqa: B008
        return [g.describe() for g in caller.grants]

    with TestClient(app, cookies={"gitward_session": session.id}) as web:
        assert web.get("/grants").json() == ["viewer on project 'web'"]
        book.configure(load_objects(_documents("deployer")))
        assert web.get("/grants").json() == ["deployer on project 'web'"]
