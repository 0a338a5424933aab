"""Two processes on one real PostgreSQL database: only the owner of an app writes its rows, a take
waits for the previous owner's transaction, and a stalled transaction is cut off by the server
(``store/owners.py``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from gitward.core.errors import Fenced
from gitward.store import Store
from gitward.store.owners import OwnerCheck


@pytest.fixture
def two_stores(postgres_url: str) -> Iterator[tuple[Store, Store]]:
    a = Store.open(postgres_url, idle_in_transaction_timeout=1.0)
    b = Store.open(postgres_url, idle_in_transaction_timeout=1.0)
    yield a, b
    a.close()
    b.close()


def owned_by(store: Store, holder: str) -> dict[str, int]:
    epochs: dict[str, int] = {}
    store.owner_check = OwnerCheck(holder=holder, epochs=epochs, may_write=lambda _app: None)
    return epochs


def test_after_a_take_the_previous_owner_writes_nothing_of_that_app(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    a_epochs, b_epochs = owned_by(a, "a/1"), owned_by(b, "b/1")
    a_epochs.update(a.take_apps(["web", "api"], holder="a/1", now=1.0, lock_timeout=1.0))
    a.save_status("web", {"phase": "from a"})
    with pytest.raises(Fenced):
        b.save_status("web", {"phase": "from b, not the owner"})
    b_epochs.update(b.take_apps(["web"], holder="b/1", now=2.0, lock_timeout=1.0))
    assert b_epochs == {"web": 2}
    with pytest.raises(Fenced):  # a still believes it owns web (a paused process): the database says no
        a.save_status("web", {"phase": "stale"})
    with pytest.raises(Fenced):
        a.add_event("web", type="Normal", reason="Synced", message="stale", time=3.0)
    b.save_status("web", {"phase": "from b"})
    a.save_status("api", {"phase": "a still owns api"})
    assert a.load_status("web") == {"phase": "from b"}
    assert a.app_owners() == {"web": "b/1", "api": "a/1"}


def test_operations_are_fenced_by_their_app(two_stores: tuple[Store, Store]) -> None:
    a, b = two_stores
    a_epochs, b_epochs = owned_by(a, "a/1"), owned_by(b, "b/1")
    a_epochs.update(a.take_apps(["web"], holder="a/1", now=1.0, lock_timeout=1.0))
    op = a.start_operation("web", revision="main", commit="c1", trigger="t", started_at=1.0)
    b_epochs.update(b.take_apps(["web"], holder="b/1", now=2.0, lock_timeout=1.0))
    with pytest.raises(Fenced):
        a.update_operation(op, phase="Running", message="stale", resources=[])
    b.finish_operation(op, phase="Failed", message="interrupted; retried", resources=[], finished_at=3.0)
    assert (b.get_operation(op) or {})["phase"] == "Failed"


def test_a_take_waits_for_the_owners_write_in_progress_then_the_owner_is_cut_off(
    two_stores: tuple[Store, Store],
) -> None:
    """A holds web's row inside a write (a process paused mid-transaction); B's take cannot slip in
    between A's check and A's write: it waits, and once the server ends A's idle transaction (its
    write never commits) B takes the app."""
    a, b = two_stores
    a_epochs = owned_by(a, "a/1")
    a_epochs.update(a.take_apps(["web"], holder="a/1", now=1.0, lock_timeout=1.0))
    inside, resume = threading.Event(), threading.Event()
    outcome: list[str] = []

    def paused_writer() -> None:
        try:
            with a.batch():
                a.save_status("web", {"phase": "written before the pause"})
                inside.set()
                resume.wait(10)  # stopped with the transaction open
                a.save_status("web", {"phase": "after the pause"})
            outcome.append("committed")
        except Exception as error:
            outcome.append(type(error).__name__)

    writer = threading.Thread(target=paused_writer)
    writer.start()
    assert inside.wait(10)
    with pytest.raises(Exception, match="lock timeout"):
        b.take_apps(["web"], holder="b/1", now=2.0, lock_timeout=0.2)
    time.sleep(1.5)  # past idle_in_transaction_session_timeout: the server ends A's session
    taken = b.take_apps(["web"], holder="b/1", now=3.0, lock_timeout=1.0)
    assert taken == {"web": 2}
    resume.set()
    writer.join(10)
    assert outcome != ["committed"]
    assert b.load_status("web") is None  # nothing of the paused transaction was kept
