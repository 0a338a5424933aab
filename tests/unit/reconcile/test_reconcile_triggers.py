"""A push wakes each app of the repository once, found by name: the apps are never compared as
whole runtimes (that comparison was quadratic: a webhook took 30 s at 10,000 apps)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest
from tests.unit.reconcile.test_reconcile_scheduler import World, application

from gitward.model import Application, load_objects
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.queue import WorkQueue
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.triggers import RepositoryTriggers

pytestmark = pytest.mark.unit

REPO = "https://git.example.com/a.git"


class HeldMirror:
    """The mirror already holds what was pushed (no fetch); every app's input is new."""

    def holds(self, url: str, refs: Mapping[str, str]) -> bool:
        return True


class NewInputs:
    git = HeldMirror()

    async def current_input(self, app: Application, revision: str, previous: str | None) -> str:
        return f"tree-after-push-{app.name}"


class Queued:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, name: str, **_: Any) -> None:
        self.names.append(name)


def _two_sources(name: str) -> Application:
    """An app reading two folders of the same repository (Argo CD's ``sources``)."""
    doc = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "sources": [
                {"repoURL": REPO, "path": name, "revision": "main"},
                {"repoURL": REPO, "path": f"{name}-values", "revision": "main"},
            ],
            "destination": {"cluster": "c1", "namespace": name},
        },
    }
    config = load_objects([doc])
    assert not config.errors, config.errors
    return config.applications[0]


def _no_comparison(self: AppRuntime, other: object) -> bool:
    raise AssertionError("runtimes compared as whole objects")


async def test_a_push_wakes_each_app_of_the_repository_once_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(*(application(f"app{i}") for i in range(50)), _two_sources("both"))
    queue = Queued()
    triggers = RepositoryTriggers(world.registry, cast(SourceFetcher, NewInputs()), cast(WorkQueue, queue))
    monkeypatch.setattr(AppRuntime, "__eq__", _no_comparison)
    triggered = await triggers.trigger_repository(REPO, refs={"refs/heads/main": "a" * 40})
    assert triggered == sorted([*(f"app{i}" for i in range(50)), "both"])
    assert sorted(queue.names) == triggered  # "both" queued once for its two sources
