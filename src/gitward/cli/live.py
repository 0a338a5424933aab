"""``gitward app watch NAME`` and the progress of ``gitward app sync NAME --wait``: the live stream
(``GET /api/v1/stream?app=NAME``, the one the web UI follows) in the terminal.

``watch`` shows the app's sync, health, revision and operation, redrawn in place on a terminal and
one line per change otherwise (a log a script can read); when an operation finishes it shows what
the operation did per resource. ``--until synced`` ends when the app is Synced and Healthy,
``--until done`` when the next operation finishes (exit status 1 unless it succeeded).

``sync --wait`` opens the stream before it asks for the sync, prints each step of the operation on
stderr as it happens, and ends with the operation as ``sync`` prints it. A sync the server answers
before it has finished (Running) is followed on the stream until it has.

Deliberately not here: the other ``app`` commands (``apps.py``) and the stream's format (``client``).
"""

from __future__ import annotations

import datetime
import enum
import os
import queue
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gitward.cli.apps import CaFile, Name, Server
from gitward.cli.client import ApiClient, CliError
from gitward.cli.discovery import connect
from gitward.cli.output import console, reporting_errors, short, styled

TERMINAL_PHASES = ("Succeeded", "Failed", "Error", "Terminated")
#: Seconds the stream may lag behind a finished sync's answer (it sends changes in batches).
STREAM_CATCH_UP = 3.0


class Until(enum.StrEnum):
    SYNCED = "synced"
    DONE = "done"


def _path(name: str, suffix: str = "") -> str:
    return f"/api/v1/apps/{urllib.parse.quote(name, safe='')}{suffix}"


def state_of(summary: dict[str, Any]) -> dict[str, Any]:
    """An app summary (``GET /apps/NAME``) in the shape of a stream event."""
    sync, health = summary.get("sync") or {}, summary.get("health") or {}
    return {
        "app": summary.get("name", ""),
        "sync": sync.get("status", "Unknown"),
        "revision": sync.get("revision", ""),
        "health": health.get("status", "Unknown"),
        "healthMessage": health.get("message", ""),
        "suspended": bool(summary.get("suspended")),
        "message": summary.get("message", ""),
        "operation": summary.get("running") or summary.get("operation"),
    }


def line_of(state: dict[str, Any]) -> str:
    """One line per change: time, sync, health, revision, operation, message."""
    now = datetime.datetime.now().strftime("%H:%M:%S")
    op = state.get("operation") or {}
    parts = [now, str(state.get("sync")), str(state.get("health")), short(state.get("revision"))]
    if op:
        parts.append(f"op#{op.get('id')} {op.get('phase', '')}")
    message = op.get("message") or state.get("message") or state.get("healthMessage") or ""
    if message:
        parts.append(str(message))
    return "  ".join(p for p in parts if p)


def _view(state: dict[str, Any], changes: list[dict[str, Any]]) -> Group:
    op = state.get("operation") or {}
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_row(Text("Sync", style="bold"), styled(state.get("sync")), Text(short(state.get("revision"))))
    table.add_row(
        Text("Health", style="bold"), styled(state.get("health")), Text(str(state.get("healthMessage") or ""))
    )
    if op:
        who = f" by {op['initiator']}" if op.get("initiator") else ""
        table.add_row(
            Text("Operation", style="bold"),
            styled(op.get("phase")),
            Text(f"#{op.get('id')} {op.get('trigger', '')}{who}: {op.get('message') or ''}"),
        )
    parts: list[Any] = [table]
    if changes:
        results = Table("KIND", "NAMESPACE", "NAME", "ACTION", "MESSAGE", box=None, header_style="bold")
        for c in changes[:40]:
            results.add_row(*(styled(c.get(k)) for k in ("kind", "namespace", "name", "action", "message")))
        parts.append(results)
    return Group(*parts)


def _finished(state: dict[str, Any], start_op: Any, until: Until | None) -> bool:
    op = state.get("operation") or {}
    if until is Until.SYNCED:
        return state.get("sync") == "Synced" and state.get("health") == "Healthy"
    if until is Until.DONE:
        return bool(op) and op.get("id") != start_op and op.get("phase") in TERMINAL_PHASES
    return False


def _changes_of(api: ApiClient, name: str, op_id: Any) -> list[dict[str, Any]]:
    for entry in api.get(_path(name, "/history")):
        if entry.get("id") == op_id:
            return list(entry.get("resources") or [])
    return []


def follow(
    api: ApiClient,
    name: str,
    *,
    until: Until | None,
    show: Callable[[dict[str, Any], list[dict[str, Any]]], None],
) -> dict[str, Any]:
    """Show the app, then each change, until ``until`` holds; returns the last state. The app is
    read once the stream is open, so no change falls between the two."""
    events = api.events("/api/v1/stream", query={"app": name})
    next(events)  # ("open", {})
    state = state_of(api.get(_path(name)))
    start_op = (state.get("operation") or {}).get("id")
    changes: list[dict[str, Any]] = []
    show(state, changes)
    if _finished(state, start_op, until):
        return state
    for kind, data in events:
        if kind == "end":
            console(stderr=True).print(Text(f"stream ended: {data.get('reason', '')}"), soft_wrap=True)
            break
        if kind == "reset":
            data = state_of(api.get(_path(name)))
        elif kind != "status":
            continue
        op = data.get("operation") or {}
        if op.get("phase") in TERMINAL_PHASES and op.get("id") != (state.get("operation") or {}).get("id"):
            changes = _changes_of(api, name, op.get("id"))
        state = data
        show(state, changes)
        if _finished(state, start_op, until):
            break
    return state


def watch(
    name: Name,
    until: Annotated[
        Until | None,
        typer.Option("--until", help="synced: stop once Synced and Healthy; done: after the next operation."),
    ] = None,
    server: Server = None,
    ca_file: CaFile = None,
) -> None:
    """Follow an application live: sync, health and the operation in progress (Ctrl-C stops)."""
    with reporting_errors():
        api = connect(server, environ=os.environ, home=Path.home(), timeout=30, ca_file=ca_file)
        out = console()
        try:
            if out.is_terminal:
                with Live(console=out, auto_refresh=False) as live:
                    state = follow(
                        api, name, until=until, show=lambda s, c: live.update(_view(s, c), refresh=True)
                    )
            else:
                state = follow(api, name, until=until, show=lambda s, c: typer.echo(line_of(s)))
        except KeyboardInterrupt:
            return
    if until is Until.DONE and (state.get("operation") or {}).get("phase") != "Succeeded":
        raise typer.Exit(1)


def sync_with_progress(api: ApiClient, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Ask for the sync while following the app's stream; print each step on stderr; return the
    finished operation."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    opened = threading.Event()

    def stream() -> None:
        try:
            for kind, data in api.events("/api/v1/stream", query={"app": name}):
                opened.set()  # the first item ("open") comes once the server has answered
                items.put((kind, data))
        except CliError as err:
            items.put(("stream-error", err))
        finally:
            opened.set()

    threading.Thread(target=stream, name="gitward-stream", daemon=True).start()
    opened.wait(timeout=api.timeout)  # the sync is asked for once the stream is open: no step is missed

    def ask() -> None:
        try:
            items.put(("answer", api.post(_path(name, "/sync"), body=body)))
        except CliError as err:
            items.put(("error", err))

    threading.Thread(target=ask, name="gitward-sync", daemon=True).start()
    err_out = console(stderr=True)
    answer: dict[str, Any] | None = None
    catch_up = 0.0  # once answered: how long the stream may still take to show the last steps
    while True:
        wait = api.timeout if answer is None else max(0.0, catch_up - time.monotonic())
        try:
            kind, data = items.get(timeout=wait)
        except queue.Empty:
            if answer is not None:
                return answer
            raise CliError(
                f"no answer from gitward server at {api.base_url} within {api.timeout:g}s"
            ) from None
        if kind == "error":
            raise data
        if kind == "status":
            err_out.print(Text(line_of(data)), soft_wrap=True)
            op = data.get("operation") or {}
            if answer is not None and op.get("id") == answer.get("id") and op.get("phase") in TERMINAL_PHASES:
                return {
                    **answer,
                    **op,
                    "resources": answer.get("resources") or _changes_of(api, name, op.get("id")),
                }
        elif kind == "answer":
            answer = data
            catch_up = time.monotonic() + (
                STREAM_CATCH_UP if answer.get("phase") in TERMINAL_PHASES else api.timeout
            )


def register(group: typer.Typer) -> None:
    """Add ``watch`` to the ``app`` group."""
    group.command("watch")(watch)
