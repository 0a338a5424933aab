"""``gitward app suspend|resume|terminate|delete NAME``: what holds an app's automation back, and
removing an app the config no longer declares, over the API.

``suspend`` and ``resume`` answer with the app as ``app get`` shows it (``resume`` queues a sync at
once; a ``spec.suspend: true`` in the configuration is refused, only the configuration lifts it).
``terminate`` answers with the operation it asked to stop at its next step; with no operation
running there is nothing to stop, which it says, exiting 1. ``delete`` removes an app that is no
longer declared, its objects handled as ``--cascade`` says (default: the app's deletionPolicy); an app
the config declares is refused, naming the file to remove it from. The commands join the ``app`` group
(``register``), sharing its options.

Deliberately not here: the other ``app`` commands (``apps.py``).
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli.apps import CaFile, Name, Output, Server, Timeout, app_path, client, print_summary
from gitward.cli.output import OutputFormat, console, is_table, print_data, reporting_errors


def _show_app(summary: dict[str, Any], output: OutputFormat) -> None:
    if is_table(output):
        print_summary(summary)
    else:
        print_data(summary, output)


def suspend(
    name: Name,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """Stop automated sync and self-heal until `resume`; what is deployed stays as it is."""
    with reporting_errors():
        _show_app(client(server, timeout, ca_file).post(app_path(name, "/suspend")), output)


def resume(
    name: Name,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """Resume automated sync at the tracked revision (also after a rollback); a sync follows at once."""
    with reporting_errors():
        _show_app(client(server, timeout, ca_file).post(app_path(name, "/resume")), output)


def terminate(
    name: Name,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """Stop the running operation at its next step; it is recorded as Terminated. Exit status 1 when
    no operation is running (nothing to stop)."""
    with reporting_errors():
        answer = client(server, timeout, ca_file).post(app_path(name, "/terminate"))
    if not is_table(output):
        print_data(answer, output)
        return
    operation = answer.get("operation") or {}
    console().print(Text(f"{name}: terminating operation {operation.get('id')}: {answer.get('message', '')}"))


class Cascade(enum.StrEnum):
    ORPHAN = "orphan"
    FOREGROUND = "foreground"
    BACKGROUND = "background"


def delete(
    name: Name,
    cascade: Annotated[
        Cascade | None,
        typer.Option(
            help="orphan: keep the objects, release gitward's marks; foreground/background: delete them "
            "(default: the app's deletionPolicy)"
        ),
    ] = None,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 120,
) -> None:
    """Remove an application the config no longer declares. An app declared in the config is
    refused: remove it from its file, and its deletionPolicy decides what happens to its objects."""
    path = app_path(name, "") + (f"?cascade={cascade.value}" if cascade else "")
    with reporting_errors():
        answer = client(server, timeout, ca_file).delete(path)
    if not is_table(output):
        print_data(answer, output)
        return
    console().print(Text(str(answer.get("message") or f"{name}: removed")))


def register(group: typer.Typer) -> None:
    group.command("suspend")(suspend)
    group.command("resume")(resume)
    group.command("terminate")(terminate)
    group.command("delete")(delete)
