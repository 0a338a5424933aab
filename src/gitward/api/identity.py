"""Who is calling: the ``Principal`` every request is made as, and the two errors of the identity seam.

The API has one seam for identity (see ``access.py``): ``authenticate(request) -> Principal`` turns
whatever credential a request carries (the admin token, an API token, an OIDC ID token, a session
cookie of the web UI) into a ``Principal``, and ``authorize(principal, action, resource)`` either
returns or raises ``Forbidden``. Routes see only these values, never a credential, so every way of
signing in gets the same checks and the same audit name.

A principal's ``name`` is what history and events record as the initiator of a write; it never holds
a secret (tokens are named by their id and name, OIDC users by their username claim).

Deliberately not here: how credentials are checked (``access.py``, ``access_tokens.py``, ``oidc.py``)
and what roles allow (``roles.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    """One role, on every project (``project`` None) or on one project."""

    role: str
    project: str | None = None

    def describe(self) -> str:
        return f"{self.role} on {'every project' if self.project is None else f'project {self.project!r}'}"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``via``: admin-token | token | oidc | session."""

    name: str
    via: str
    grants: tuple[Grant, ...] = ()
    groups: tuple[str, ...] = ()
    token_id: str | None = None
    expires_at: float | None = None  # when the credential stops being valid, if it does

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "via": self.via,
            "groups": list(self.groups),
            "grants": [{"role": g.role, "project": g.project} for g in self.grants],
            "tokenId": self.token_id,
            "expiresAt": self.expires_at,
        }


@dataclass(frozen=True)
class Resource:
    """What an action is on: ``kind`` is a resource of ``model.access.RESOURCES`` (or ``tokens``,
    ``metrics``); ``project`` is the project it belongs to, None for server-wide things."""

    kind: str
    name: str = ""
    project: str | None = None


class Unauthenticated(Exception):
    """No credential, or one that is unknown, revoked, expired or badly signed: HTTP 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forbidden(Exception):
    """The principal is known but its roles do not allow the action: HTTP 403, naming what is missing."""

    def __init__(self, message: str, *, action: str, resource: Resource) -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.resource = resource
