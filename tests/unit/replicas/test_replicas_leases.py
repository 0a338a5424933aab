"""Lease timing on a fake clock: when a holder may act, when others may count it dead, and that the
two never overlap, whatever the pauses and request latencies (docs/architecture.md, "More than
one replica")."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from gitward.replicas import LeaseClaim, LeaseStep, LeaseTerms, Members
from gitward.replicas.leases import REPLICA_LABEL

pytestmark = pytest.mark.unit

TERMS = LeaseTerms(duration=10.0)  # margin 2 s, renewed every 2 s


def lease(holder: str | None, version: str, *, replica: str = "b", duration: int = 10) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"gitward-replica-{replica}",
            "resourceVersion": version,
            "labels": {REPLICA_LABEL: replica},
        },
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "leaseTransitions": 0},
    }


def hold(claim: LeaseClaim, step: LeaseStep, *, sent: float, answered: float) -> bool:
    claim.body(namespace="ns", wall=0.0, labels={}, annotations={}, version=None, step=step)
    return claim.written(step, sent_at=sent, answered_at=answered)


def renew_until(claim: LeaseClaim, start: float, end: float) -> None:
    """Renew every fifth of the duration, as the replica loop does, from ``start`` to ``end``."""
    at = start
    while at <= end:
        assert hold(claim, LeaseStep.RENEW, sent=at, answered=at + 0.1) is False
        at += TERMS.renew_every


def test_a_new_lease_may_be_acted_on_until_a_margin_before_it_runs_out_and_settles_after_a_duration() -> None:
    claim = LeaseClaim("gitward-replica-a", "a/1", TERMS)
    assert claim.next_step(None, now=100.0) is LeaseStep.CREATE
    assert hold(claim, LeaseStep.CREATE, sent=100.0, answered=100.5) is True  # a new tenure
    assert claim.valid(107.9)
    assert not claim.valid(108.0)
    renew_until(claim, 102.0, 110.0)
    assert not claim.settled(110.4)  # whoever acted before our lease existed may still be acting
    assert claim.settled(110.5)


def test_renewals_in_time_keep_the_tenure_and_move_the_deadline() -> None:
    claim = LeaseClaim("gitward-replica-a", "a/1", TERMS)
    hold(claim, LeaseStep.CREATE, sent=100.0, answered=100.1)
    ours = lease("a/1", "7", replica="a")
    assert claim.next_step(ours, now=102.0) is LeaseStep.RENEW
    assert hold(claim, LeaseStep.RENEW, sent=102.0, answered=102.1) is False
    assert claim.deadline == 110.0
    assert claim.held_since == 100.1
    renew_until(claim, 104.0, 110.0)
    assert claim.settled(110.1)


def test_a_renewal_after_a_pause_past_the_deadline_is_a_new_tenure() -> None:
    """SIGSTOP: the process resumes believing it holds its lease; the renewal goes through (nobody
    else writes our lease), but others may have counted us dead meanwhile: start again."""
    claim = LeaseClaim("gitward-replica-a", "a/1", TERMS)
    hold(claim, LeaseStep.CREATE, sent=100.0, answered=100.1)
    renew_until(claim, 102.0, 110.0)
    assert claim.settled(111.0)
    assert not claim.valid(140.0)  # paused from 101 to 140: no write may be sent on resume
    assert claim.next_step(lease("a/1", "7", replica="a"), now=140.0) is LeaseStep.RENEW
    assert hold(claim, LeaseStep.RENEW, sent=140.0, answered=140.2) is True
    renew_until(claim, 142.0, 150.0)
    assert claim.valid(140.3)
    assert not claim.settled(150.1)
    assert claim.settled(150.2)


def test_another_holder_is_waited_for_until_its_lease_went_unrenewed_for_a_duration() -> None:
    claim = LeaseClaim("gitward-replica-b", "b/new", TERMS)
    assert claim.next_step(lease("b/old", "5"), now=100.0) is LeaseStep.WAIT
    assert claim.next_step(lease("b/old", "5"), now=109.9) is LeaseStep.WAIT
    assert claim.next_step(lease("b/old", "6"), now=109.9) is LeaseStep.WAIT  # renewed: wait again
    assert claim.next_step(lease("b/old", "6"), now=119.8) is LeaseStep.WAIT
    assert claim.next_step(lease("b/old", "6"), now=119.9) is LeaseStep.TAKE
    longer = lease("b/old", "9", duration=30)  # its own, longer duration is honoured
    assert claim.next_step(longer, now=200.0) is LeaseStep.WAIT
    assert claim.next_step(longer, now=229.9) is LeaseStep.WAIT
    assert claim.next_step(longer, now=230.0) is LeaseStep.TAKE


def test_a_released_lease_is_taken_at_once_and_the_take_counts_a_transition() -> None:
    claim = LeaseClaim("gitward-leader", "b/new", TERMS)
    assert claim.next_step(lease(None, "5"), now=100.0) is LeaseStep.TAKE
    body = claim.body(namespace="ns", wall=1.0, labels={}, annotations={}, version="5", step=LeaseStep.TAKE)
    assert body["spec"]["leaseTransitions"] == 1
    assert body["spec"]["holderIdentity"] == "b/new"
    assert body["metadata"]["resourceVersion"] == "5"  # the precondition
    assert claim.written(LeaseStep.TAKE, sent_at=100.0, answered_at=100.1) is True
    released = claim.released(body)
    assert released["spec"]["holderIdentity"] is None


def test_a_refused_write_or_another_holder_on_our_lease_loses_it_at_once() -> None:
    claim = LeaseClaim("gitward-replica-a", "a/1", TERMS)
    hold(claim, LeaseStep.CREATE, sent=100.0, answered=100.1)
    claim.refused()  # 409: someone else wrote it
    assert not claim.valid(100.2)
    assert claim.held_since is None
    hold(claim, LeaseStep.CREATE, sent=101.0, answered=101.1)
    assert claim.next_step(lease("a/2", "8", replica="a"), now=102.0) is LeaseStep.WAIT
    assert not claim.valid(102.0)


def test_members_are_alive_until_a_duration_after_their_version_last_changed() -> None:
    members = Members(TERMS, me="a")
    members.observe([lease("b/1", "1", replica="b"), lease("a/1", "1", replica="a")], now=100.0)
    assert members.alive(109.9) == {"b"}  # never ourselves
    members.observe([lease("b/1", "2", replica="b")], now=105.0)
    assert members.alive(114.9) == {"b"}
    assert members.alive(115.0) == frozenset()


def test_a_released_member_is_gone_at_once_and_a_deleted_one_only_when_its_time_ran_out() -> None:
    members = Members(TERMS, me="a")
    members.observe([lease("b/1", "1", replica="b"), lease("c/1", "1", replica="c")], now=100.0)
    members.observe([lease(None, "2", replica="b")], now=101.0)  # b released; c's Lease deleted by hand
    assert members.alive(101.0) == {"c"}
    assert members.alive(110.0) == frozenset()
    assert members.forget_dead(150.0) == []
    assert sorted(members.forget_dead(201.0)) == ["b", "c"]


# -- the safety properties, over many timings ------------------------------------------------------

LATENCIES = (0.0, 0.05, 0.4, 1.5)  # request and answer delays, well under the margin (2 s)


@pytest.mark.parametrize(("to_server", "to_client"), list(itertools.product(LATENCIES, LATENCIES)))
def test_a_holder_stops_acting_before_any_observer_may_count_it_dead(
    to_server: float, to_client: float
) -> None:
    """A renews at ``sent`` (the server applies it later, B lists after that and reads the answer
    later still); then A pauses forever. A's last moment to act comes at least a margin before the
    first moment B may take over its apps."""
    for sent in (100.0, 100.3, 101.7):
        holder = LeaseClaim("gitward-replica-a", "a/1", TERMS)
        hold(holder, LeaseStep.CREATE, sent=sent, answered=sent + to_server + to_client)
        applied = sent + to_server
        for listed_after in (0.0, 0.01, 1.0, 3.0):
            observer = Members(TERMS, me="b")
            read_at = applied + listed_after + to_client
            observer.observe([lease("a/1", "1", replica="a")], now=read_at)
            first_dead = read_at + TERMS.duration
            assert "a" in observer.alive(first_dead - 0.001)
            assert "a" not in observer.alive(first_dead)
            assert holder.deadline + TERMS.margin <= first_dead + 1e-9


@pytest.mark.parametrize(("to_server", "to_client"), list(itertools.product(LATENCIES, LATENCIES)))
def test_a_joiner_acts_only_after_every_replica_that_missed_it_stopped(
    to_server: float, to_client: float
) -> None:
    """A listed the members just before J's Lease existed, so A's view lacks J and A may act on J's
    future apps until its view's deadline (list start + duration - margin). J acts only once its new
    tenure settled: never before A stopped."""
    for a_listed_from in (100.0, 100.9):
        a_view_deadline = a_listed_from + TERMS.duration - TERMS.margin
        created = a_listed_from + to_server  # J's create applied just after A's list was served
        joiner = LeaseClaim("gitward-replica-j", "j/1", TERMS)
        hold(joiner, LeaseStep.CREATE, sent=created - to_server, answered=created + to_client)
        assert joiner.held_since is not None
        first_act = joiner.held_since + TERMS.duration
        assert not joiner.settled(first_act - 0.01)
        assert a_view_deadline + TERMS.margin <= first_act + 1e-9
