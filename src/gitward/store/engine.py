"""Turn a path or URL into one SQLAlchemy engine, tuned for many short transactions.

SQLite (the default) runs in WAL mode with ``synchronous=NORMAL``: readers never block the writer
and a commit costs no fsync of the main file, which keeps each store call fast enough to be made
from the event loop. Write transactions start with ``BEGIN IMMEDIATE`` so two processes sharing one
file wait for the write lock up front (honouring the busy timeout) instead of failing half-way
through a transaction that began as a read.

Any other URL (``postgresql+psycopg://...``) is handed to SQLAlchemy unchanged; no SQLite pragma or
statement is sent to another dialect. Not here: the schema (``schema.py``) and the queries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

# Seconds a writer waits for another process's write lock before SQLite reports "database is locked".
BUSY_TIMEOUT_SECONDS = 10.0

# Execution option naming the kind of transaction a connection wants (read or write).
WRITE_OPTION = "gitward_write"


def database_url(path_or_url: str | Path) -> str:
    """A filesystem path becomes a SQLite URL (its directory is created); a URL is kept as it is."""
    text = str(path_or_url)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def create_store_engine(path_or_url: str | Path) -> Engine:
    url = make_url(database_url(path_or_url))
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    in_memory = url.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
    }
    if in_memory:
        # Every connection to ":memory:" is a new empty database, so all callers share one.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    _install_sqlite_hooks(engine, wal=not in_memory)
    return engine


def _install_sqlite_hooks(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below decide when a transaction starts, instead of the
        # sqlite3 module's implicit BEGIN before the first write (which breaks lock upgrades).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writing = bool(conn.get_execution_options().get(WRITE_OPTION, False))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
