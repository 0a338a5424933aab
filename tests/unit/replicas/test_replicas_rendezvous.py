"""Rendezvous hashing: every replica reaches the same owner alone, the load is even, and a change
of membership moves only the apps it must."""

from __future__ import annotations

import pytest

from gitward.replicas import owner, shares

pytestmark = pytest.mark.unit

APPS = [f"app-{i:04d}" for i in range(3000)]


def test_the_owner_depends_on_the_names_only_not_their_order() -> None:
    members = ["gitward-a", "gitward-b", "gitward-c"]
    first = {app: owner(app, members) for app in APPS}
    assert first == {app: owner(app, list(reversed(members))) for app in APPS}
    assert first == {app: owner(app, frozenset(members)) for app in APPS}
    assert owner("app", []) is None


def test_three_replicas_each_own_about_a_third() -> None:
    split = shares(APPS, ["gitward-a", "gitward-b", "gitward-c"])
    assert sum(len(apps) for apps in split.values()) == len(APPS)
    assert set().union(*split.values()) == set(APPS)  # each app exactly once
    for apps in split.values():
        assert 800 < len(apps) < 1200


def test_a_replica_leaving_moves_only_its_own_apps() -> None:
    before = shares(APPS, ["gitward-a", "gitward-b", "gitward-c"])
    after = shares(APPS, ["gitward-a", "gitward-c"])
    assert after["gitward-a"] >= before["gitward-a"]
    assert after["gitward-c"] >= before["gitward-c"]
    moved = (after["gitward-a"] - before["gitward-a"]) | (after["gitward-c"] - before["gitward-c"])
    assert moved == before["gitward-b"]
    assert before["gitward-b"] & after["gitward-a"]
    assert before["gitward-b"] & after["gitward-c"]


def test_a_replica_joining_takes_apps_only_for_itself() -> None:
    before = shares(APPS, ["gitward-a", "gitward-b"])
    after = shares(APPS, ["gitward-a", "gitward-b", "gitward-c"])
    assert after["gitward-a"] <= before["gitward-a"]
    assert after["gitward-b"] <= before["gitward-b"]
    assert after["gitward-c"] == (before["gitward-a"] - after["gitward-a"]) | (
        before["gitward-b"] - after["gitward-b"]
    )
    assert 800 < len(after["gitward-c"]) < 1200
