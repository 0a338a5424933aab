"""``gitward project windows NAME``: a project's sync windows, open or closed, and until when.

One API call (``GET /api/v1/projects/NAME/windows``), printed as a table, open windows first, or as
``-o json|yaml``. Times are shown in UTC, as the status message of a blocked app gives them
("blocked by window NAME until TIME"), so the two can be compared at a glance; APPS lists the
project's applications each window covers.

Deliberately not here: the calendar (the server evaluates the windows at the instant it answers).
"""

from __future__ import annotations

import datetime
import os
import urllib.parse
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli.discovery import connect
from gitward.cli.output import OutputFormat, console, is_table, print_data, print_table, reporting_errors

app = typer.Typer(help="Inspect projects on a gitward server.", no_args_is_help=True)

Server = Annotated[
    str | None,
    typer.Option("--server", help="API URL; default: $GITWARD_SERVER, then the one local gitward run."),
]
CaFile = Annotated[
    Path | None,
    typer.Option(
        "--ca-file", envvar="GITWARD_CA_FILE", help="Certificate (PEM) to trust for an https:// server."
    ),
]
Output = Annotated[OutputFormat, typer.Option("--output", "-o", help="table, json or yaml.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the server.", min=1)]


def utc(value: Any) -> str:
    """Epoch seconds as ``2026-03-29T03:30:00Z``; empty when unknown."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _state(window: dict[str, Any]) -> str:
    if window.get("active"):
        closes = utc(window.get("closes"))
        return f"open until {closes}" if closes else "open (no end in sight)"
    opens = utc(window.get("nextOpen"))
    return f"closed until {opens}" if opens else "closed (never opens again in sight)"


@app.command("windows")
def windows(
    name: Annotated[str, typer.Argument(help="Project name.")],
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """Show the project's sync windows: which are open now, until when, and the apps each covers."""
    path = f"/api/v1/projects/{urllib.parse.quote(name, safe='')}/windows"
    with reporting_errors():
        client = connect(server, environ=os.environ, home=Path.home(), timeout=timeout, ca_file=ca_file)
        answer = client.get(path)
    if not is_table(output):
        print_data(answer, output)
        return
    found = sorted(answer.get("windows") or [], key=lambda w: not w.get("active"))
    if not found:
        console().print(Text(f"project {name} has no sync windows: its apps may sync at any time"))
        return
    active = sum(1 for w in found if w.get("active"))
    console().print(
        Text(f"project {name} at {utc(answer.get('time'))}: {active} of {len(found)} window(s) open")
    )
    print_table(
        ["NAME", "KIND", "STATE", "SCHEDULE", "DURATION", "TIME ZONE", "MANUAL SYNC", "APPS"],
        (
            [
                w.get("name"),
                w.get("kind"),
                _state(w),
                w.get("schedule"),
                w.get("duration"),
                w.get("timeZone"),
                "yes" if w.get("manualSync") else "no",
                ", ".join(w.get("apps") or []),
            ]
            for w in found
        ),
    )
