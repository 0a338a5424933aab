"""``gitward appset ...``: list ApplicationSets, read one, preview what generating one would do.

``list`` shows each set with its generators, policy, how many apps it made and whether its last
generation failed; ``get`` adds the apps it made, the ones its policy keeps, the deletions a problem
blocks, and every problem; ``preview`` asks the server to generate the set now and prints the apps it
would make with what would happen to each (create, update, hold, unchanged, conflict, delete, keep,
blocked), touching nothing. Exit status: 0 on success; 1 on any error, and for a preview whose
generation failed or has problems (what it would make is then not what it should).

Deliberately not here: finding the server (``discovery.py``) and the formatting helpers.
"""

from __future__ import annotations

import urllib.parse
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli.apps import CaFile, Output, Server, Timeout, client
from gitward.cli.output import (
    OutputFormat,
    console,
    is_table,
    print_data,
    print_fields,
    print_table,
    reporting_errors,
    timestamp,
)

app = typer.Typer(help="Inspect and preview ApplicationSets on a gitward server.", no_args_is_help=True)

SetName = Annotated[str, typer.Argument(help="ApplicationSet name.")]

_ACTION_STYLE = {"create": "green", "update": "yellow", "delete": "red", "blocked": "red", "conflict": "red"}


def _path(name: str, suffix: str = "") -> str:
    return f"/api/v1/appsets/{urllib.parse.quote(name, safe='')}{suffix}"


def _state(summary: dict[str, Any]) -> str:
    if summary.get("invalid"):
        return "Invalid"
    if summary.get("error"):
        return "Failed"
    if summary.get("problems"):
        return "Problems"
    return "Generated" if summary.get("generatedAt") else "Pending"


@app.command("list")
def list_appsets(
    server: Server = None, ca_file: CaFile = None, output: Output = OutputFormat.TABLE, timeout: Timeout = 30
) -> None:
    """List ApplicationSets: generators, policy, apps made, last generation."""
    with reporting_errors():
        sets = client(server, timeout, ca_file).get("/api/v1/appsets")
    if not is_table(output):
        print_data(sets, output)
        return
    print_table(
        ["NAME", "STATE", "GENERATORS", "POLICY", "APPS", "GENERATED", "MESSAGE"],
        (
            [
                s.get("name"),
                _state(s),
                ", ".join(s.get("generators") or []),
                s.get("applicationsSync") or "",
                s.get("apps"),
                timestamp(s.get("generatedAt")),
                s.get("invalid") or s.get("error") or "",
            ]
            for s in sets
        ),
    )


@app.command("get")
def get_appset(
    name: SetName,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """One ApplicationSet: the apps it made, kept and could not make, and why."""
    with reporting_errors():
        found = client(server, timeout, ca_file).get(_path(name))
    if not is_table(output):
        print_data(found, output)
        return
    print_fields(
        [
            ("Name", found.get("name")),
            ("Kind", found.get("kind") or ""),
            ("State", _state(found)),
            ("Generators", ", ".join(found.get("generators") or [])),
            ("Policy", found.get("applicationsSync") or ""),
            ("Preserve resources", "yes" if found.get("preserveResourcesOnDeletion") else "no"),
            ("Go template", "yes" if found.get("goTemplate") else "no"),
            ("Generated", timestamp(found.get("generatedAt"))),
            ("Parameter sets", found.get("parameterSets")),
            ("Message", found.get("invalid") or found.get("error") or ""),
        ]
    )
    _print_names("Applications", found.get("applications"))
    _print_names("Kept (the policy does not delete them)", found.get("kept"))
    _print_names("Not deleted (the generation had problems)", found.get("blocked"))
    _print_names("Not updated (the policy does not update them)", found.get("held"))
    for problem in found.get("problemMessages") or []:
        console().print(Text(f"problem: {problem}", style="red"))


def _print_names(title: str, names: Any) -> None:
    if names:
        console().print(Text(f"\n{title}: {len(names)}", style="bold"))
        console().print(Text("  " + ", ".join(str(n) for n in names)))


@app.command("preview")
def preview_appset(
    name: SetName,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 120,
) -> None:
    """Generate the set now and print the apps it would make; nothing is changed."""
    with reporting_errors():
        preview = client(server, timeout, ca_file).post(_path(name, "/preview"), timeout=timeout)
    failed = bool(preview.get("error") or preview.get("problems"))
    if not is_table(output):
        print_data(preview, output)
    else:
        _print_preview(preview)
    if failed:
        raise typer.Exit(1)


def _print_preview(preview: dict[str, Any]) -> None:
    out = console()
    if preview.get("error"):
        out.print(Text(f"{preview.get('name')}: generation failed, nothing would change: {preview['error']}"))
        return
    count = preview.get("parameterSets", 0)
    out.print(Text(f"{preview.get('name')}: preview, nothing changed ({count} parameter sets)"))
    rows = []
    for entry in preview.get("apps") or []:
        destination = entry.get("destination") or {}
        action = str(entry.get("action", ""))
        rows.append(
            [
                Text(action, style=_ACTION_STYLE.get(action, "")),
                entry.get("name"),
                entry.get("project"),
                f"{destination.get('cluster', '')}/{destination.get('namespace', '')}",
                entry.get("repoURL"),
                entry.get("path"),
                entry.get("revision"),
            ]
        )
    print_table(["ACTION", "NAME", "PROJECT", "DESTINATION", "REPO", "PATH", "REVISION"], rows)
    for problem in preview.get("problems") or []:
        out.print(Text(f"problem: {problem}", style="red"))
