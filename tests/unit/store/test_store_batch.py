"""``Store.batch()``: one transaction for a reconcile's records, visible to others only when it ends;
and retention that trims periodically yet stays bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from gitward.core.keys import InventoryEntry, ResourceKey
from gitward.store import Store

ENTRY = InventoryEntry(ResourceKey("", "ConfigMap", "a", "c"), "v1")


def test_batch_writes_are_seen_inside_and_by_others_only_after_it_ends(state_location: str | Path) -> None:
    with Store.open(state_location) as store, Store.open(state_location) as other:
        with store.batch():
            store.save_inventory("app", [ENTRY])
            store.save_status("app", {"sync": {"status": "Synced"}})
            assert store.load_status("app") == {"sync": {"status": "Synced"}}  # its own writes
            assert other.load_status("app") is None  # not committed yet
        assert other.load_status("app") == {"sync": {"status": "Synced"}}
        assert other.load_inventory("app") == [ENTRY]


def test_a_batch_that_raises_keeps_what_it_wrote(state_location: str | Path) -> None:
    with Store.open(state_location) as store:

        def fail_after_a_write() -> None:
            with store.batch():
                store.save_status("app", {"error": "x"})
                raise ValueError("apply failed")

        with pytest.raises(ValueError, match="apply failed"):
            fail_after_a_write()
        assert store.load_status("app") == {"error": "x"}


def test_a_database_error_rolls_the_batch_back(state_location: str | Path) -> None:
    with Store.open(state_location) as store:

        def fail_in_the_database() -> None:
            with store.batch():
                store.save_status("app", {"half": True})
                store.add_event(None, type="Normal", reason="R", message="", time=0.0)  # type: ignore[arg-type]

        with pytest.raises(SQLAlchemyError):
            fail_in_the_database()
        assert store.load_status("app") is None


def test_retention_is_bounded_while_trimming_only_every_few_inserts(state_location: str | Path) -> None:
    keep = 100  # trims on every 5th insert of an app
    with Store.open(state_location, max_events_per_app=keep) as store:
        sizes = []
        for i in range(300):
            store.add_event("busy", type="Normal", reason="R", message=f"m{i}", time=float(i))
            sizes.append(len(store.list_events("busy", limit=1000)))
        assert max(sizes) <= keep + keep // 20
        assert sizes[-1] == keep  # the 300th insert trimmed
        newest = store.list_events("busy", limit=keep)
        assert [e["message"] for e in newest][:2] == ["m299", "m298"]
