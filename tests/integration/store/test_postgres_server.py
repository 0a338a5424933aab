"""The test suite's PostgreSQL server (``devtools/postgres.py``): never run as root, reached on
loopback only, and gone -- process and folder -- once stopped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from devtools.postgres import SYSTEM_USER, PostgresServer

pytestmark = pytest.mark.integration


def _owner(pid: int) -> int:
    return Path(f"/proc/{pid}").stat().st_uid


def test_the_server_runs_unprivileged_on_loopback_and_stops_completely() -> None:
    server = PostgresServer()
    with server:
        pid = server.pid
        assert pid is not None
        folder = server.folder
        assert folder is not None
        rows = server.execute("SHOW listen_addresses")
        assert rows == [("127.0.0.1",)]
        if os.geteuid() == 0:
            import pwd

            assert _owner(pid) == pwd.getpwnam(SYSTEM_USER).pw_uid
        else:
            assert _owner(pid) == os.geteuid()
    assert not Path(f"/proc/{pid}").exists()  # stopped and reaped
    assert not folder.exists()
