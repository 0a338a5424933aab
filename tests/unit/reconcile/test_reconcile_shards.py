"""Where an app is placed among replicas (its shard key), and how an owner's answer to a relayed
action comes back to the replica that was asked (the same kind of error, so the same HTTP status)."""

from __future__ import annotations

import pytest

from gitward.core.errors import GitwardError, Stalled, Transient
from gitward.reconcile.relay import _kind, _unpack
from gitward.reconcile.service import AppNotFound
from gitward.reconcile.shards import _root

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
