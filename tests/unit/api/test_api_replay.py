"""The memory of recent deliveries: which keys a delivery has, how long and how many are kept."""

from __future__ import annotations

from gitward.api.replay import DELIVERY_HEADERS, RecentDeliveries, delivery_keys


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_repeats_within_the_window_and_not_after_it() -> None:
    clock = Clock()
    recent = RecentDeliveries(window=600, clock=clock)
    assert not recent.repeated([b"one"])
    clock.now += 599
    assert recent.repeated([b"one"])
    clock.now += 2  # 601 s after the delivery that did the work: a repeat did not extend the window
    assert not recent.repeated([b"one"])
    assert recent.repeated([b"one"])


def test_any_shared_key_is_a_repeat_and_a_new_delivery_remembers_all_its_keys() -> None:
    recent = RecentDeliveries(clock=Clock())
    assert not recent.repeated([b"id-1", b"body-x"])
    assert recent.repeated([b"id-2", b"body-x"])  # redelivered under a new id, same body
    assert recent.repeated([b"id-1"])
    assert not recent.repeated([b"id-3", b"body-y"])
    assert recent.repeated([b"body-y"])


def test_memory_is_bounded_oldest_dropped_first() -> None:
    recent = RecentDeliveries(max_entries=3, clock=Clock())
    for key in (b"a", b"b", b"c", b"d"):
        assert not recent.repeated([key])
    assert len(recent) == 3
    assert recent.repeated([b"d"])
    assert not recent.repeated([b"a"])  # dropped to make room


def test_expired_keys_are_dropped() -> None:
    clock = Clock()
    recent = RecentDeliveries(window=10, clock=clock)
    for n in range(50):
        recent.repeated([str(n).encode()])
    clock.now += 11
    recent.repeated([b"new"])
    assert len(recent) == 1


def test_delivery_keys_come_from_the_hosts_id_headers_and_a_body_that_names_commits() -> None:
    body = b'{"ref": "refs/heads/main"}'
    github = {"x-github-delivery": "d-1", "x-hook-uuid": "same-for-every-delivery"}
    assert len(delivery_keys("gh", "github", github, body, names_commits=False)) == 1
    assert len(delivery_keys("gh", "github", github, body, names_commits=True)) == 2
    assert delivery_keys("gh", "github", {}, body, names_commits=False) == []
    # the hook's own id is not a delivery id: every delivery of the hook carries it
    assert delivery_keys("bb", "bitbucket", {"x-hook-uuid": "h"}, body, names_commits=False) == []
    assert len(delivery_keys("bb", "bitbucket", {"x-request-uuid": "r"}, body, names_commits=False)) == 1
    assert len(delivery_keys("gl", "gitlab", {"idempotency-key": "k"}, body, names_commits=False)) == 1
    assert "x-gitlab-webhook-uuid" not in DELIVERY_HEADERS["gitlab"]


def test_keys_are_scoped_to_their_receiver_and_header() -> None:
    headers = {"x-gitward-delivery": "7"}
    one = delivery_keys("a", "generic", headers, b"{}", names_commits=True)
    other = delivery_keys("b", "generic", headers, b"{}", names_commits=True)
    assert not set(one) & set(other)
    gitea = delivery_keys("a", "gitea", {"x-gitea-delivery": "7"}, b"{}", names_commits=False)
    forgejo = delivery_keys("a", "gitea", {"x-forgejo-delivery": "7"}, b"{}", names_commits=False)
    assert gitea != forgejo
