"""Throw-away Git servers on loopback for tests, benchmarks and the demo.

Every server keeps its state under a directory the caller owns (a pytest tmp dir), listens on
127.0.0.1 on a free port, and is a context manager whose exit stops every process it started. The
transports are the ones users point gitward at: a bare repository over ``file://``, ``git daemon``
(``git://``), smart HTTP (``git http-backend`` behind a small stdlib HTTP server, with Basic or Bearer
authentication) and SSH (Debian's ``sshd`` as a foreground process with its own host key, key
authentication only).

All servers of one kind share a layout: bare repositories live in ``<root>/repos/<name>.git`` and
``create_repo`` returns a ``WorkRepo`` that commits and pushes straight to that bare repository on disk,
so the content is the same whatever transport a client uses. Deliberately not here: TLS, and anything
that would make these servers fit for use outside a test machine.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devtools.lifecycle import StartStop

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Gitward Tests",
    "GIT_AUTHOR_EMAIL": "tests@gitward.invalid",
    "GIT_COMMITTER_NAME": "Gitward Tests",
    "GIT_COMMITTER_EMAIL": "tests@gitward.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run git with a fixed identity and no user config; raise with git's stderr on failure."""
    full_env = {**os.environ, **GIT_ENV, **(env or {})}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, process: subprocess.Popen[bytes] | None = None, timeout: float = 20) -> None:
    """Block until something accepts on 127.0.0.1:port, failing early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


FileContent = str | bytes


@dataclass
class WorkRepo:
    """A working clone next to a bare repository; every commit is pushed to the bare repository."""

    bare: Path
    work: Path
    branch: str = "main"

    def write(self, files: dict[str, FileContent | None]) -> None:
        """Write files (``None`` deletes one); keys are slash-separated paths inside the repo."""
        for name, content in files.items():
            target = self.work / name
            if content is None:
                if target.is_symlink() or target.is_file():
                    target.unlink()
                elif target.is_dir():
                    shutil.rmtree(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def symlink(self, name: str, target: str) -> None:
        link = self.work / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)

    def commit(
        self,
        files: dict[str, FileContent | None] | None = None,
        *,
        message: str = "change",
        tags: tuple[str, ...] = (),
        annotated: bool = False,
        branch: str | None = None,
    ) -> str:
        """Write ``files``, commit everything, tag, push; returns the new commit SHA."""
        if branch is not None and branch != self.branch:
            git("checkout", "-B", branch, cwd=self.work)
            self.branch = branch
        if files:
            self.write(files)
        git("add", "-A", cwd=self.work)
        git("commit", "--allow-empty", "-q", "-m", message, cwd=self.work)
        for tag in tags:
            if annotated:
                git("tag", "-a", "-m", f"release {tag}", tag, cwd=self.work)
            else:
                git("tag", tag, cwd=self.work)
        self.push()
        return self.head()

    def push(self) -> None:
        git("push", "-q", "--force", "--tags", "origin", self.branch, cwd=self.work)

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work)

    def tree_of(self, path: str, commit: str = "HEAD") -> str:
        spec = f"{commit}:{path}" if path else f"{commit}^{{tree}}"
        return git("rev-parse", spec, cwd=self.work)


def create_repo(
    bare: Path,
    work: Path,
    files: dict[str, FileContent | None],
    *,
    branch: str = "main",
    message: str = "initial commit",
    tags: tuple[str, ...] = (),
) -> WorkRepo:
    """A bare repository whose default branch is ``branch`` holding ``files`` in one commit."""
    bare.parent.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", f"--initial-branch={branch}", str(bare))
    # http-backend and daemon serve only repositories that opt in; these are all for tests.
    (bare / "git-daemon-export-ok").touch()
    git("config", "http.receivepack", "true", cwd=bare)
    git("clone", "-q", str(bare), str(work))
    git("checkout", "-q", "-B", branch, cwd=work)
    repo = WorkRepo(bare=bare, work=work, branch=branch)
    repo.commit(files, message=message, tags=tags)
    return repo


@dataclass
class GitServer(StartStop):
    """Base of every transport: a root directory of bare repositories and a start/stop life cycle."""

    root: Path
    repos: dict[str, WorkRepo] = field(default_factory=dict)

    @property
    def repos_dir(self) -> Path:
        return self.root / "repos"

    def create_repo(
        self,
        name: str,
        files: dict[str, FileContent | None],
        *,
        branch: str = "main",
        tags: tuple[str, ...] = (),
    ) -> WorkRepo:
        repo = create_repo(
            self.repos_dir / f"{name}.git", self.root / "work" / name, files, branch=branch, tags=tags
        )
        self.repos[name] = repo
        return repo

    def url(self, name: str) -> str:
        return (self.repos_dir / f"{name}.git").as_uri()

    def start(self) -> None:
        self.repos_dir.mkdir(parents=True, exist_ok=True)

    def stop(self) -> None:
        return None


class FileGitServer(GitServer):
    """Bare repositories reached by ``file://`` URLs: no process at all."""


@dataclass
class GitDaemonServer(GitServer):
    """``git daemon`` serving every repository under ``repos/`` read-only on git://127.0.0.1:port/."""

    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        super().start()
        self.port = self.port or free_port()
        log = (self.root / "git-daemon.log").open("ab")
        self.process = subprocess.Popen(
            [
                "git", "daemon", "--reuseaddr", "--export-all", "--informative-errors",
                "--listen=127.0.0.1", f"--port={self.port}", f"--base-path={self.repos_dir}",
                str(self.repos_dir),
            ],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env={**os.environ, **GIT_ENV},
        )  # fmt: skip
        log.close()
        wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"


class _GitHttpHandler(BaseHTTPRequestHandler):
    """Checks authentication, then hands the request to ``git http-backend`` as CGI."""

    server: _GitHttpServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        return None  # tests read the counters, not an access log on stderr

    def _authorised(self) -> bool:
        expected = self.server.config.expected_authorization()
        if expected is None:
            return True
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), expected.encode())

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        self.server.config.requests += 1
        body = self._body()
        if not self._authorised():
            self.server.config.rejected += 1
            self.send_response(401)
            if self.server.config.username:
                self.send_header("WWW-Authenticate", 'Basic realm="gitward-tests"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        env = {
            **os.environ, **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.server.config.repos_dir), "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0], "REMOTE_USER": self.server.config.username or "tests",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }  # fmt: skip
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@dataclass
class _HttpConfig:
    repos_dir: Path
    username: str | None
    password: str | None
    bearer_token: str | None
    requests: int = 0
    rejected: int = 0

    def expected_authorization(self) -> str | None:
        if self.bearer_token is not None:
            return f"Bearer {self.bearer_token}"
        if self.username is not None:
            pair = f"{self.username}:{self.password or ''}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        return None


class _GitHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    config: _HttpConfig


@dataclass
class HttpGitServer(GitServer):
    """Smart HTTP via ``git http-backend``; Basic auth when ``username`` is set, Bearer when a token is."""

    username: str | None = None
    password: str | None = None
    bearer_token: str | None = None
    port: int = 0
    _server: _GitHttpServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        super().start()
        server = _GitHttpServer(("127.0.0.1", self.port), _GitHttpHandler)
        server.config = _HttpConfig(self.repos_dir, self.username, self.password, self.bearer_token)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="git-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server, self._thread = None, None

    @property
    def requests(self) -> int:
        return self._server.config.requests if self._server else 0

    @property
    def rejected(self) -> int:
        return self._server.config.rejected if self._server else 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.git"


def make_ssh_key(path: Path, *, comment: str = "gitward-tests") -> Path:
    """An unencrypted ed25519 key pair at ``path`` / ``path.pub``; returns the private key path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    path.chmod(0o600)
    return path


@dataclass
class SshGitServer(GitServer):
    """Debian's sshd in the foreground on a loopback port: own host key, public-key auth only.

    ``client_key`` is authorised; ``known_hosts`` pins the host key for clients; ``ssh_command`` is a
    ready ``GIT_SSH_COMMAND`` for the standard git client.
    """

    port: int = 0
    user: str = field(default_factory=lambda: os.environ.get("USER") or "root")
    process: subprocess.Popen[bytes] | None = None

    @property
    def ssh_dir(self) -> Path:
        return self.root / "ssh"

    @property
    def client_key(self) -> Path:
        return self.ssh_dir / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def ssh_command(self) -> str:
        return (
            f"ssh -i {self.client_key} -o IdentitiesOnly=yes -o BatchMode=yes "
            f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={self.known_hosts}"
        )

    def _configure(self) -> Path:
        self.ssh_dir.mkdir(parents=True, exist_ok=True)
        host_key = self.ssh_dir / "ssh_host_ed25519_key"
        if not host_key.exists():
            make_ssh_key(host_key, comment="gitward-tests-host")
            make_ssh_key(self.client_key)
        public = self.client_key.with_suffix(".pub").read_text().strip()
        (self.ssh_dir / "authorized_keys").write_text(f"restrict {public}\n")
        host_public = host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_public[0]} {host_public[1]}\n")
        config = self.ssh_dir / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"PidFile {self.ssh_dir / 'sshd.pid'}\nAuthorizedKeysFile {self.ssh_dir / 'authorized_keys'}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nMaxStartups 100\n"
            f"AllowUsers {self.user}\nLogLevel VERBOSE\n"
        )
        return config

    def start(self) -> None:
        super().start()
        self.port = self.port or free_port()
        config = self._configure()
        # sshd refuses to start without its privilege-separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        log = (self.root / "sshd.log").open("ab")
        self.process = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def url(self, name: str) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{self.repos_dir}/{name}.git"
