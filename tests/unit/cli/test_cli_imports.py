"""What importing and running the CLI loads: a fresh interpreter per check, its ``sys.modules`` read
after the command has run (docs/architecture.md, "Start-up: what the CLI imports").

The commands are imported only when they run (``cli/lazygroup.py``), so ``gitward --help`` and a
client command like ``gitward app list`` must not load the engine, the API server, the cluster
client or the libraries behind them. Speed itself is measured by ``./dev bench startup``, never
asserted here.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.unit.cli.conftest import CLI_TOKEN, Served
from typer.testing import CliRunner

from gitward.cli.main import COMMANDS, app

# Loaded by nothing a client command or the help needs: the engine and its libraries.
SERVER_SIDE = (
    "gitward.reconcile",
    "gitward.api",
    "gitward.ui",
    "gitward.cluster",
    "gitward.store",
    "gitward.sources",
    "gitward.render",
    "gitward.install",
    "gitward.model",
    "gitward.notify",
    "gitward.cli.run",
    "gitward.cli.bootstrap",
    "gitward.cli.install",
    "gitward.cli.preview",
    "cel",
    "prompt_toolkit",
    "aiohttp",
    "uvloop",
    "httpx",
    "lightkube",
    "lightkube.models",
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "sqlalchemy",
    "pygit2",
    "cryptography",
    "jwt",
)
# Not even the client's own pieces: importing the entry point loads typer and the command table.
CLIENT_SIDE = ("gitward.cli.apps", "gitward.cli.client", "gitward.cli.output", "rich", "pydantic", "yaml")

# Run in the child: dump ``sys.modules`` to the file named first once the command has exited.
_DUMP = """
import atexit, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
{body}
"""
_RUN_CLI = "from gitward.cli.main import app\napp(prog_name='gitward')"


def loaded_after(tmp_path: Path, body: str, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``body`` with ``args`` as its argv."""
    out = tmp_path / "modules.txt"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("GITWARD_")}
    child_env.update({"HOME": str(tmp_path / "home"), "XDG_STATE_HOME": str(tmp_path / "state")})
    child_env.update(env or {})
    code = _DUMP.format(body=body)
    done = subprocess.run(
        [sys.executable, "-c", code, str(out), *args],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(out.read_text().split())


def present(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name in modules]


def test_importing_the_entry_point_loads_no_command(tmp_path: Path) -> None:
    modules = loaded_after(tmp_path, "import gitward.cli.main")

    assert "gitward.cli.main" in modules
    assert present(modules, SERVER_SIDE + CLIENT_SIDE) == []


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    modules = loaded_after(tmp_path, _RUN_CLI, "--help", env={"COLUMNS": "200"})

    assert present(modules, SERVER_SIDE) == []
    assert present(modules, ("gitward.cli.apps", "gitward.cli.login", "gitward.cli.tokens")) == []


def test_help_shows_each_command_with_its_summary(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0, result.output
    rows = [line[2:] for line in result.stdout.splitlines() if line.startswith("│ ") and line[2:3].strip()]
    commands = [row.split()[0] for row in rows if not row.startswith("-")]
    assert commands == [command.name for command in COMMANDS]
    assert "Inspect and operate applications on a gitward server." in result.stdout


def test_app_list_over_the_api_loads_no_engine_module(tmp_path: Path, served: Served) -> None:
    modules = loaded_after(
        tmp_path, _RUN_CLI, "app", "list", "--server", served.url, env={"GITWARD_TOKEN": CLI_TOKEN}
    )

    assert "gitward.cli.apps" in modules  # it ran (the command fails the child otherwise)
    assert present(modules, SERVER_SIDE) == []


def _first_paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_each_summary_is_its_commands_own_help(command: object) -> None:
    """The text ``gitward --help`` shows before a command is imported is the command's own."""
    from gitward.cli.lazygroup import LazyCommand

    assert isinstance(command, LazyCommand)
    real = command.click_command()
    assert real.name == command.name
    assert _first_paragraph(command.summary) == _first_paragraph(real.help or "")


def test_app_group_keeps_its_added_commands(runner: CliRunner) -> None:
    """``app`` is assembled from three modules when it is first resolved, once, however often run."""
    for _ in range(2):
        result = runner.invoke(app, ["app", "--help"])
        assert result.exit_code == 0, result.output
    for name in ("list", "sync", "suspend", "resume", "terminate", "delete", "watch"):
        assert f"│ {name} " in result.stdout
    assert result.stdout.count("│ watch ") == 1
