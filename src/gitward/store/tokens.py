"""``TokenStore``: the API tokens in the state database (table ``api_tokens``, migration 3).

Rows hold a token's public id, name, role, project, who created it and when, its expiry and its
revocation, and the SHA-256 of its secret -- never the secret: a copy of the database (a backup, a
support bundle) lets nobody call the API. Revoking keeps the row so ``gitward token list`` still
shows what existed and who made it.

It opens its own engine on the state file (SQLite allows several connections; WAL keeps readers off
the writer's back) because the tokens belong to the API, not to the engine's ``Store``.

Deliberately not here: making or checking tokens (``api/access_tokens.py``), and any secret in an
error message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update

from gitward.store.database import WRITE_OPTION, create_store_engine
from gitward.store.schema import api_tokens, migrate


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    role: str
    project: str | None
    secret_sha256: str
    created_at: float
    created_by: str
    expires_at: float | None = None
    revoked_at: float | None = None

    def public(self) -> dict[str, Any]:
        """What ``token list`` shows: everything but the hash."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "project": self.project,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "expiresAt": self.expires_at,
            "revokedAt": self.revoked_at,
        }


def _record(row: Row[Any]) -> TokenRecord:
    m = row._mapping
    return TokenRecord(
        id=m["id"],
        name=m["name"],
        role=m["role"],
        project=m["project"] or None,
        secret_sha256=m["secret_sha256"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
    )


class TokenStore:
    """Reads and writes ``api_tokens``; each call is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @classmethod
    def open(cls, path_or_url: str | Path) -> TokenStore:
        """Open the state database (migrating it, as ``Store.open`` does)."""
        engine = create_store_engine(path_or_url)
        try:
            with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
                migrate(conn)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    def add(self, record: TokenRecord) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                insert(api_tokens).values(
                    id=record.id,
                    name=record.name,
                    role=record.role,
                    project=record.project or "",
                    secret_sha256=record.secret_sha256,
                    created_at=record.created_at,
                    created_by=record.created_by,
                    expires_at=record.expires_at,
                    revoked_at=record.revoked_at,
                )
            )

    def revoke(self, token_id: str, *, at: float) -> bool:
        """Mark a token revoked; False when there is no such token or it was revoked already."""
        with self._writer.begin() as conn:
            result = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            return result.rowcount > 0

    def all(self) -> list[TokenRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id))
            return [_record(row) for row in rows]
