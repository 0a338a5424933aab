"""``gitward health explain KIND NAME``: which rule decided an object's health, and why.

One API call (``GET /api/v1/apps/APP/health/explain``) answers for one of an app's objects: its
health and message, the source that decided (a HealthCheck with its rule and expression, a plugin,
gitward's built-in check for the kind, or the generic rules) and the sources passed over before it.
Without ``--app`` the app is found from the app list: the one whose resources hold that object (an
error names them when several do).

Deliberately not here: the rules (the server evaluates them against its live cache).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Annotated, Any

import typer

from gitward.cli.client import ApiClient, CliError
from gitward.cli.discovery import connect
from gitward.cli.output import OutputFormat, is_table, print_data, print_fields, reporting_errors

app = typer.Typer(help="Explain object health on a gitward server.", no_args_is_help=True)


@app.command("explain")
def explain(
    kind: Annotated[str, typer.Argument(help="Kind, or Kind.group (Certificate.cert-manager.io).")],
    name: Annotated[str, typer.Argument(help="The object's name.")],
    application: Annotated[
        str | None, typer.Option("--app", help="The application that owns it; default: the one that does.")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="The object's namespace.")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="API URL; default: $GITWARD_SERVER, then the one local gitward run."),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", envvar="GITWARD_CA_FILE", help="Certificate (PEM) to trust for https."),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o", help="table, json or yaml.")] = (
        OutputFormat.TABLE
    ),
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the server.", min=1)] = 30,
) -> None:
    """Say which rule decided the health of one of an app's objects, and why."""
    with reporting_errors():
        client = connect(server, environ=os.environ, home=Path.home(), timeout=timeout, ca_file=ca_file)
        owner = application or _owner(client, kind, name, namespace)
        query = {"kind": kind, "objectName": name}
        if namespace is not None:
            query["namespace"] = namespace
        answer = client.get(f"/api/v1/apps/{urllib.parse.quote(owner, safe='')}/health/explain", query=query)
    if not is_table(output):
        print_data(answer, output)
        return
    _print(answer)


def _owner(client: ApiClient, kind: str, name: str, namespace: str | None) -> str:
    """The one app whose resources hold the object; CliError when none or several do."""
    kind_name, dot, group = kind.partition(".")
    owners = sorted(
        {
            str(summary.get("name"))
            for summary in client.get("/api/v1/apps") or []
            for row in summary.get("resources") or []
            if row.get("kind") == kind_name
            and row.get("name") == name
            and (not dot or row.get("group") == group)
            and (namespace is None or row.get("namespace") == namespace)
        }
    )
    if not owners:
        raise CliError(f"no application you can read has a {kind} named {name!r}")
    if len(owners) > 1:
        raise CliError(f"{kind} {name!r} is in several applications ({', '.join(owners)}): give --app")
    return owners[0]


def _print(answer: dict[str, Any]) -> None:
    health, decided = answer.get("health") or {}, answer.get("decidedBy") or {}
    group = f".{answer['group']}" if answer.get("group") else ""
    where = f"{answer.get('namespace')}/" if answer.get("namespace") else ""
    print_fields(
        [
            ("Object", f"{answer.get('kind')}{group} {where}{answer.get('name')}"),
            ("Application", answer.get("app")),
            ("Health", health.get("status")),
            ("Message", health.get("message")),
            ("Decided by", _decided_by(decided)),
            ("Expression", decided.get("expression")),
            ("Passed over", "; ".join(answer.get("passed") or []) or "-"),
        ]
    )


def _decided_by(decided: dict[str, Any]) -> str:
    source, name, rule = decided.get("source"), decided.get("name") or "", decided.get("rule") or ""
    if source == "HealthCheck":
        return f"HealthCheck {name}, {rule}"
    if source == "plugin":
        return f"health plugin {name} ({rule})"
    if source == "built-in":
        return f"built-in check for {name}" + (f": {rule}" if rule else "")
    if source == "generic":
        return f"generic rules ({name}), as no HealthCheck, plugin or built-in check covers the kind"
    return "nothing: the object does not exist"
