"""A throw-away PostgreSQL server (Debian's ``postgresql`` package) on loopback, for tests and benchmarks.

``PostgresServer`` runs ``initdb`` into a fresh folder under the system's temporary folder and starts
``postgres`` in the foreground on a free port of 127.0.0.1, with its Unix socket in that folder too
(never in ``/var/run/postgresql``, so it coexists with a system cluster). The superuser role is
``gitward`` with a random password: TCP clients must give it (SCRAM), so a test that connects the way
gitward does proves the password file works; the socket trusts local clients, which is how the
server's own helpers (``create_database``) connect.

PostgreSQL refuses to run as root. As root, the server runs as the system user ``gitward-pg``
(created with ``useradd --system`` when missing) and only its data folder belongs to that user; as
anyone else it runs as the current user. ``stop()`` sends SIGINT (PostgreSQL's fast shutdown) to the
postmaster it started, waits for it, and removes the folder.

``durable=False`` (tests) turns off fsync and synchronous commits: nothing of a test database has to
survive a power cut. Benchmarks keep the defaults. Deliberately not here: TLS, replication, and
anything that would make this server fit for use outside a test machine.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.gitservers import free_port
from devtools.lifecycle import StartStop

SYSTEM_USER = "gitward-pg"  # runs the server when the tests run as root
SUPERUSER = "gitward"  # the database role the server is created with
BIN_ROOT = Path("/usr/lib/postgresql")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresError(RuntimeError):
    pass


def bin_dir() -> Path:
    """The newest installed PostgreSQL's binaries (``/usr/lib/postgresql/<version>/bin``)."""
    found = sorted(
        (p for p in BIN_ROOT.glob("*/bin") if (p / "postgres").is_file() and p.parent.name.isdigit()),
        key=lambda path: int(path.parent.name),
    )
    if not found:
        raise PostgresError(f"no PostgreSQL server in {BIN_ROOT}: install Debian's postgresql (./dev setup)")
    return found[-1]


def server_user() -> str | None:
    """The user the server runs as: ``gitward-pg`` (created if missing) for root, else None (this user)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", SYSTEM_USER],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode not in (0, 9):  # 9: another process created it meanwhile
            raise PostgresError(f"useradd {SYSTEM_USER} failed: {done.stderr.strip()}") from None
    return SYSTEM_USER


@dataclass
class PostgresServer(StartStop):
    durable: bool = False
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    port: int = 0
    folder: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self._folder() / "server" / "data"

    @property
    def socket_dir(self) -> Path:
        return self._folder() / "server" / "socket"

    @property
    def log(self) -> Path:
        return self._folder() / "server" / "postgres.log"

    @property
    def passfile(self) -> Path:
        """A libpq password file (0600, the caller's) that holds the superuser's password."""
        return self._folder() / "client.pgpass"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def url(self, database: str, *, passfile: bool = True) -> str:
        """``postgresql://gitward@127.0.0.1:PORT/DATABASE``, naming the password file unless told not to."""
        base = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"
        return f"{base}?passfile={self.passfile}" if passfile else base

    def start(self) -> None:
        binaries = bin_dir()
        user = server_user()
        self.folder = Path(tempfile.mkdtemp(prefix="gitward-pg-"))
        self.folder.chmod(0o711)  # the server's user may pass through to its own folder, nothing more
        server = self.folder / "server"
        server.mkdir(mode=0o700)
        self.socket_dir.mkdir(mode=0o700)
        secret = server / "initdb.pw"
        secret.write_text(self.password + "\n", encoding="utf-8")
        if user is not None:
            for path in (server, self.socket_dir, secret):
                shutil.chown(path, user=user, group=user if _has_group(user) else None)
        self.passfile.touch(mode=0o600)
        self.passfile.write_text(f"127.0.0.1:*:*:{SUPERUSER}:{self.password}\n", encoding="utf-8")
        self.port = free_port()
        init = subprocess.run(
            [str(binaries / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--pwfile", str(secret),
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
            user=user, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        secret.unlink()
        if init.returncode != 0:
            self._remove_folder()
            raise PostgresError(f"initdb failed ({init.returncode}): {init.stderr.strip()[-2000:]}")
        settings = ["listen_addresses=127.0.0.1", "max_connections=200", "log_min_messages=warning"]
        if not self.durable:
            settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        command = [str(binaries / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        command += ["-k", str(self.socket_dir)]
        for setting in settings:
            command += ["-c", setting]
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                command, user=user, stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        try:
            self._wait_ready(timeout=60)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, *, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise PostgresError(f"postgres exited with {self._process.returncode}: {self._log_tail()}")
            try:
                with psycopg.connect(self._admin_conninfo("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                last = str(exc).strip()
            time.sleep(0.05)
        tail = self._log_tail()
        raise PostgresError(f"postgres did not accept connections within {timeout}s ({last}): {tail}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)  # fast shutdown: roll back sessions, checkpoint, exit
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._remove_folder()

    def create_database(self, name: str) -> str:
        """Create an empty database ``name``; returns its URL (with the password file)."""
        self.execute(f'CREATE DATABASE "{_checked(name)}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)')

    def execute(self, sql: str, *, database: str = "postgres") -> list[tuple[object, ...]]:
        """Run one statement as the superuser over the socket (autocommit); the rows it returned."""
        import psycopg

        with psycopg.connect(self._admin_conninfo(database), autocommit=True) as conn:
            cursor = conn.execute(sql.encode())
            return list(cursor.fetchall()) if cursor.description is not None else []

    def _admin_conninfo(self, database: str) -> str:
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={database}"

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace").strip()[-2000:]
        except OSError:
            return "(no log)"

    def _folder(self) -> Path:
        if self.folder is None:
            raise PostgresError("the server is not started")
        return self.folder

    def _remove_folder(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _checked(name: str) -> str:
    if not _NAME.match(name):
        raise PostgresError(f"not a plain database name: {name!r}")
    return name


def _has_group(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True
