"""Reaching PostgreSQL as ``gitward run --state postgresql://...`` does: the password from a password
file or ``PGPASSWORD`` (never the URL), and one line for a database that does not exist or a password
that is missing or wrong, never showing a password."""

from __future__ import annotations

from pathlib import Path

import pytest
from devtools.postgres import PostgresServer

from gitward.store import Store
from gitward.store.private import StateError

pytestmark = pytest.mark.integration


def _opened(url: str) -> None:
    with Store.open(url) as store:
        assert store.dialect == "postgresql"
        store.save_status("app", {"v": 1})
        assert store.load_status("app") == {"v": 1}


def test_the_password_comes_from_passfile_pgpassfile_or_pgpassword(
    postgres_server: PostgresServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _opened(postgres_url)  # ?passfile=FILE in the URL
    bare = postgres_url.split("?", 1)[0]
    monkeypatch.setenv("PGPASSFILE", str(postgres_server.passfile))
    _opened(bare)
    monkeypatch.delenv("PGPASSFILE")
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    _opened(bare)


def test_a_missing_or_wrong_password_is_one_line_without_it(
    postgres_server: PostgresServer, postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bare = postgres_url.split("?", 1)[0]
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(StateError) as missing:
        Store.open(bare)
    assert missing.value.reason == "StateUnavailable"
    assert "no password supplied" in missing.value.message
    assert "password file" in missing.value.message  # says where a password goes

    monkeypatch.setenv("PGPASSWORD", "not-the-password-42")
    with pytest.raises(StateError) as wrong:
        Store.open(bare)
    assert "password authentication failed" in wrong.value.message
    assert "not-the-password-42" not in str(wrong.value)
    assert postgres_server.password not in str(wrong.value)
    assert "\n" not in wrong.value.message


def test_a_database_that_does_not_exist_is_one_line(postgres_server: PostgresServer) -> None:
    url = postgres_server.url("no_such_database")
    with pytest.raises(StateError) as caught:
        Store.open(url)
    message = caught.value.message
    assert caught.value.reason == "StateUnavailable"
    assert message.startswith(
        f"cannot reach state database postgresql://***@127.0.0.1:{postgres_server.port}/no_such_database: "
    )
    assert 'database "no_such_database" does not exist' in message
    assert "passfile" not in message  # the query (a file's path) is left out
