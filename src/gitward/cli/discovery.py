"""Find the server and token for a command: flags and environment first, then ``server.json``.

Order: ``--server`` / ``GITWARD_SERVER`` for the URL and ``GITWARD_TOKEN`` for the token; failing
those, the ``server.json`` that ``gitward run`` writes into the user's state directory gives both the
URL and the path of the token file. The token file is used only for the server it was written for,
so a token never goes to a different server by accident.

Deliberately not here: storing tokens for remote servers (use the environment).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gitward.cli.client import ApiClient, CliError, check_server_url
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
    server: str | None, *, environ: Mapping[str, str], home: Path, timeout: float = 30.0
) -> ApiClient:
    """An ``ApiClient`` for the server to talk to; raises ``CliError`` when none is known."""
    local = _local_server(environ, home)
    url = server or environ.get("GITWARD_SERVER") or (local.url if local else "")
    if not url:
        raise CliError(
            "no gitward server known: pass --server URL or set GITWARD_SERVER "
            "(a local `gitward run` is found automatically)"
        )
    url = check_server_url(url)
    token = environ.get("GITWARD_TOKEN") or None
    if token is None and local is not None and check_server_url(local.url) == url:
        token = _read_token(local.token_file)
    return ApiClient(base_url=url, token=token, timeout=timeout)
