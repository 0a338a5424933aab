"""``gitward preview``: what a pull request would change, per app and cluster, before it is merged.

``gitward preview --repo URL --base REV --head REV [--config DIR] [-o markdown|json]`` renders every
app of the repository at both revisions with the engine's own steps and dry-runs the head against
the live clusters (``reconcile/preview.py``); it writes nothing anywhere: no object, no state
database (none is opened). Markdown (the default) fits a pull-request comment
(``previewmarkdown.py``); JSON has the whole report.

``--config``: an existing local file or folder is the gitward config (read as ``gitward run
--config`` reads it), the same for both revisions; anything else is a path inside the repository,
read at each revision. ``gitward run`` has no default config location, so without ``--config`` the
command says what to pass. ``--credentials`` names Repository objects (credentials from files) for
every fetch: the repository must be fetched before a config inside it can be read.

Exit status: 0 when the preview ran, whatever it found (policy violations included); 1 when it ran
but some app could not be previewed (its render failed, its cluster could not be reached, the head's
config refuses it): the whole report is printed first; 2 when it could not run at all (a revision
that does not exist, an unreadable config, bad options), with one line on stderr and nothing on
stdout. Logs go to stderr at warning level.

Deliberately not here: the preview itself (``reconcile/preview.py``).
"""

from __future__ import annotations

import asyncio
import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from gitward.cli.logsetup import LogFormat, LogLevel, configure_logging
from gitward.cli.output import console
from gitward.cli.previewmarkdown import GITHUB_COMMENT_LIMIT, render_markdown
from gitward.core.errors import GitwardError
from gitward.core.redact import redact_url
from gitward.core.repourl import credential_in

EXIT_APP_FAILED = 1
EXIT_NOT_PREVIEWED = 2


class PreviewFormat(enum.StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"


def _fail(message: str) -> typer.Exit:
    console(stderr=True).print(Text(f"error: {message}", style="red"), soft_wrap=True)
    return typer.Exit(EXIT_NOT_PREVIEWED)


def _config_source(config: str | None) -> Any:
    from gitward.reconcile.preview import ConfigSource

    if config is None or not config.strip():
        raise _fail(
            "give --config: the gitward config as a local file or folder (as for gitward run --config), "
            "or a path inside the repository to read at --base and at --head"
        )
    local = Path(config).expanduser()
    if local.exists():
        return ConfigSource(local=local.absolute())
    return ConfigSource(in_repository=config)


def preview(
    repo: Annotated[
        str, typer.Option("--repo", help="The Git repository the change is in (its apps' repoURL).")
    ],
    base: Annotated[
        str, typer.Option("--base", help="The revision the change starts from (branch, tag, SHA).")
    ],
    head: Annotated[str, typer.Option("--head", help="The revision with the change (branch, tag, SHA).")],
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            help="The gitward config: a local file or folder, else a path inside the repository.",
        ),
    ] = None,
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            exists=True,
            help="Repository objects (YAML file or folder) with the credentials to fetch the repository.",
        ),
    ] = None,
    output: Annotated[
        PreviewFormat, typer.Option("--output", "-o", help="markdown (a pull-request comment) or json.")
    ] = PreviewFormat.MARKDOWN,
    max_chars: Annotated[
        int,
        typer.Option("--max-chars", min=2000, help="Longest Markdown to print (GitHub's comment limit)."),
    ] = GITHUB_COMMENT_LIMIT,
) -> None:
    """Show what the head revision would create, change and prune in each app's cluster; write nothing."""
    if credential_in(repo):
        raise _fail(
            f"--repo {redact_url(repo)} holds {credential_in(repo)}; give credentials in a Repository"
        )
    source = _config_source(config)
    configure_logging(LogFormat.CONSOLE, LogLevel.WARNING)
    # Imported on use: the engine's steps pull in the tool runners and the cluster client.
    from gitward.reconcile.preview import PreviewRequest, load_credentials, run_preview

    try:
        repositories = load_credentials(credentials) if credentials is not None else ()
        request = PreviewRequest(repo=repo, base=base, head=head, config=source, credentials=repositories)
        report = asyncio.run(run_preview(request))
    except GitwardError as err:
        raise _fail(f"could not preview: {err.message}") from None
    if output is PreviewFormat.JSON:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_markdown(report, max_chars=max_chars), nl=False)
    failed, errors = report["summary"]["failed"], len(report["configErrors"])
    if failed or errors:
        console(stderr=True).print(
            Text(f"preview incomplete: {failed} app(s) could not be previewed, {errors} config error(s)"),
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_APP_FAILED)
