"""drift_of: what changed out of band in a full live object, who changed it, and what is gitward's own."""

from __future__ import annotations

from typing import Any

from gitward.diff import IgnoreRule
from gitward.diff.drift import drift_of


def _desired() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"team": "a"}},
        "spec": {"replicas": 2, "paused": False},
    }


def _live(replicas: int, *, entries: list[dict[str, Any]]) -> dict[str, Any]:
    live = _desired()
    live["spec"]["replicas"] = replicas
    live["metadata"].update(resourceVersion="7", uid="u", managedFields=entries)
    live["status"] = {"replicas": replicas}
    return live


def _entry(
    manager: str, fields: dict[str, Any], *, time: str | None = "2026-01-01T00:00:00Z", op: str = "Update"
):
    entry: dict[str, Any] = {"manager": manager, "operation": op, "fieldsV1": fields}
    if time is not None:
        entry["time"] = time
    return entry


REPLICAS = {"f:spec": {"f:replicas": {}}}


def test_a_field_another_manager_owns_is_drift_by_that_manager() -> None:
    live = _live(
        5, entries=[_entry("gitward", {"f:spec": {"f:paused": {}}}, op="Apply"), _entry("kubectl", REPLICAS)]
    )
    drift = drift_of(_desired(), live, own="gitward")
    assert drift.paths == ("/spec/replicas",)
    assert drift.managers == {"/spec/replicas": "kubectl"}
    assert drift.who() == ["kubectl"]
    assert drift.own == ()


def test_a_field_gitward_owns_is_never_drift() -> None:
    live = _live(5, entries=[_entry("gitward", REPLICAS, op="Apply")])
    drift = drift_of(_desired(), live, own="gitward")
    assert not drift.found
    assert drift.own == ("/spec/replicas",)


def test_shared_ownership_names_the_other_manager_even_without_a_time() -> None:
    # The API server keeps no time for writes through the scale subresource.
    entries = [
        _entry("gitward", REPLICAS, op="Apply", time="2026-06-01T00:00:00Z"),
        _entry("kubectl", REPLICAS, time=None),
    ]
    drift = drift_of(_desired(), _live(5, entries=entries), own="gitward")
    assert drift.managers == {"/spec/replicas": "kubectl"}


def test_a_removed_field_is_drift_by_nobody_known() -> None:
    live = _live(2, entries=[])
    del live["metadata"]["labels"]
    drift = drift_of(_desired(), live, own="gitward")
    assert drift.paths == ("/metadata/labels",)
    assert drift.who() == []


def test_nothing_differs_means_no_drift_whatever_the_server_added() -> None:
    drift = drift_of(_desired(), _live(2, entries=[_entry("kubectl", REPLICAS)]), own="gitward")
    assert not drift.found
    assert not drift.own


def test_ignored_fields_are_neither_drift_nor_gitwards() -> None:
    live = _live(5, entries=[_entry("autoscaler", REPLICAS)])
    by_manager = IgnoreRule(group="apps", kind="Deployment", managers=("autoscaler",))
    by_pointer = IgnoreRule(kind="Deployment", json_pointers=("/spec/replicas",))
    for rule in (by_manager, by_pointer):
        drift = drift_of(_desired(), live, ignore=[rule], own="gitward")
        assert not drift.found
        assert not drift.own
