"""Find the server and token for a command: flags and environment first, then ``server.json``.

Order: ``--server`` / ``GITWARD_SERVER`` for the URL; for the token ``GITWARD_TOKEN``, then the login
``gitward login`` stored for that URL (``logins.py``), then -- for the local server only -- the token
file that ``server.json`` names. For the certificate to trust: ``--ca-file`` / ``GITWARD_CA_FILE``,
then the self-signed certificate a local ``gitward run --tls auto`` announces. A local server's token
file and certificate are used only for the server they were written for, so a token never goes to a
different server by accident.

Deliberately not here: the login flow (``login.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gitward.cli.client import ApiClient, CliError, check_server_url
from gitward.cli.logins import token_for
from gitward.core.localserver import SERVER_INFO_FILE, ServerInfo, user_state_dir


def _local_server(environ: Mapping[str, str], home: Path) -> ServerInfo | None:
    path = user_state_dir(environ=environ, home=home) / SERVER_INFO_FILE
    try:
        return ServerInfo.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None


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
    local = _local_server(environ, home)
    url = server or environ.get("GITWARD_SERVER") or (local.url if local else "")
    if not url:
        raise CliError(
            "no gitward server known: pass --server URL or set GITWARD_SERVER "
            "(a local `gitward run` is found automatically)"
        )
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
