"""The app list follows the registry's membership (apps registered, dropped, refused), and between
two changes of it a status save does not compare every name (docs/benchmarks.md, B7)."""

from __future__ import annotations

from typing import cast

import pytest
from tests.unit.reconcile.test_reconcile_scheduler import World, application

from gitward.reconcile.appindex import AppIndex, AppQuery
from gitward.reconcile.clusters import ClusterConnections
from gitward.reconcile.desired import SourceFetcher
from gitward.reconcile.views import Views

pytestmark = pytest.mark.unit


class CountingIndex(AppIndex):
    """The index, counting how often every name is listed (the comparison with the registry)."""

    listed = 0

    def names(self) -> set[str]:
        self.listed += 1
        return super().names()


def _views(world: World) -> tuple[Views, CountingIndex]:
    views = Views(world.registry, cast(ClusterConnections, None), cast(SourceFetcher, None))
    index = CountingIndex()
    views._index = index
    return views, index


def _listed(views: Views) -> list[str]:
    return [row.name for row in views.query_apps(AppQuery(limit=100)).rows]


def test_the_list_follows_apps_registered_and_dropped() -> None:
    world = World(application("a"))
    views, _ = _views(world)
    assert _listed(views) == ["a"]
    world.registry.register(application("b"), parent="a")  # a child an app-of-apps rendered
    assert _listed(views) == ["a", "b"]
    world.registry.drop(["a"])
    assert _listed(views) == ["b"]


def test_status_saves_between_membership_changes_do_not_list_every_name() -> None:
    world = World(application("a"), application("b"))
    views, index = _views(world)
    views.status_saved(world.rt("a"))
    compared = index.listed
    for _ in range(50):
        views.status_saved(world.rt("a"))
        views.status_saved(world.rt("b"))
    assert index.listed == compared
    world.registry.register(application("c"))
    views.status_saved(world.rt("a"))
    assert index.listed == compared + 1
    assert _listed(views) == ["a", "b", "c"]


def test_a_status_saved_after_its_app_left_does_not_bring_it_back() -> None:
    world = World(application("a"), application("b"))
    views, _ = _views(world)
    assert _listed(views) == ["a", "b"]
    gone = world.rt("a")
    world.registry.drop(["a"])
    views.status_saved(gone)  # its last pass ended after the removal
    views.status_saved(world.rt("b"))
    assert _listed(views) == ["b"]
