"""API tokens: made once, shown once, kept hashed, checked on every request, revocable, expiring.

A token reads ``gwt_<id>_<secret>``: ``id`` (12 hex digits) is public -- ``token list`` shows it and
``token revoke`` takes it -- and ``secret`` is 32 random bytes (``secrets.token_urlsafe``). Only the
SHA-256 of the secret is stored: a fast hash is enough because the secret has 256 bits of entropy (no
dictionary to try), and it keeps the check cheap on every request. The stored hash is compared with
``hmac.compare_digest`` so the time a wrong guess takes tells nothing about the right one.

The registry keeps every token in memory, loaded from the state database at start, and every change
goes through it (database first, then memory): this server is the only writer, so a token created or
revoked through the API is valid or refused on the very next request, and the check itself reads no
database.

A refusal says "unknown token" for anything that does not match a stored hash, and says "revoked" or
"expired" only to a caller who proved they hold the secret.

Deliberately not here: which roles exist (``roles.py``) and the HTTP routes (``token_routes.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

from gitward.api.identity import Grant, Principal, Unauthenticated
from gitward.store.tokens import TokenRecord, TokenStore

PREFIX = "gwt_"
_UNKNOWN = "unknown API token"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed API token, else None."""
    if not token.startswith(PREFIX):
        return None
    token_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(token_id) != 12 or not secret:
        return None
    return token_id, secret


def principal_of(record: TokenRecord) -> Principal:
    return Principal(
        name=f"token:{record.name}",
        via="token",
        grants=(Grant(record.role, record.project),),
        token_id=record.id,
        expires_at=record.expires_at,
    )


class TokenRegistry:
    """Every API token, by id; ``store`` None keeps them in memory only (tests, ``--state`` URLs)."""

    def __init__(self, store: TokenStore | None, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._by_id: dict[str, TokenRecord] = {r.id: r for r in store.all()} if store else {}

    def create(
        self, *, name: str, role: str, project: str | None, expires_in: float | None, created_by: str
    ) -> tuple[str, TokenRecord]:
        """A new token and its record; the token string exists only in the return value."""
        now = self._clock()
        secret = secrets.token_urlsafe(32)
        with self._lock:
            token_id = secrets.token_hex(6)
            while token_id in self._by_id:
                token_id = secrets.token_hex(6)
            record = TokenRecord(
                id=token_id,
                name=name,
                role=role,
                project=project,
                secret_sha256=_digest(secret),
                created_at=now,
                created_by=created_by,
                expires_at=None if expires_in is None else now + expires_in,
            )
            if self._store is not None:
                self._store.add(record)
            self._by_id[token_id] = record
        return f"{PREFIX}{token_id}_{secret}", record

    def revoke(self, token_id: str) -> TokenRecord | None:
        """The revoked record; None when no such token is live."""
        now = self._clock()
        with self._lock:
            record = self._by_id.get(token_id)
            if record is None or record.revoked_at is not None:
                return None
            if self._store is not None:
                self._store.revoke(token_id, at=now)
            revoked = TokenRecord(**{**record.__dict__, "revoked_at": now})
            self._by_id[token_id] = revoked
        return revoked

    def records(self) -> list[TokenRecord]:
        return sorted(self._by_id.values(), key=lambda r: (r.created_at, r.id))

    def verify(self, token: str) -> Principal:
        """The principal a presented token stands for; raises ``Unauthenticated``."""
        parts = split_token(token)
        record = self._by_id.get(parts[0]) if parts else None
        if parts is None or record is None:
            raise Unauthenticated(_UNKNOWN)
        if not hmac.compare_digest(_digest(parts[1]), record.secret_sha256):
            raise Unauthenticated(_UNKNOWN)
        if record.revoked_at is not None:
            raise Unauthenticated(f"API token {record.id} was revoked")
        if record.expires_at is not None and self._clock() >= record.expires_at:
            raise Unauthenticated(f"API token {record.id} has expired")
        return principal_of(record)
