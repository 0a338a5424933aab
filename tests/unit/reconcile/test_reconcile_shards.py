"""Where an app is placed among replicas (its shard key), how an owner's answer to a relayed action
comes back to the replica that was asked (the same kind of error, so the same HTTP status), and how
the other replicas' apps are shown here."""

from __future__ import annotations

import json
from typing import cast

import pytest
from tests.unit.reconcile.test_reconcile_scheduler import World, application

from gitward.core.errors import GitwardError, Stalled, Transient
from gitward.notify import Notifier
from gitward.reconcile.relay import _kind, _unpack
from gitward.reconcile.removal import Removals
from gitward.reconcile.runtime import AppRuntime
from gitward.reconcile.service import AppNotFound
from gitward.reconcile.shards import Shards, _root
from gitward.reconcile.views import Views
from gitward.store import Store

pytestmark = pytest.mark.unit


def test_a_child_of_an_app_of_apps_goes_where_its_root_parent_goes() -> None:
    parents = {"root": "", "platform": "root", "ingress": "platform", "alone": ""}
    assert _root("ingress", parents) == "root"
    assert _root("platform", parents) == "root"
    assert _root("alone", parents) == "alone"


def test_an_applicationsets_apps_are_placed_by_their_own_names() -> None:
    parents = {"web-eu": "ApplicationSet/web", "web-us": "ApplicationSet/web"}
    assert _root("web-eu", parents) == "web-eu"
    assert _root("web-us", parents) == "web-us"


def test_a_parent_loop_ends() -> None:
    assert _root("a", {"a": "b", "b": "a"}) in {"a", "b"}


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (AppNotFound("application 'x' not found"), AppNotFound),
        (Stalled("spec invalid", reason="InvalidSpec"), Stalled),
        (Transient("cluster down", reason="ClusterUnavailable"), Transient),
        (GitwardError("sync did not run", reason="SyncFailed"), GitwardError),
    ],
)
def test_an_owners_error_is_raised_again_with_its_kind_reason_and_message(
    error: GitwardError, kind: type[GitwardError]
) -> None:
    answer = {"error": {"kind": _kind(error), "reason": error.reason, "message": error.message}}
    with pytest.raises(kind) as raised:
        _unpack(answer)
    assert type(raised.value) is kind
    assert raised.value.reason == error.reason
    assert raised.value.message == error.message
    assert _unpack({"ok": {"phase": "Succeeded"}}) == {"phase": "Succeeded"}


class SavedViews:
    """What the list and streams were told: the runtimes whose shown status changed."""

    def __init__(self) -> None:
        self.saved: list[str] = []

    def status_saved(self, rt: AppRuntime) -> None:
        self.saved.append(rt.name)


def _status(sync: str) -> str:
    return json.dumps({"sync": {"status": sync}, "health": {"status": "Healthy"}})


def test_the_others_apps_show_their_stored_status_decoding_only_what_changed() -> None:
    world = World(application("mine"), application("theirs"))
    world.registry.owns = lambda name: name == "mine"
    views = SavedViews()
    shards = Shards(
        registry=world.registry,
        store=cast(Store, None),
        scheduler=world.scheduler,
        notifier=cast(Notifier, None),
        removals=cast(Removals, None),
        views=cast(Views, views),
        clock=world.clock,
    )
    stored = {"mine": _status("OutOfSync"), "theirs": _status("Synced")}
    assert shards.show_others(stored) == 1
    assert world.rt("theirs").status.sync_status.value == "Synced"
    assert world.rt("mine").status.sync_status.value != "OutOfSync"  # its own status is this replica's
    assert shards.show_others(stored) == 0  # unchanged text: nothing decoded, nobody told
    stored["theirs"] = _status("OutOfSync")
    assert shards.show_others(stored) == 1
    assert world.rt("theirs").status.sync_status.value == "OutOfSync"
    assert views.saved == ["theirs", "theirs"]
