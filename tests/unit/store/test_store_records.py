"""Round-trips of the current-state tables: status, inventory, verdicts, fetch state, delete_app."""

from __future__ import annotations

import pytest

from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.store import Store, records


def _entry(name: str, *, kind: str = "Deployment", group: str = "apps", ns: str = "web") -> InventoryEntry:
    return InventoryEntry(ResourceKey(group=group, kind=kind, namespace=ns, name=name), "v1")


def test_status_round_trip_and_overwrite(store: Store) -> None:
    assert store.load_status("podinfo") is None
    status = {"sync": {"status": "Synced", "revision": "3f1c"}, "conditions": [{"type": "Ready"}], "n": 1.5}
    store.save_status("podinfo", status)
    assert store.load_status("podinfo") == status
    store.save_status("podinfo", {"sync": {"status": "OutOfSync"}})
    assert store.load_status("podinfo") == {"sync": {"status": "OutOfSync"}}


def test_all_statuses_lists_every_app(store: Store) -> None:
    store.save_status("b", {"v": 2})
    store.save_status("a", {"v": 1})
    assert store.all_statuses() == {"a": {"v": 1}, "b": {"v": 2}}


def test_status_keeps_unicode_and_nesting(store: Store) -> None:
    status = {"message": "échec: ✗ — 'quoted' \"double\"", "deep": {"a": [1, {"b": None}]}}
    store.save_status("x", status)
    assert store.load_status("x") == status


def test_inventory_round_trip_sorted(store: Store) -> None:
    entries = [_entry("b"), _entry("a"), _entry("ns1", kind="Namespace", group="", ns="")]
    store.save_inventory("app", entries)
    loaded = store.load_inventory("app")
    assert loaded == sorted(entries)
    assert {e.api_version for e in loaded} == {"apps/v1", "v1"}


def test_inventory_replaced_whole(store: Store) -> None:
    store.save_inventory("app", [_entry("a"), _entry("b")])
    store.save_inventory("app", [_entry("c")])
    assert store.load_inventory("app") == [_entry("c")]
    store.save_inventory("app", [])
    assert store.load_inventory("app") == []
    assert store.apps_with_inventory() == []


def test_inventory_duplicate_keys_keep_last_version(store: Store) -> None:
    key = ResourceKey("apps", "Deployment", "web", "a")
    store.save_inventory("app", [InventoryEntry(key, "v1beta1"), InventoryEntry(key, "v1")])
    assert store.load_inventory("app") == [InventoryEntry(key, "v1")]


def test_inventories_are_per_app(store: Store) -> None:
    store.save_inventory("one", [_entry("a")])
    store.save_inventory("two", [_entry("b"), _entry("c")])
    assert store.load_inventory("one") == [_entry("a")]
    assert len(store.load_inventory("two")) == 2
    assert store.load_inventory("unknown") == []
    assert store.apps_with_inventory() == ["one", "two"]


def test_verdicts_round_trip_and_default(store: Store) -> None:
    assert store.load_verdicts("app") == {}
    data = {"web_a_apps_Deployment": {"digest": "abc", "rv": "12", "gen": 3}}
    store.save_verdicts("app", data)
    assert store.load_verdicts("app") == data
    store.save_verdicts("app", {})
    assert store.load_verdicts("app") == {}


def test_source_state_round_trip(store: Store) -> None:
    url = "https://git.example.com/org/apps.git"
    assert store.load_source_state(url) is None
    store.save_source_state(url, {"refs": {"main": "3f1c"}, "fetchedAt": 10.0})
    store.save_source_state("ssh://other/repo.git", {"refs": {}})
    assert store.load_source_state(url) == {"refs": {"main": "3f1c"}, "fetchedAt": 10.0}


def test_status_source_and_verdicts_do_not_collide(store: Store) -> None:
    store.save_status("same", {"kind": "status"})
    store.save_verdicts("same", {"kind": "verdicts"})
    store.save_source_state("same", {"kind": "source"})
    assert store.load_status("same") == {"kind": "status"}
    assert store.load_verdicts("same") == {"kind": "verdicts"}
    assert store.load_source_state("same") == {"kind": "source"}


def test_delete_app_removes_its_rows_only(store: Store) -> None:
    for app in ("gone", "kept"):
        store.save_status(app, {"app": app})
        store.save_verdicts(app, {"app": app})
        store.save_inventory(app, [_entry(app)])
        store.start_operation(app, revision="main", commit="c", trigger="manual", started_at=1.0)
        store.add_event(app, type="Normal", reason="Synced", message=app, time=1.0)
    store.save_source_state("https://repo", {"refs": {}})

    store.delete_app("gone")

    assert store.load_status("gone") is None
    assert store.load_verdicts("gone") == {}
    assert store.load_inventory("gone") == []
    assert store.list_operations("gone") == []
    assert store.list_events("gone") == []
    assert store.unfinished_operations()[0]["app"] == "kept"
    assert store.load_status("kept") == {"app": "kept"}
    assert store.load_inventory("kept") == [_entry("kept")]
    assert len(store.list_events("kept")) == 1
    assert store.load_source_state("https://repo") == {"refs": {}}


def test_upsert_fallback_for_dialects_without_on_conflict(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store._write() as conn:
        monkeypatch.setattr(conn.dialect, "name", "otherdb")
        records.put_document(conn, kind=records.STATUS, name="app", data={"v": 1})
        records.put_document(conn, kind=records.STATUS, name="app", data={"v": 2})
    monkeypatch.undo()
    assert store.all_statuses() == {"app": {"v": 2}}


def test_app_records_go_with_the_app_and_tombstones_stay(store: Store) -> None:
    store.save_app_record("gone", {"deletionPolicy": "foreground", "cluster": "in-cluster"})
    store.save_app_record("kept", {"deletionPolicy": "orphan"})
    assert store.app_records() == {
        "gone": {"deletionPolicy": "foreground", "cluster": "in-cluster"},
        "kept": {"deletionPolicy": "orphan"},
    }
    store.delete_app("gone")
    store.save_removed_app("gone", {"policy": "foreground", "time": 1.0})
    assert store.app_records() == {"kept": {"deletionPolicy": "orphan"}}
    assert store.removed_apps() == {"gone": {"policy": "foreground", "time": 1.0}}
    store.forget_removed_app("gone")
    assert store.removed_apps() == {}
