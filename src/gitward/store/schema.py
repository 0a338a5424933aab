"""The tables gitward persists, and forward-only migrations that bring a database up to date.

Only portable SQLAlchemy Core types are used (strings, integers, floats, text) so the same schema runs
on SQLite and PostgreSQL. Opaque JSON documents (app status, apply verdicts, fetch state, operation
resources, event fields) are stored as text encoded with orjson: the store never queries inside them.
Times are seconds since the epoch as floats, like ``Clock.now()`` and ``Condition.last_transition``.

Migrations are a list of functions; the database records how many have run in ``schema_version``.
A migration is never edited once released: a schema change appends a new function. Migration 1
creates the tables declared here; when a later migration changes one of them, freeze that table's
original definition inside migration 1 first. Every DDL statement must run on both SQLite and
PostgreSQL (``tests/integration/store`` runs the migrations from version 1 on both).

All pending migrations run in one write transaction, so a failed one leaves the database at its old
version on both (PostgreSQL's DDL is transactional too). Processes that open one database at the same
time take turns: on SQLite the caller's ``BEGIN IMMEDIATE`` holds the file's write lock; on
PostgreSQL the transaction first takes an advisory lock (``pg_advisory_xact_lock``, released at
commit), so the second process sees the first one's version and runs nothing.
Not here: engine setup (``database.py``) and queries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    select,
    text,
    update,
)

from gitward.core.errors import Stalled

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

# One row per (kind, name): app status, apply verdicts and per-repository fetch state.
documents = Table(
    "documents",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("name", String(512), primary_key=True),
    Column("data", Text, nullable=False),
)

inventory = Table(
    "inventory",
    metadata,
    Column("app", String(253), primary_key=True),
    Column("object_id", String(1024), primary_key=True),
    Column("version", String(64), nullable=False),
)


def _operation_columns() -> list[Column[Any]]:
    """The columns of the first release of ``operations`` (fresh objects: a Column joins one table)."""
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("app", String(253), nullable=False),
        Column("revision", String(256), nullable=False),
        Column("commit_sha", String(64), nullable=False),
        Column("triggered_by", String(64), nullable=False),
        Column("phase", String(32), nullable=False),
        Column("message", Text, nullable=False),
        Column("started_at", Float, nullable=False),
        Column("finished_at", Float, nullable=True),
        Column("resources", Text, nullable=False),
    ]


operations = Table(
    "operations",
    metadata,
    *_operation_columns(),
    # Added by migration 2. How many syncs the entry stands for: consecutive identical heals of one
    # drift fight share one entry instead of pushing real deployments out of the kept history.
    Column("sync_count", Integer, nullable=False, server_default=text("1")),
    # 1 when the sync deployed a new desired state (a new commit or render) and succeeded: the
    # rollback targets, which retention keeps longest.
    Column("deployed", Integer, nullable=False, server_default=text("0")),
    # What a heal re-applied and why (commit, objects, drifted fields, field managers), hashed; empty
    # for anything but a successful heal. Equal keys of consecutive heals collapse into one entry.
    Column("heal_key", String(64), nullable=False, server_default=text("''")),
    # Added by migration 4. Who asked for the sync through the API (the principal's name: a user or
    # an API token's name, never a credential); empty for the engine's own syncs. The audit trail.
    Column("initiator", String(256), nullable=False, server_default=text("''")),
    Index("ix_operations_app_id", "app", "id"),
    Index("ix_operations_phase", "phase"),
    # Never reuse an id after deletes: clients keep operation ids (rollback targets, links).
    sqlite_autoincrement=True,
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(253), nullable=False),
    Column("time", Float, nullable=False),
    Column("type", String(16), nullable=False),
    Column("reason", String(128), nullable=False),
    Column("message", Text, nullable=False),
    Column("object_id", String(1024), nullable=False),
    Column("fields", Text, nullable=False),
    Column("manager", String(256), nullable=False),
    Index("ix_events_app_id", "app", "id"),
    sqlite_autoincrement=True,
)


# Added by migration 3. API tokens (api/access_tokens.py): only a SHA-256 of each token's secret is
# kept, so a copy of the database lets nobody call the API. Revoked tokens stay listed as revoked.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(253), nullable=False),
    Column("role", String(253), nullable=False),
    Column("project", String(253), nullable=False),  # "" for every project
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("expires_at", Float, nullable=True),
    Column("revoked_at", Float, nullable=True),
)


# Added by migration 5. With several replicas sharing the database: which process owns each app now
# and the epoch it took it with. Every write of an app's rows checks its own row here, in the same
# transaction, and a takeover waits for the row (``store/owners.py``).
app_owners = Table(
    "app_owners",
    metadata,
    Column("app", String(253), primary_key=True),
    Column("holder", String(256), nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("taken_at", Float, nullable=False),
)

# Added by migration 5. What one replica received for apps another may own: pushes (``kind`` push,
# ``target`` the repository URL, ``payload`` the refs it moved) and user actions (``kind`` action,
# ``target`` the app, ``payload`` the action and its arguments, answered in ``result`` by the owner).
# Every replica reads the rows after the last one it saw (``reconcile/pushes.py``).
replica_requests = Table(
    "replica_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("target", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("origin", String(256), nullable=False),
    Column("at", Float, nullable=False),
    Column("result", Text, nullable=True),
    Column("done_at", Float, nullable=True),
    sqlite_autoincrement=True,
)


class StoreVersionError(Stalled):
    """The database was written by a newer gitward; running older code on it could lose data."""

    reason = "StoreVersionTooNew"


# ``operations`` as migration 1 created it, frozen: later columns come from later migrations.
_v1 = MetaData()
_operations_v1 = Table(
    "operations",
    _v1,
    *_operation_columns(),
    Index("ix_operations_app_id", "app", "id"),
    Index("ix_operations_phase", "phase"),
    sqlite_autoincrement=True,
)


def _create_v1_tables(conn: Connection) -> None:
    metadata.create_all(conn, tables=[documents, inventory, events])
    _v1.create_all(conn, tables=[_operations_v1])


def _add_history_collapse(conn: Connection) -> None:
    """Migration 2: ``sync_count``, ``deployed`` and ``heal_key`` on operations; past deployments
    (successful syncs of a commit other than the app's previous successful one) are marked so
    retention keeps them."""
    for ddl in (
        "ALTER TABLE operations ADD COLUMN sync_count INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE operations ADD COLUMN deployed INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE operations ADD COLUMN heal_key VARCHAR(64) NOT NULL DEFAULT ''",
    ):
        conn.execute(text(ddl))
    rows = conn.execute(
        select(operations.c.id, operations.c.app, operations.c.commit_sha)
        .where(operations.c.phase == "Succeeded")
        .order_by(operations.c.app, operations.c.id)
    )
    last: dict[str, str] = {}
    deployed: list[int] = []
    for op_id, app, commit in rows:
        if last.get(app) != commit:
            deployed.append(op_id)
        last[app] = commit
    if deployed:
        mark = update(operations).where(operations.c.id == bindparam("op_id")).values(deployed=1)
        conn.execute(mark, [{"op_id": op_id} for op_id in deployed])


def _add_api_tokens(conn: Connection) -> None:
    """Migration 3: the ``api_tokens`` table."""
    metadata.create_all(conn, tables=[api_tokens])


def _add_operation_initiator(conn: Connection) -> None:
    """Migration 4: ``initiator`` on operations (past rows: unknown, empty)."""
    conn.execute(text("ALTER TABLE operations ADD COLUMN initiator VARCHAR(256) NOT NULL DEFAULT ''"))


def _add_replica_tables(conn: Connection) -> None:
    """Migration 5: ``app_owners`` and ``replica_requests`` (several replicas on one database)."""
    metadata.create_all(conn, tables=[app_owners, replica_requests])


Migration = Callable[[Connection], None]

MIGRATIONS: tuple[Migration, ...] = (
    _create_v1_tables,
    _add_history_collapse,
    _add_api_tokens,
    _add_operation_initiator,
    _add_replica_tables,
)


def current_version(conn: Connection) -> int:
    value = conn.execute(select(schema_version.c.version)).scalar()
    return int(value) if value is not None else 0


# The advisory lock that PostgreSQL openers of one database take while migrating it ("gitward" in ASCII).
MIGRATION_LOCK_KEY = 0x67697477617264


def migrate(conn: Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Run the migrations this database has not seen, inside the caller's write transaction.

    Returns the resulting version. Concurrent openers of one database take turns (the module doc
    says how): the second sees the first one's version and runs nothing.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    metadata.create_all(conn, tables=[schema_version])
    version = current_version(conn)
    if version > len(migrations):
        raise StoreVersionError(
            f"state database schema version {version} is newer than this gitward supports "
            f"({len(migrations)}); upgrade gitward or point it at another state database"
        )
    for migration in migrations[version:]:
        migration(conn)
    if version == 0:
        conn.execute(schema_version.insert().values(version=len(migrations)))
    elif version < len(migrations):
        conn.execute(schema_version.update().values(version=len(migrations)))
    return len(migrations)
