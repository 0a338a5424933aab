"""``gitward render PATH``: render a local directory offline, exactly as the engine would.

Plain YAML, Kustomize or Helm is detected by ``gitward.render``; the result is printed as a YAML
stream (default) or a JSON list, so it can be piped into ``kubectl diff -f -``. Nothing talks to a
cluster or a server.

Deliberately not here: fetching from Git (render a checkout) and applying.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from gitward.cli.client import CliError
from gitward.cli.output import reporting_errors
from gitward.core.errors import GitwardError


def _render_local(path: Path, helm_values: list[Path]) -> list[dict[str, Any]]:
    # Imported on use: rendering pulls in the tool runners, which other commands never need.
    from gitward.render import render_local

    try:
        return render_local(path, helm_values=tuple(helm_values))
    except GitwardError as exc:
        raise CliError(f"{exc.reason}: {exc.message}") from None


def render(
    path: Annotated[Path, typer.Argument(help="Directory to render.", exists=True, file_okay=False)],
    helm_values: Annotated[
        list[Path] | None,
        typer.Option("--helm-values", help="Helm values file; repeatable, later wins.", exists=True),
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="yaml or json.")] = "yaml",
) -> None:
    """Render manifests from a local directory and print them."""
    with reporting_errors():
        if output not in ("yaml", "json"):
            raise CliError(f"-o must be yaml or json, got {output!r}")
        result = _render_local(path, list(helm_values or []))
    manifests = [dict(m) for m in result]
    if output == "json":
        typer.echo(json.dumps(manifests, indent=2, ensure_ascii=False))
    else:
        typer.echo(yaml.safe_dump_all(manifests, sort_keys=False, allow_unicode=True), nl=False)
