"""Sync windows and their cron calendar, table-driven from testdata/policy_windows_cases.yaml."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from gitward.policy.cron import next_start, occurrences_on, parse_cron, previous_start
from gitward.policy.windows import (
    HORIZON_SECONDS,
    WindowKind,
    WindowVerdict,
    active_windows,
    evaluate,
    parse_window,
    parse_windows,
    window_states,
)

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "policy_windows_cases.yaml").read_text())


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CHECKS = [(case, check) for case in TABLE["cases"] for check in case["checks"]]


@pytest.mark.parametrize(("case", "check"), CHECKS, ids=[f"{c['case']} @ {k['at']}" for c, k in CHECKS])
def test_window_verdicts(case: dict[str, Any], check: dict[str, Any]) -> None:
    windows = parse_windows(case["windows"])
    verdict = evaluate(
        windows,
        app=check.get("app", "web"),
        namespace=check.get("namespace", "web-prod"),
        cluster=check.get("cluster", "prod"),
        at=instant(check["at"]),
        manual=check.get("manual", False),
    )
    assert verdict.allowed is check["allowed"]
    assert [w.name for w in verdict.blocked_by] == check.get("blocked_by", [])
    assert verdict.manual_override is check.get("override", False)
    assert iso(verdict.until) == check["until"]


@pytest.mark.parametrize(("case", "check"), CHECKS, ids=[f"{c['case']} @ {k['at']}" for c, k in CHECKS])
def test_until_is_the_first_instant_the_answer_changes(case: dict[str, Any], check: dict[str, Any]) -> None:
    """Sampled minute by minute (and just before ``until``): the answer holds until ``until``, not after."""
    windows = parse_windows(case["windows"])
    target = {
        "app": check.get("app", "web"),
        "namespace": check.get("namespace", "web-prod"),
        "cluster": check.get("cluster", "prod"),
        "manual": check.get("manual", False),
    }
    start = instant(check["at"])
    end = instant(check["until"]) if check["until"] else start + timedelta(hours=3)
    probes = [start + timedelta(minutes=m) for m in range(0, int((end - start).total_seconds() // 60), 7)]
    for at in [*probes[:60], end - timedelta(seconds=1)]:
        assert evaluate(windows, at=at, **target).allowed is check["allowed"], at
    if check["until"]:
        assert evaluate(windows, at=end, **target).allowed is not check["allowed"]


@pytest.mark.parametrize(
    "row", TABLE["schedules"], ids=[f"{r['schedule']} {r.get('timeZone', 'UTC')}" for r in TABLE["schedules"]]
)
def test_schedule_occurrences(row: dict[str, Any]) -> None:
    cron = parse_cron(row["schedule"])
    tz = ZoneInfo(row.get("timeZone", "UTC"))
    at = instant(row["after"]).timestamp()
    found = []
    for _ in row["next"]:
        nxt = next_start(cron, at, tz, horizon=HORIZON_SECONDS)
        assert nxt is not None
        found.append(iso(datetime.fromtimestamp(nxt, UTC)))
        # and back: the latest occurrence at or before it is itself, and before it the previous one
        assert previous_start(cron, nxt, tz, lookback=1) == nxt
        at = nxt
    assert found == row["next"]


@pytest.mark.parametrize("row", TABLE["invalid"], ids=[r["error"] for r in TABLE["invalid"]])
def test_invalid_windows_are_refused_naming_the_field(row: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as err:
        parse_window(row["spec"])
    assert row["error"] in str(err.value)


def test_windows_are_named_by_kind_and_position_unless_named() -> None:
    specs = [
        {"kind": "allow", "schedule": "0 6 * * *", "duration": "1h", "applications": ["*"]},
        {"kind": "deny", "schedule": "0 6 * * *", "duration": 90, "clusters": ["*"], "name": "freeze"},
    ]
    first, second = parse_windows(specs)
    assert (first.name, first.kind, first.duration, first.time_zone.key) == (
        "allow-0",
        WindowKind.ALLOW,
        3600,
        "UTC",
    )
    assert (second.name, second.duration) == ("freeze", 90.0)
    assert second.describe() == "deny '0 6 * * *' for 1m30s (UTC)"


def test_window_states_for_the_project_view() -> None:
    windows = parse_windows(
        [
            {"kind": "deny", "schedule": "0 22 * * *", "duration": "2h", "applications": ["*"]},
            {"kind": "deny", "schedule": "0 23 * * *", "duration": "2h", "applications": ["*"]},
            {"kind": "allow", "schedule": "0 6 * * *", "duration": "1h", "namespaces": ["x"]},
            {"kind": "deny", "schedule": "* * * * *", "duration": "1m", "clusters": ["lab"]},
        ]
    )
    at = instant("2026-06-01T23:30:00Z")
    states = window_states(windows, at=at)
    summary = [(s.window.name, s.active, iso(s.opened), iso(s.closes), iso(s.next_open)) for s in states]
    assert summary == [
        ("deny-0", True, "2026-06-01T22:00:00Z", "2026-06-02T00:00:00Z", None),
        ("deny-1", True, "2026-06-01T23:00:00Z", "2026-06-02T01:00:00Z", None),
        ("allow-2", False, None, None, "2026-06-02T06:00:00Z"),
        ("deny-3", True, "2026-06-01T23:30:00Z", None, None),
    ]
    assert [s.window.name for s in active_windows(windows, at=at)] == ["deny-0", "deny-1", "deny-3"]


def test_verdict_messages() -> None:
    (freeze,) = parse_windows(
        [
            {
                "kind": "deny",
                "schedule": "0 22 * * *",
                "duration": "1h",
                "applications": ["*"],
                "manualSync": True,
            }
        ]
    )
    at = instant("2026-06-01T22:30:00Z")
    blocked = evaluate([freeze], app="a", namespace="n", cluster="c", at=at)
    assert blocked.message() == "blocked by window deny-0 until 2026-06-01T23:00:00Z"
    manual = evaluate([freeze], app="a", namespace="n", cluster="c", at=at, manual=True)
    assert manual.message() == "manual sync allowed by window deny-0"
    assert WindowVerdict(True).message() == "allowed"


def test_evaluate_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="at: must be a time-zone-aware datetime"):
        evaluate([], app="a", namespace="n", cluster="c", at=datetime(2026, 6, 1, 12))


def test_an_instant_in_any_zone_is_the_same_instant() -> None:
    (window,) = parse_windows(
        [{"kind": "deny", "schedule": "0 22 * * *", "duration": "1h", "applications": ["*"]}]
    )
    berlin = datetime(2026, 6, 2, 0, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # 22:30Z
    assert not evaluate([window], app="a", namespace="n", cluster="c", at=berlin).allowed


@pytest.mark.parametrize(
    ("zone", "day", "fired"),
    [
        # 02:00 CET -> 03:00 CEST: 02:00 and 02:30 fire at 03:00 and 03:30 CEST, once each.
        ("Europe/Berlin", date(2026, 3, 29), ["03-29 00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]),
        # 03:00 CEST -> 02:00 CET: 02:00 and 02:30 fire in summer time only; 01:00Z-02:00Z stays quiet.
        (
            "Europe/Berlin",
            date(2026, 10, 25),
            ["10-24 23:00", "23:30", "10-25 00:00", "00:30", "02:00", "02:30", "03:00", "03:30"],
        ),
        ("America/New_York", date(2026, 3, 8), ["03-08 06:00", "06:30", "07:00", "07:30", "08:00", "08:30"]),
        (
            "America/New_York",
            date(2026, 11, 1),
            ["11-01 05:00", "05:30", "07:00", "07:30", "08:00", "08:30", "09:00", "09:30"],
        ),
        (
            "Asia/Kolkata",
            date(2026, 3, 29),
            ["03-28 19:30", "20:00", "20:30", "21:00", "21:30", "22:00", "22:30", "23:00"],
        ),
    ],
)
def test_dst_days_fire_each_local_time_once(zone: str, day: date, fired: list[str]) -> None:
    tz = ZoneInfo(zone)
    instants = occurrences_on(parse_cron("0,30 1-4 * * *"), day, tz)
    shown, last_day = [], ""
    for t in instants:
        moment = datetime.fromtimestamp(t, UTC)
        day_text = moment.strftime("%m-%d")
        shown.append(moment.strftime("%H:%M") if day_text == last_day else moment.strftime("%m-%d %H:%M"))
        last_day = day_text
    assert shown == fired
