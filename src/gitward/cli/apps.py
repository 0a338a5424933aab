"""``gitward app ...``: list, inspect, diff, sync, refresh, roll back and read events over the API.

Each command makes one API call and prints the answer as a table (default) or ``-o json|yaml``.
Exit status: 0 on success, 1 on any error (unreachable server, refused token, engine error, no answer
within ``--timeout``, a sync or rollback whose operation did not succeed). ``diff`` follows diff(1): 0
when live matches desired, 2 when there are differences, 1 on error. ``refresh`` asks the server to
wait for the reconcile at most half its timeout, so a slow reconcile (a cluster that stopped
answering) still gets an answer: the app as it stands, with a note that the refresh goes on.

Deliberately not here: finding the server (``discovery.py``), formatting helpers (``output.py``),
and suspend, resume and terminate (``app_control.py``, added to this group by ``main.py``).
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli.client import ApiClient
from gitward.cli.discovery import connect
from gitward.cli.output import (
    OutputFormat,
    console,
    is_table,
    print_data,
    print_fields,
    print_table,
    print_unified_diff,
    reporting_errors,
    short,
    timestamp,
)

app = typer.Typer(help="Inspect and operate applications on a gitward server.", no_args_is_help=True)

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
Output = Annotated[OutputFormat, typer.Option("--output", "-o", help="table, wide, json or yaml.")]
Name = Annotated[str, typer.Argument(help="Application name.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the server.", min=1)]

DIFF_EXIT_DIFFERENT = 2
MAX_REFRESH_WAIT = 300.0  # the most the server waits for a refresh (the API's bound)


def _client(server: str | None, timeout: float, ca_file: Path | None = None) -> ApiClient:
    return connect(server, environ=os.environ, home=Path.home(), timeout=timeout, ca_file=ca_file)


def _app_path(name: str, suffix: str = "") -> str:
    return f"/api/v1/apps/{urllib.parse.quote(name, safe='')}{suffix}"


def _destination(summary: dict[str, Any]) -> str:
    destination = summary.get("destination") or {}
    return f"{destination.get('cluster', '')}/{destination.get('namespace', '')}"


def _print_summary(summary: dict[str, Any]) -> None:
    sync, health = summary.get("sync") or {}, summary.get("health") or {}
    print_fields(
        [
            ("Name", summary.get("name")),
            ("Project", summary.get("project")),
            ("Repo", summary.get("repoURL")),
            ("Path", summary.get("path")),
            ("Target", summary.get("revision")),
            ("Destination", _destination(summary)),
            ("Sync", sync.get("status")),
            ("Revision", short(sync.get("revision"))),
            ("Health", health.get("status")),
            ("Reason", _reason(summary)),
            ("Message", _message(summary)),
            ("Suspended", _suspended(summary)),
            *_held_back(summary),
        ]
    )
    conditions = summary.get("conditions") or []
    if conditions:
        print_table(
            ["TYPE", "STATUS", "REASON", "MESSAGE"],
            ([c.get("type"), c.get("status"), c.get("reason"), c.get("message")] for c in conditions),
        )
    _print_fights(summary.get("driftFights") or [])
    _print_orphans(summary.get("orphanedResources"))
    resources = summary.get("resources") or []
    if resources:
        print_table(
            ["KIND", "NAMESPACE", "NAME", "SYNC", "HEALTH", "MESSAGE"],
            (
                [
                    r.get("kind"),
                    r.get("namespace"),
                    r.get("name"),
                    r.get("sync"),
                    r.get("health"),
                    r.get("message"),
                ]
                for r in resources
            ),
        )


def _print_fights(fights: list[dict[str, Any]]) -> None:
    """Fields whose self-heal a drift fight paused, and the entry that would end each fight."""
    if not fights:
        return
    print_table(
        ["KIND", "NAMESPACE", "NAME", "FIELD", "MANAGER", "HEALS", "PAUSED UNTIL"],
        (
            [f.get("kind"), f.get("namespace"), f.get("name"), f.get("field"), f.get("manager"),
             f.get("heals"), timestamp(f.get("pausedUntil"))]
            for f in fights
        ),
        title="Drift fights (self-heal of these fields is paused)",
    )  # fmt: skip
    for fight in fights:
        entry = ((fight.get("suggestion") or {}).get("ignoreDifferences") or [{}])[0]
        console().print(
            f"To leave {fight.get('field')} of {fight.get('kind')} {fight.get('name')} to "
            f"{fight.get('manager')}, add to spec.ignoreDifferences: {json.dumps(entry)}",
            markup=False,
            highlight=False,
            soft_wrap=True,  # one line, to copy whole
        )


def _print_orphans(orphans: dict[str, Any] | None) -> None:
    """Objects no app manages in the app's namespaces (when its Project lists them); gitward never
    touches them."""
    if not orphans or not orphans.get("count"):
        return
    rows = orphans.get("resources") or []
    shown = f", the first {len(rows)}" if len(rows) < orphans["count"] else ""
    title = f"Orphaned resources ({orphans['count']}{shown}): no app manages them; gitward leaves them alone"
    print_table(
        ["GROUP", "KIND", "NAMESPACE", "NAME"],
        ([r.get("group"), r.get("kind"), r.get("namespace"), r.get("name")] for r in rows),
        title=title,
    )


def _message(summary: dict[str, Any]) -> str:
    """The app's one current message (the step and object that failed), in full."""
    return str(
        summary.get("statusMessage")
        or summary.get("message")
        or (summary.get("health") or {}).get("message")
        or ""
    )


def _reason(summary: dict[str, Any]) -> str:
    reason = str(summary.get("reason") or "")
    where = summary.get("stepDetail") or summary.get("step") or ""
    return f"{reason} ({where})" if reason and where else reason


def _short_message(summary: dict[str, Any], width: int = 60) -> str:
    """``app list``'s MESSAGE: the first line of the current message, cut to ``width``."""
    lines = _message(summary).strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _suspended(summary: dict[str, Any]) -> str:
    if not summary.get("suspended"):
        return "no"
    reason = summary.get("suspendReason") or ""
    return f"yes ({reason})" if reason else "yes"


def _held_back(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    """The sync window that holds automation back, and a terminate under way, when there are."""
    rows: list[tuple[str, Any]] = []
    window = summary.get("syncWindow") or {}
    if window.get("message"):
        rows.append(("Sync window", window["message"]))
    if summary.get("terminating"):
        rows.append(("Operation", "terminating"))
    elif (summary.get("running") or {}).get("message"):  # what a sync waits for: a wave, a hook
        rows.append(("Operation", f"Running: {summary['running']['message']}"))
    return rows


# Shared with ``app_control.py``, whose commands join this group.
client = _client
app_path = _app_path
print_summary = _print_summary


def _print_operation(operation: dict[str, Any]) -> None:
    print_fields(
        [
            ("Operation", operation.get("id")),
            ("Phase", operation.get("phase")),
            ("Revision", short(operation.get("commit") or operation.get("revision"))),
            ("Message", operation.get("message") or ""),
        ]
    )
    changes = operation.get("resources") or []
    if changes:
        print_table(
            ["KIND", "NAMESPACE", "NAME", "ACTION", "MESSAGE"],
            (
                [c.get("kind"), c.get("namespace"), c.get("name"), c.get("action"), c.get("message")]
                for c in changes
            ),
        )


def _finish_operation(operation: dict[str, Any], fmt: OutputFormat) -> None:
    if is_table(fmt):
        _print_operation(operation)
    else:
        print_data(operation, fmt)
    if operation.get("phase") != "Succeeded":
        raise typer.Exit(1)


@app.command("list")
def list_apps(
    server: Server = None, ca_file: CaFile = None, output: Output = OutputFormat.TABLE, timeout: Timeout = 30
) -> None:
    """List applications with their sync and health status."""
    with reporting_errors():
        apps = _client(server, timeout, ca_file).get("/api/v1/apps")
    if not is_table(output):
        print_data(apps, output)
        return
    wide = output is OutputFormat.WIDE
    print_table(
        ["NAME", "SYNC", "HEALTH", "REVISION", "DESTINATION", "PROJECT"]
        + (["REPO", "PATH", "AUTOMATED", "SUSPENDED", "OPERATION", "MESSAGE"] if wide else ["MESSAGE"]),
        (
            [
                a.get("name"),
                (a.get("sync") or {}).get("status"),
                (a.get("health") or {}).get("status"),
                short((a.get("sync") or {}).get("revision")),
                _destination(a),
                a.get("project"),
                *(_wide_columns(a) if wide else [_short_message(a)]),
            ]
            for a in apps
        ),
    )


def _operation_cell(op: dict[str, Any]) -> str:
    if not op:
        return ""
    return f"#{op.get('id')} {op.get('phase', '')} {timestamp(op.get('finishedAt') or op.get('startedAt'))}"


def _wide_columns(summary: dict[str, Any]) -> list[Any]:
    """What ``list -o wide`` adds: the source, automation and the last operation with its message."""
    op = summary.get("running") or summary.get("operation") or {}
    message = _message(summary) or op.get("message")
    return [
        summary.get("repoURL"),
        summary.get("path") or summary.get("chart") or "",
        "yes" if summary.get("automated") else "no",
        "yes" if summary.get("suspended") else "",
        _operation_cell(op),
        message or "",
    ]


@app.command("get")
def get_app(
    name: Name,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """Show one application: source, destination, status and its resources."""
    with reporting_errors():
        summary = _client(server, timeout, ca_file).get(_app_path(name))
    if output is OutputFormat.TABLE:
        _print_summary(summary)
    else:
        print_data(summary, output)


@app.command("diff")
def diff_app(
    name: Name,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 120,
) -> None:
    """Show what a sync would change. Exit status: 0 no differences, 2 differences, 1 error."""
    with reporting_errors():
        entries = _client(server, timeout, ca_file).get(_app_path(name, "/diff"))
    changed = [e for e in entries if e.get("action") != "none"]
    if output is not OutputFormat.TABLE:
        print_data(entries, output)
    elif not changed:
        console().print(Text(f"{name}: live matches desired", style="green"))
    for entry in changed if output is OutputFormat.TABLE else []:
        where = "/".join(p for p in (entry.get("namespace"), entry.get("name")) if p)
        header = f"=== {entry.get('kind', '')} {where} ({entry.get('action', '')})"
        print_unified_diff(header, entry.get("diff") or "")
    if changed:
        raise typer.Exit(DIFF_EXIT_DIFFERENT)


@app.command("sync")
def sync_app(
    name: Name,
    revision: Annotated[
        str | None, typer.Option("--revision", help="Branch, tag, semver range or SHA.")
    ] = None,
    prune: Annotated[
        bool | None, typer.Option("--prune/--no-prune", help="Override the app's prune.")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Take over fields another field manager owns (server-side apply force)."
        ),
    ] = False,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 600,
    wait: Annotated[
        bool, typer.Option("--wait", help="Show the operation's progress live (on stderr) until it is done.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and what each step would change; touch nothing.")
    ] = False,
) -> None:
    """Sync now and wait for the operation; exit status 1 unless it succeeded."""
    body: dict[str, Any] = {"force": force}
    if revision is not None:
        body["revision"] = revision
    if prune is not None:
        body["prune"] = prune
    if dry_run:
        from gitward.cli.plan import print_plan

        with reporting_errors(), console(stderr=True).status(f"Planning a sync of {name}..."):
            plan = _client(server, timeout, ca_file).post(
                _app_path(name, "/sync"), body=body, query={"dryRun": "true"}
            )
        if is_table(output):
            print_plan(plan)
        else:
            print_data(plan, output)
        return
    if wait:
        from gitward.cli.live import sync_with_progress  # imports this module: loaded on use

        with reporting_errors():
            operation = sync_with_progress(_client(server, timeout, ca_file), name, body)
        _finish_operation(operation, output)
        return
    with reporting_errors(), console(stderr=True).status(f"Syncing {name}..."):
        operation = _client(server, timeout, ca_file).post(_app_path(name, "/sync"), body=body)
    _finish_operation(operation, output)


@app.command("refresh")
def refresh_app(
    name: Name,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 60,
) -> None:
    """Fetch the source now and reconcile; shows the application afterwards."""
    wait = {"wait": f"{min(timeout / 2, MAX_REFRESH_WAIT):g}"}
    with reporting_errors(), console(stderr=True).status(f"Refreshing {name}..."):
        summary = _client(server, timeout, ca_file).post(_app_path(name, "/refresh"), query=wait)
    if output is OutputFormat.TABLE:
        _print_summary(summary)
    else:
        print_data(summary, output)
    if summary.get("refreshing"):
        note = f"{name}: still reconciling after {wait['wait']}s; `gitward app get {name}` shows the outcome"
        console(stderr=True).print(Text(note, style="yellow"))


@app.command("history")
def history(
    name: Name,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """Past syncs; their ID is what `rollback` takes. Repeated identical heals share one entry: COUNT
    says how many, FINISHED when the last one ended; DEPLOYED marks new commits (kept longest); BY
    names who asked for it through the API (empty for gitward's own syncs)."""
    with reporting_errors():
        entries = _client(server, timeout, ca_file).get(_app_path(name, "/history"))
    if output is not OutputFormat.TABLE:
        print_data(entries, output)
        return
    print_table(
        [
            "ID",
            "REVISION",
            "COMMIT",
            "PHASE",
            "STARTED",
            "FINISHED",
            "COUNT",
            "DEPLOYED",
            "TRIGGER",
            "BY",
            "MESSAGE",
        ],
        (
            [
                e.get("id"),
                short(e.get("revision")),
                short(e.get("commit")),
                e.get("phase"),
                timestamp(e.get("startedAt") or e.get("deployedAt")),
                timestamp(e.get("finishedAt")),
                e.get("count", 1),
                "yes" if e.get("deployed") else "",
                e.get("trigger"),
                e.get("initiator") or "",
                e.get("message"),
            ]
            for e in entries
        ),
    )


@app.command("rollback")
def rollback(
    name: Name,
    history_id: Annotated[
        int, typer.Argument(metavar="ID", help="History ID (see `gitward app history`).", min=0)
    ],
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 600,
) -> None:
    """Sync the revision of a history entry; automated sync is suspended for the app."""
    with reporting_errors(), console(stderr=True).status(f"Rolling back {name} to {history_id}..."):
        operation = _client(server, timeout, ca_file).post(_app_path(name, f"/rollback/{history_id}"))
    _finish_operation(operation, output)


@app.command("events")
def events(
    name: Annotated[str | None, typer.Argument(help="Only this application's events.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 100,
    server: Server = None,
    ca_file: CaFile = None,
    output: Output = OutputFormat.TABLE,
    timeout: Timeout = 30,
) -> None:
    """Recent events, newest last."""
    query = {"limit": str(limit)}
    if name is not None:
        query["app"] = name
    with reporting_errors():
        items = _client(server, timeout, ca_file).get("/api/v1/events", query=query)
    if output is not OutputFormat.TABLE:
        print_data(items, output)
        return
    print_table(
        ["TIME", "APP", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        (
            [
                timestamp(e.get("time")),
                e.get("app"),
                e.get("type"),
                e.get("reason"),
                e.get("object"),
                e.get("message"),
            ]
            for e in reversed(items)
        ),
    )
