"""How results reach the terminal: ``-o json|yaml`` for scripts, rich tables and coloured diffs for people.

Tables printed to a pipe or a file are plain text as kubectl prints them: each column as wide as its
widest cell, three spaces apart, never wrapped (a terminal's width means nothing there, and a
wrapped row breaks ``grep``/``awk``). On a terminal rich fits them to the window. ``-o wide`` adds
columns where a command has more to show; a command without a wide table prints the full answer
as YAML.

Every string that comes from the server is wrapped in ``rich.text.Text`` before it is printed, so a
name or message holding ``[bold]``-like text is shown as it is, never interpreted as markup. Colours
follow the status: Synced/Healthy/Succeeded green, OutOfSync/Degraded/Failed red, Progressing/Running
yellow. Consoles are made per call because test runners swap ``sys.stdout``.

Deliberately not here: paging and colour configuration (rich honours ``NO_COLOR`` and ``TERM``).
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gitward.cli.client import CliError

_STYLE = {
    "Synced": "green",
    "Healthy": "green",
    "Succeeded": "green",
    "Normal": "green",
    "OutOfSync": "red",
    "Degraded": "red",
    "Missing": "red",
    "Failed": "red",
    "Error": "red",
    "Warning": "red",
    "failed": "red",
    "Progressing": "yellow",
    "Running": "yellow",
    "Suspended": "blue",
}


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    WIDE = "wide"
    JSON = "json"
    YAML = "yaml"


def is_table(fmt: OutputFormat) -> bool:
    return fmt in (OutputFormat.TABLE, OutputFormat.WIDE)


def console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False)


def styled(value: Any) -> Text:
    text = "" if value is None else str(value)
    return Text(text, style=_STYLE.get(text, ""))


def print_data(data: Any, fmt: OutputFormat) -> None:
    """Machine-readable output: plain text without colour or markup (``wide``: YAML, see above)."""
    if fmt in (OutputFormat.YAML, OutputFormat.WIDE):
        import yaml  # only for -o yaml: a table or JSON never loads it

        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)
    else:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    out = console()
    if not out.is_terminal:
        typer.echo(plain_table(columns, rows, title=title), nl=False)
        return
    table = Table(*columns, title=title, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        table.add_row(*(styled(cell) for cell in row))
    out.print(table)


def _cell(value: Any) -> str:
    return " ".join(("" if value is None else str(value)).split("\n"))


def plain_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> str:
    """kubectl's layout: full-width columns three spaces apart, no wrapping, no trailing spaces."""
    lines = [list(columns)] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    text = "".join(
        "   ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() + "\n" for line in lines
    )
    return (f"{title}\n" if title else "") + text


def print_fields(pairs: Sequence[tuple[str, Any]]) -> None:
    """``Label: value`` lines; a long value (a URL, a message) stays on its line, never cut or wrapped
    into the next label's column: piped output is plain text, a terminal wraps softly."""
    out = console()
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        if not out.is_terminal:
            typer.echo(f"{label + ':':<{width + 1}} {_cell(value)}".rstrip())
            continue
        line = Text(f"{label + ':':<{width + 1}} ", style="bold")
        line.append_text(styled(value))
        out.print(line, soft_wrap=True)


def print_unified_diff(header: str, diff: str) -> None:
    out = console()
    out.print(Text(header, style="bold"))
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        out.print(Text(line, style=style))


def short(revision: Any) -> str:
    """Commit SHAs shortened like git does; branch and tag names are left alone."""
    text = "" if revision is None else str(revision)
    is_sha = len(text) == 40 and all(c in "0123456789abcdef" for c in text)
    return text[:7] if is_sha else text


def timestamp(value: Any) -> str:
    """Epoch seconds from the API as local ``YYYY-MM-DD HH:MM:SS``; other values as given."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


@contextlib.contextmanager
def reporting_errors() -> Iterator[None]:
    """Turn a CliError into one red line on stderr and exit status 1 (never wrapped: one line)."""
    try:
        yield
    except CliError as exc:
        console(stderr=True).print(Text(f"error: {exc}", style="red"), soft_wrap=True)
        raise typer.Exit(1) from None
