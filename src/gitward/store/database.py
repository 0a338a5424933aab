"""Turn a path or URL into one SQLAlchemy database engine, tuned for many short transactions.

SQLite (the default) runs in WAL mode with ``synchronous=NORMAL``: readers never block the writer
and a commit costs no fsync of the main file, which keeps each store call fast enough to be made
from the event loop. Write transactions start with ``BEGIN IMMEDIATE`` so two processes sharing one
file wait for the write lock up front (honouring the busy timeout) instead of failing half-way
through a transaction that began as a read.

PostgreSQL (``postgresql://USER@HOST:PORT/DB``) goes through psycopg 3 (``postgresql+psycopg``).
The URL never carries the password: one that does is refused before anything connects, and the
error shows the URL with its user info masked. libpq finds the password itself, in ``PGPASSWORD`` or
a password file (``PGPASSFILE``, ``~/.pgpass``, or ``?passfile=FILE`` in the URL). The pool suits
one process (a few connections, each pinged before use, so a restarted server costs one retry, not
an error); the server is reached once when the engine is made, so a server that is down or a
database that does not exist stops the start with one line. No SQLite pragma, file check or
private folder applies to it. Any other URL is handed to SQLAlchemy unchanged.

A SQLite file is checked before anything else uses it (``PRAGMA quick_check`` reads every page once,
about 20 ms for 50 MB): a corrupt file, or a database that is not gitward's, stops the start with
one line naming the file and what to do, instead of a stack trace from the first query that reads a
bad page, and gitward never changes someone else's database. Once checked, the file is made private
(``private.py``). Not here: the schema and its migrations (``schema.py``) and the queries.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import StaticPool

from gitward.core.redact import redact_url
from gitward.core.repourl import credential_in
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


# PostgreSQL: connections kept per engine (the store's and the API tokens' each have one), and the
# seconds libpq waits for the server before saying it is unreachable.
PG_POOL_SIZE = 4
PG_MAX_OVERFLOW = 4
PG_CONNECT_TIMEOUT = 10
PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def is_url(path_or_url: str | Path) -> bool:
    """Whether ``--state`` names a database URL rather than a SQLite file."""
    return "://" in str(path_or_url)


def database_url(path_or_url: str | Path) -> str:
    """A filesystem path becomes a SQLite URL (folder and file created private); a PostgreSQL URL
    gets psycopg's dialect; a URL with a password is refused; another URL is kept."""
    text = str(path_or_url)
    if is_url(text):
        return _checked_url(text).render_as_string(hide_password=False)
    path = Path(text).expanduser().resolve()
    check_state_folder(path.parent)
    create_private_file(path)
    return f"sqlite:///{path}"


def shown_url(url: str) -> str:
    """``url`` as messages show it: user info masked, no query (it may name files, never a secret)."""
    return redact_url(url.split("?", 1)[0])


def _checked_url(text: str) -> URL:
    shown = shown_url(text)
    if credential_in(text) == "a password":
        raise _password_in_url(shown)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise StateError(f"the state URL {shown} cannot be read", reason="StateUnavailable") from None
    if url.password is not None or "password" in url.query:
        raise _password_in_url(shown)
    scheme = url.drivername.lower()
    if scheme in PG_SCHEMES:
        return url.set(drivername="postgresql+psycopg")
    if scheme.startswith("postgres"):
        raise StateError(
            f"the state URL {shown} asks for the driver {scheme.split('+', 1)[-1]!r}: "
            "gitward speaks to PostgreSQL through psycopg: use the scheme postgresql and no driver",
            reason="StateUnavailable",
        )
    return url


_HOW_TO_AUTHENTICATE = (
    "the password goes in a password file (PGPASSFILE, ~/.pgpass or ?passfile=FILE in the URL; "
    "lines HOST:PORT:DB:USER:PASSWORD, mode 0600) or in PGPASSWORD"
)


def _password_in_url(shown: str) -> StateError:
    return StateError(
        f"the state URL {shown} carries a password: gitward takes none in a URL (it would show in "
        f"process lists and logs); {_HOW_TO_AUTHENTICATE}",
        reason="StateUnsafe",
    )


def create_store_engine(
    path_or_url: str | Path, *, idle_in_transaction_timeout: float | None = None
) -> Engine:
    """The engine for ``path_or_url``; ``idle_in_transaction_timeout`` (PostgreSQL): seconds after
    which the server ends a session idle inside a transaction (several replicas: ``owners.py``)."""
    url = make_url(database_url(path_or_url))
    if url.get_backend_name() == "postgresql":
        return _postgresql_engine(url, idle_in_transaction_timeout)
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


def _postgresql_engine(url: URL, idle_in_transaction_timeout: float | None = None) -> Engine:
    connect_args: dict[str, Any] = {"connect_timeout": PG_CONNECT_TIMEOUT, "application_name": "gitward"}
    if idle_in_transaction_timeout is not None:
        milliseconds = max(1, int(idle_in_transaction_timeout * 1000))
        connect_args["options"] = f"-c idle_in_transaction_session_timeout={milliseconds}"
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        pool_recycle=3600,
        connect_args=connect_args,
    )
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        shown = shown_url(url.set(drivername="postgresql").render_as_string(hide_password=True))
        detail = _one_line(str(exc.orig)).removeprefix("connection failed: ")
        message = f"cannot reach state database {shown}: {detail}"
        if "password" in detail:
            message += f" ({_HOW_TO_AUTHENTICATE})"
        raise StateError(message, reason="StateUnavailable") from None
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
    return " ".join(text.split())[:300]


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
