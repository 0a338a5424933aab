"""``gitward token create|list|revoke``: API tokens, managed through the server's admin-only API.

The commands talk to the server (``/api/v1/tokens``) rather than to its state database: the server is
the one that checks tokens, so a token it made is valid, and one it revoked refused, on the very next
request, and the caller must itself be a global admin (the admin token file, or an admin login).

``create`` prints the token once, alone on stdout (so ``TOKEN=$(gitward token create ...)`` works)
and what it grants on stderr; no other command and no log ever shows it again. ``--expires`` takes
``30d``, ``12h``, ``90m`` (days added to the usual Go durations).

Deliberately not here: the API (``api/token_routes.py``).
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli.apps import CaFile, Output, Server, Timeout, _client
from gitward.cli.client import CliError
from gitward.cli.output import OutputFormat, console, print_data, print_table, reporting_errors, timestamp
from gitward.core.durations import parse_duration

app = typer.Typer(help="Create, list and revoke API tokens (needs an admin).", no_args_is_help=True)

_DAYS = re.compile(r"^(\d+)d(.*)$")


def parse_expiry(text: str) -> float:
    """Seconds in ``30d``, ``1d12h``, ``12h``, ``90m``; raises CliError on anything else."""
    value = text.strip()
    days = _DAYS.match(value)
    try:
        seconds = int(days.group(1)) * 86400.0 if days else 0.0
        rest = days.group(2) if days else value
        seconds += parse_duration(rest) if rest else 0.0
    except ValueError:
        raise CliError(f"--expires must look like 30d, 12h or 90m, got {text!r}") from None
    if seconds <= 0:
        raise CliError("--expires must be longer than zero")
    return seconds


def _grant(token: dict[str, Any]) -> str:
    project = token.get("project")
    return f"{token.get('role')} on {'project ' + project if project else 'every project'}"


@app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help="admin, deployer, viewer or a Role of the config.")],
    project: Annotated[
        str | None, typer.Option("--project", help="Only this project; default: every project.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime: 30d, 12h, 90m; default: none.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="What the token is for (shown in audit).")
    ] = None,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    with reporting_errors():
        body: dict[str, Any] = {"role": role, "name": name or f"{role}-{project or 'all'}"}
        if project is not None:
            body["project"] = project
        if expires is not None:
            body["expiresIn"] = parse_expiry(expires)
        created = _client(server, timeout, ca_file).post("/api/v1/tokens", body=body)
    if output is not OutputFormat.TABLE:
        print_data(created, output)
        return
    typer.echo(created["token"])
    until = f", expires {timestamp(created.get('expiresAt'))}" if created.get("expiresAt") else ""
    note = f"token {created['id']} ({created['name']}): {_grant(created)}{until}; shown only this once"
    console(stderr=True).print(Text(note, style="green"), soft_wrap=True)


def _state(token: dict[str, Any]) -> str:
    if token.get("revokedAt"):
        return "revoked"
    expires = token.get("expiresAt")
    return "expired" if isinstance(expires, int | float) and expires <= time.time() else "active"


@app.command("list")
def list_tokens(
    server: Server = None, ca_file: CaFile = None, output: Output = OutputFormat.TABLE, timeout: Timeout = 30
) -> None:
    """List tokens (never their secrets)."""
    with reporting_errors():
        tokens = _client(server, timeout, ca_file).get("/api/v1/tokens")
    if output is not OutputFormat.TABLE:
        print_data(tokens, output)
        return
    print_table(
        ["ID", "NAME", "ROLE", "PROJECT", "CREATED", "BY", "EXPIRES", "STATE"],
        (
            [
                t.get("id"),
                t.get("name"),
                t.get("role"),
                t.get("project") or "*",
                timestamp(t.get("createdAt")),
                t.get("createdBy"),
                timestamp(t.get("expiresAt")) or "never",
                _state(t),
            ]
            for t in tokens
        ),
    )


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="Token id (see `gitward token list`).")],
    server: Server = None,
    ca_file: CaFile = None,
    timeout: Timeout = 30,
) -> None:
    """Revoke a token: the next request made with it is refused."""
    with reporting_errors():
        if not re.fullmatch(r"[0-9a-f]{1,32}", token_id):
            raise CliError(f"token id must be hexadecimal, got {token_id!r}")
        revoked = _client(server, timeout, ca_file).delete(f"/api/v1/tokens/{token_id}")
    console().print(Text(f"token {revoked['id']} ({revoked['name']}) revoked"), soft_wrap=True)
