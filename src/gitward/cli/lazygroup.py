"""The ``gitward`` command group whose commands are imported only when one of them runs.

Why: every ``gitward`` invocation pays for what importing its command modules loads. ``gitward run``
needs the engine, ``bootstrap`` the install manifests and the pydantic model, ``app list`` only an
HTTP client; importing them all made ``gitward --help`` and ``gitward app list`` take over a second
(docs/architecture.md, "Start-up: what the CLI imports").

Each command is named here with its module and the first paragraph of its help: ``gitward --help``
lists them from that text without importing anything, and the command's module is imported when the
command is resolved (to run it, to print its own ``--help``, or to complete its arguments). A unit
test holds each summary equal to the help of the command it stands for.

Deliberately not here: which commands exist (``main.py``) and any command's logic.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """A command (a function) or a group of commands (a ``typer.Typer``) found at ``target``,
    ``"module:attribute"``, or made by ``load`` when the group needs set-up after import."""

    name: str
    summary: str  # the first paragraph of the command's help, as ``gitward --help`` lists it
    target: str = ""
    load: Callable[[], typer.Typer | Callable[..., Any]] | None = field(default=None, compare=False)

    def resolve(self) -> typer.Typer | Callable[..., Any]:
        """The Typer group or the command function, importing its module."""
        if self.load is not None:
            return self.load()
        module_name, _, attribute = self.target.partition(":")
        found: typer.Typer | Callable[..., Any] = getattr(importlib.import_module(module_name), attribute)
        return found

    def click_command(self) -> Any:
        """The click command typer builds for it, exactly as for one registered eagerly (``Any``:
        typer types its click objects with its private copy of click)."""
        holder = typer.Typer()
        target = self.resolve()
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=self.name)
        else:
            holder.command(self.name)(target)
        return typer.main.get_group(holder).commands[self.name]


class _Summary(TyperCommand):
    """What ``gitward --help`` and shell completion list for a command not yet imported."""

    def invoke(self, ctx: Any) -> Any:
        raise AssertionError(f"command {self.name!r} was run before it was imported")


class LazyGroup(TyperGroup):
    """A ``TyperGroup`` whose ``lazy`` commands are summaries until resolved; subclasses set ``lazy``."""

    lazy: Sequence[LazyCommand] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.lazy:
            if command.name not in self.commands:
                self.commands[command.name] = _Summary(name=command.name, help=command.summary)

    def load(self, name: str) -> None:
        """Import the command ``name`` (no-op for an unknown or already imported one)."""
        if not isinstance(self.commands.get(name), _Summary):
            return
        for command in self.lazy:
            if command.name == name:
                self.commands[name] = command.click_command()
                return

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args:
            self.load(args[0])
        return super().resolve_command(ctx, args)
