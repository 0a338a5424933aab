"""Find the server and token for a command: flags and environment first, then the local servers.

Order: ``--server`` / ``GITWARD_SERVER`` for the URL, else the local server: every ``gitward run`` of
this user announces itself in a record of its own (``core/localserver.py``); records whose process is
gone are ignored, one left is used, several are an error that lists them (address, state file, PID)
and asks for ``--server``: the CLI never guesses which one was meant. For the token
``GITWARD_TOKEN``, then the login ``gitward login`` stored for that URL (``logins.py``), then -- for a
local server only -- the token file its record names. For the certificate to trust: ``--ca-file`` /
``GITWARD_CA_FILE``, then the self-signed certificate a local ``gitward run --tls auto`` announces. A
local server's token file and certificate are used only for the server they were written for, so a
token never goes to a different server by accident.

Deliberately not here: the login flow (``login.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gitward.cli.client import ApiClient, CliError, check_server_url
from gitward.cli.logins import token_for
from gitward.core.localserver import SERVER_INFO_FILE, SERVERS_DIR, ServerInfo, user_state_dir

NO_SERVER = (
    "no gitward server known: pass --server URL or set GITWARD_SERVER "
    "(a local `gitward run` is found automatically)"
)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts: it cannot be signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _read_record(path: Path) -> ServerInfo:
    try:
        return ServerInfo.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None


def local_servers(environ: Mapping[str, str], home: Path) -> list[ServerInfo]:
    """Every local server's record, as written (``server.json`` too, for a server announced without
    a state file); unreadable records are an error, a record that vanished while listing is not."""
    base = user_state_dir(environ=environ, home=home)
    paths = sorted((base / SERVERS_DIR).glob("*.json")) if (base / SERVERS_DIR).is_dir() else []
    legacy = base / SERVER_INFO_FILE
    if legacy.is_file():
        paths.append(legacy)
    found: list[ServerInfo] = []
    for path in paths:
        try:
            found.append(_read_record(path))
        except CliError:
            if path.exists():
                raise
    return found


def _describe(info: ServerInfo) -> str:
    state = str(info.state_file) if info.state_file is not None else "unknown state"
    pid = f"pid {info.pid}" if info.pid is not None else "pid unknown"
    return f"  {info.url}  state {state}  {pid}"


def choose_local(
    records: Sequence[ServerInfo], *, url: str | None, alive: Callable[[int], bool] = process_alive
) -> ServerInfo | None:
    """The local server to use: the one at ``url`` when a URL was given (None if no local server
    is there), else the only live one; several live ones are a ``CliError`` listing them."""
    live = [r for r in records if r.pid is None or alive(r.pid)]
    if url is not None:
        return next((r for r in live if check_server_url(r.url) == url), None)
    if len(live) <= 1:
        return live[0] if live else None
    listed = "\n".join(_describe(r) for r in sorted(live, key=lambda r: (str(r.state_file), r.url)))
    raise CliError(
        f"{len(live)} local gitward servers are running; choose one with --server URL "
        f"(or GITWARD_SERVER):\n{listed}"
    )


def _read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise CliError(f"cannot read token file {path}: {exc.strerror or exc}") from None
    if not token:
        raise CliError(f"token file {path} is empty")
    return token


def connect(
    server: str | None,
    *,
    environ: Mapping[str, str],
    home: Path,
    timeout: float = 30.0,
    ca_file: Path | None = None,
    anonymous: bool = False,
) -> ApiClient:
    """An ``ApiClient`` for the server to talk to; raises ``CliError`` when none is known.
    ``anonymous``: send no token (``gitward login`` asks the open routes before it has one)."""
    given = server or environ.get("GITWARD_SERVER") or None
    records = local_servers(environ, home)
    local = choose_local(records, url=check_server_url(given) if given else None)
    url = given or (local.url if local else "")
    if not url:
        raise CliError(NO_SERVER)
    url = check_server_url(url)
    is_local = local is not None and check_server_url(local.url) == url
    env_ca = environ.get("GITWARD_CA_FILE")
    ca = ca_file or (Path(env_ca) if env_ca else None)
    if ca is None and is_local and local is not None:
        ca = local.ca_file
    if anonymous:
        return ApiClient(base_url=url, token=None, timeout=timeout, ca_file=ca)
    token = environ.get("GITWARD_TOKEN") or token_for(url, environ, home)
    if token is None and is_local and local is not None:
        token = _read_token(local.token_file)
    return ApiClient(base_url=url, token=token, timeout=timeout, ca_file=ca)
