"""Turn a path or URL into one SQLAlchemy database engine, tuned for many short transactions.

SQLite (the default) runs in WAL mode with ``synchronous=NORMAL``: readers never block the writer
and a commit costs no fsync of the main file, which keeps each store call fast enough to be made
from the event loop. Write transactions start with ``BEGIN IMMEDIATE`` so two processes sharing one
file wait for the write lock up front (honouring the busy timeout) instead of failing half-way
through a transaction that began as a read.

Any other URL (``postgresql+psycopg://...``) is handed to SQLAlchemy unchanged; no SQLite pragma or
statement is sent to another dialect. Not here: the schema (``schema.py``) and the queries.

A SQLite file is checked before anything else uses it (``PRAGMA quick_check`` reads every page once,
about 20 ms for 50 MB): a corrupt file, or a database that is not gitward's, stops the start with
one line naming the file and what to do, instead of a stack trace from the first query that reads a
bad page, and gitward never changes someone else's database. Once checked, the file is made private
(``private.py``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from gitward.store.private import StateError, check_state_folder, create_private_file, tighten_file

# Seconds a writer waits for another process's write lock before SQLite reports "database is locked".
BUSY_TIMEOUT_SECONDS = 10.0

# Execution option naming the kind of transaction a connection wants (read or write).
WRITE_OPTION = "gitward_write"


# SQLite's primary result codes meaning "this file is damaged or is no database at all".
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_WHAT_TO_DO = (
    "restore it from a backup, or move it away (with its -wal and -shm files) and restart: gitward "
    "then rebuilds its inventory from the ownership marks on the cluster's objects"
)


def database_url(path_or_url: str | Path) -> str:
    """A filesystem path becomes a SQLite URL (folder and file created private); a URL is kept."""
    text = str(path_or_url)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    check_state_folder(path.parent)
    create_private_file(path)
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
    if not in_memory:
        _check_database(str(url.database))
        tighten_file(Path(str(url.database)))  # before SQLite creates -wal/-shm with the file's mode
    engine = create_engine(url, **kwargs)
    _install_sqlite_hooks(engine, wal=not in_memory)
    return engine


def _check_database(path: str) -> None:
    """Refuse a damaged file or another program's database before gitward changes anything in it.

    A plain sqlite3 connection reads it: the engine's connection would first switch the file to WAL
    mode, a change to a file that may not be gitward's.
    """
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
        try:
            verdict = str(conn.execute("PRAGMA quick_check(1)").fetchone()[0])
            listed = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {str(row[0]) for row in listed}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise _open_failure(path, exc) from None
    if verdict != "ok":
        raise _corrupt(path, verdict.replace("*** in database main ***", ""))
    if tables and "schema_version" not in tables:
        raise StateError(
            f"state database {path} is a SQLite database of something else, not gitward's: "
            "give gitward another file (--state)",
            reason="StateCorrupt",
        )


def _open_failure(path: str, exc: sqlite3.Error) -> StateError:
    """One line for an error SQLite raised while opening or checking the file."""
    if exc.sqlite_errorcode & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return _corrupt(path, str(exc))
    return StateError(f"cannot open state database {path}: {_one_line(str(exc))}", reason="StateUnavailable")


def _corrupt(path: str, detail: str) -> StateError:
    message = f"state database {path} is corrupt ({_one_line(detail)}): {_WHAT_TO_DO}"
    return StateError(message, reason="StateCorrupt")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


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
