"""``gitward``: the command line entry point (console script ``gitward = gitward.cli.main:app``).

Commands: ``run`` (the standalone server), ``app ...`` (talk to a server over its API), ``appset
...`` (ApplicationSets: list, get, preview), ``project ...`` (a project's sync windows),
``health explain`` (which rule decided an object's health), ``token ...`` (API tokens),
``login``/``logout`` (OIDC single sign-on), ``render`` (offline rendering of a local directory),
``preview`` (what a change of a repository would do, for pull requests),
``crds``/``install``/``bootstrap`` (running in a cluster) and ``version``. Each group lives in its
own module; this one only assembles them.

Deliberately not here: any command logic.
"""

from __future__ import annotations

import typer

import gitward
from gitward.cli import (
    app_control,
    apps,
    appsets,
    bootstrap,
    health,
    install,
    live,
    login,
    preview,
    projects,
    render,
    run,
    tokens,
)

app = typer.Typer(
    name="gitward",
    help="GitOps continuous delivery: Git to Kubernetes, converged, healed, pruned and recorded.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals could hold a token
)
app_control.register(apps.app)
live.register(apps.app)  # app watch
app.add_typer(apps.app, name="app")
app.add_typer(appsets.app, name="appset")
app.add_typer(projects.app, name="project")
app.add_typer(tokens.app, name="token")
app.add_typer(health.app, name="health")
app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("run")(run.run)
app.command("render")(render.render)
app.command("preview")(preview.preview)
app.command("crds")(install.crds)
app.command("install")(install.install)
app.command("bootstrap")(bootstrap.bootstrap)


@app.command("version")
def version() -> None:
    """Print gitward's version."""
    typer.echo(f"gitward {gitward.__version__}")


if __name__ == "__main__":
    app()
