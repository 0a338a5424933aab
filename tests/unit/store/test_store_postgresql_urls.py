"""``--state postgresql://...`` as the store reads it, before any server is involved: the dialect is
psycopg's, a URL with a password is refused without showing it, and a server nobody listens for is
one line naming the masked URL."""

from __future__ import annotations

import pytest
from devtools.gitservers import free_port
from sqlalchemy.engine import make_url

from gitward.store import Store
from gitward.store.database import database_url
from gitward.store.private import StateError


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg", "POSTGRESQL"])
def test_postgresql_urls_use_psycopg(scheme: str) -> None:
    url = make_url(database_url(f"{scheme}://gitward@db.example:5433/state?passfile=/etc/gitward/pgpass"))
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "gitward",
        None,
        "db.example",
        5433,
        "state",
    )
    assert url.query == {"passfile": "/etc/gitward/pgpass"}


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://gitward:s3cr3t-pw@db.example/state",
        "postgresql://gitward:s3cr3t-pw@db.example:5432/state?sslmode=require",
        "postgresql://gitward@db.example/state?password=s3cr3t-pw",
        "postgresql://gitward:s3cr3t/pw@db.example/state",  # a '/' in the password
    ],
)
def test_a_url_with_a_password_is_refused_without_showing_it(url: str) -> None:
    with pytest.raises(StateError) as caught:
        Store.open(url)
    error = caught.value
    assert error.reason == "StateUnsafe"
    assert "s3cr3t" not in str(error)
    assert "carries a password" in error.message
    assert "PGPASSFILE" in error.message
    assert "PGPASSWORD" in error.message


def test_another_postgresql_driver_is_refused() -> None:
    with pytest.raises(StateError, match="through psycopg"):
        database_url("postgresql+psycopg2://gitward@db.example/state")


def test_a_server_nobody_listens_for_is_one_line() -> None:
    port = free_port()  # bound then closed: nothing listens there
    with pytest.raises(StateError) as caught:
        Store.open(f"postgresql://gitward@127.0.0.1:{port}/state")
    error = caught.value
    assert error.reason == "StateUnavailable"
    assert "\n" not in error.message
    assert error.message.startswith(f"cannot reach state database postgresql://***@127.0.0.1:{port}/state: ")
    assert "Connection refused" in error.message
