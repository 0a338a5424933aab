"""Login sessions of the web UI: a random cookie standing for a principal until it expires.

``/auth/callback`` (``login_routes.py``) creates one after an OIDC login; ``Access.authenticate``
finds it by the ``gitward_session`` cookie. Each session has its own CSRF token, which the UI sends
back in the ``X-Gitward-CSRF`` header on every write: the cookie alone, which a browser attaches to a
request another site makes, never authorizes a write.

Sessions live in memory: a restart signs everyone out, which costs a login and keeps no session
secret on disk. A session never outlives the ID token it was made from.

Deliberately not here: the cookie's attributes (set by the login route: HttpOnly, SameSite=Lax,
Secure under TLS) and any persistence.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gitward.api.identity import Principal

SESSION_COOKIE = "gitward_session"
CSRF_HEADER = "X-Gitward-CSRF"
DEFAULT_TTL = 12 * 3600.0
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    principal: Principal
    expires_at: float


class SessionStore:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def create(self, principal: Principal, *, ttl: float = DEFAULT_TTL) -> Session:
        now = self._clock()
        expires = now + ttl
        if principal.expires_at is not None:
            expires = min(expires, principal.expires_at)
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(24), principal, expires)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._drop_expired(now)
            if len(self._sessions) >= MAX_SESSIONS:  # still full: the oldest goes
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if self._clock() >= session.expires_at:
            self.drop(session_id)
            return None
        return session

    def seconds_left(self, session: Session) -> float:
        """How long ``session`` has to live, by this store's clock (the cookie's Max-Age)."""
        return max(0.0, session.expires_at - self._clock())

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]
