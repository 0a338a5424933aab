"""``gitward``: the command line entry point (console script ``gitward = gitward.cli.main:app``).

Commands: ``run`` (the standalone server), ``app ...`` (talk to a server over its API), ``appset
...`` (ApplicationSets: list, get, preview), ``project ...`` (a project's sync windows),
``health explain`` (which rule decided an object's health), ``token ...`` (API tokens),
``login``/``logout`` (OIDC single sign-on), ``render`` (offline rendering of a local directory),
``preview`` (what a change of a repository would do, for pull requests),
``crds``/``install``/``bootstrap`` (running in a cluster) and ``version``. Each group lives in its
own module; this one only names them, and none is imported until it runs (``lazygroup.py``), so
importing this module loads typer and nothing of gitward's own beyond the package.

Deliberately not here: any command logic.
"""

from __future__ import annotations

import functools

import typer

from gitward.cli.lazygroup import LazyCommand, LazyGroup


@functools.cache
def app_group() -> typer.Typer:
    """``gitward app``: the commands of ``apps.py`` with suspend, resume, terminate and delete
    (``app_control.py``) and watch (``live.py``) added, once."""
    from gitward.cli import app_control, apps, live

    app_control.register(apps.app)
    live.register(apps.app)
    return apps.app


def version() -> None:
    """Print gitward's version."""
    import gitward

    typer.echo(f"gitward {gitward.__version__}")


# In the order ``gitward --help`` lists them; each summary is its command's first help paragraph
# (tests/unit/cli/test_cli_imports.py holds them equal).
COMMANDS = (
    LazyCommand(
        "login",
        "Log in through the server's OIDC provider (browser, authorization code flow with PKCE).",
        "gitward.cli.login:login",
    ),
    LazyCommand("logout", "Forget the login stored for a server.", "gitward.cli.login:logout"),
    LazyCommand(
        "run",
        "Run the engine and its HTTP API until SIGINT or SIGTERM; the config from files (--config) or "
        "from the cluster's custom resources (--from-cluster).",
        "gitward.cli.run:run",
    ),
    LazyCommand(
        "render", "Render manifests from a local directory and print them.", "gitward.cli.render:render"
    ),
    LazyCommand(
        "preview",
        "Show what the head revision would create, change and prune in each app's cluster; write nothing.",
        "gitward.cli.preview:preview",
    ),
    LazyCommand(
        "crds",
        "Print gitward's CustomResourceDefinitions (group gitward.dev) as YAML.",
        "gitward.cli.install:crds",
    ),
    LazyCommand(
        "install",
        "Install gitward into a cluster (CRDs, RBAC, the controller), or print it all with --export.",
        "gitward.cli.install:install",
    ),
    LazyCommand(
        "bootstrap",
        "Commit gitward's install and its own Application to Git, then apply them to the cluster.",
        "gitward.cli.bootstrap:bootstrap",
    ),
    LazyCommand("version", "Print gitward's version.", load=lambda: version),
    LazyCommand("app", "Inspect and operate applications on a gitward server.", load=app_group),
    LazyCommand(
        "appset", "Inspect and preview ApplicationSets on a gitward server.", "gitward.cli.appsets:app"
    ),
    LazyCommand("project", "Inspect projects on a gitward server.", "gitward.cli.projects:app"),
    LazyCommand("token", "Create, list and revoke API tokens (needs an admin).", "gitward.cli.tokens:app"),
    LazyCommand("health", "Explain object health on a gitward server.", "gitward.cli.health:app"),
)


class GitwardCommands(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="gitward",
    cls=GitwardCommands,
    help="GitOps continuous delivery: Git to Kubernetes, converged, healed, pruned and recorded.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals could hold a token
)


@app.callback()
def _group() -> None:
    # A Typer with no command of its own becomes a click group only when it has a callback; the
    # commands are all in COMMANDS.
    pass


if __name__ == "__main__":
    app()
