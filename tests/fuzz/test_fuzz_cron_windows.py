"""Fuzzing the cron calendar and sync windows (``policy/cron.py``, ``policy/windows.py``).

Schedules are generated as fields of items (``*``, steps, values, ranges, month and weekday names in
any case, ``?``, weekday 7), rendered to text, and their meaning computed here independently:
the allowed values of each field and the classic rule for two restricted day fields. Occurrences are
computed the way the module docstring defines them: each matching local minute of a matching local
day, at its first instant (``fold=0``), so a time the clocks skip fires as far after the jump as it
was scheduled into the gap. Time zones include ones with 30-minute shifts, changes at midnight and a
skipped day.

Properties: ``parse_cron`` reads exactly those values, refuses broken fields and schedules that
can never fire with a ValueError quoting the schedule, and takes any text without another failure;
``next_start`` is the first occurrence strictly after ``at`` within the horizon (a matching minute),
``previous_start`` the last one at or before it within the lookback, ``run_end`` where a run of
overlapping occurrences stops; ``parse_window`` accepts only finite positive durations and refuses
anything else naming the window; ``evaluate`` decides as the docstring's rules say at any instant,
and its ``until`` is an instant where the decision changes with no change before it.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fuzzkit import outcome, share
from hypothesis import assume, example, given
from hypothesis import strategies as st

from gitward.policy.cron import next_start, parse_cron, previous_start, run_end
from gitward.policy.windows import HORIZON_SECONDS, evaluate, parse_window

pytestmark = pytest.mark.fuzz

ZONES = [
    "UTC", "Etc/GMT-5", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Sao_Paulo",
    "Pacific/Apia", "Asia/Kathmandu", "America/Santiago",
]  # fmt: skip
MONTHS = [m.lower() for m in calendar.month_abbr if m]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, lowest, highest, names)
FIELDS = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("dom", 1, 31, []),
    ("month", 1, 12, MONTHS),
    ("dow", 0, 7, WEEKDAYS),
]


@dataclass(frozen=True)
class Item:
    form: str  # star | value | open | range
    first: int = 0
    last: int = 0
    step: int = 1
    by_name: bool = False
    upper: bool = False


def items(low: int, high: int, *, named: bool) -> st.SearchStrategy[Item]:
    value = st.integers(low, high)
    steps = st.sampled_from([1, 1, 2, 3, 5, 7, 15, 30])
    names = st.booleans() if named else st.just(False)
    return st.one_of(
        st.builds(Item, st.just("star"), step=steps),
        st.builds(Item, st.just("value"), value, by_name=names, upper=st.booleans()),
        st.builds(Item, st.just("open"), value, step=steps),
        st.builds(
            lambda a, b, s, n, u: Item("range", min(a, b), max(a, b), s, n, u),
            *(value, value, steps, names, st.booleans()),
        ),
    )


ITEMS = [items(low, high, named=bool(names)) for _, low, high, names in FIELDS]


def spell(item: Item, names: list[str], low: int, *, bare_star: str) -> str:
    def number(n: int) -> str:
        if item.by_name and names and n - low < len(names):
            word = names[n - low if low else n]
            return word.upper() if item.upper else word
        return str(n)

    step = f"/{item.step}" if item.step != 1 or item.form == "open" else ""
    if item.form == "star":
        return (bare_star if item.step == 1 else "*") + step
    if item.form == "value":
        return number(item.first)
    if item.form == "open":
        return f"{number(item.first)}/{item.step}"
    return f"{number(item.first)}-{number(item.last)}{step}"


def values(item: Item, low: int, high: int) -> set[int]:
    if item.form == "star":
        return set(range(low, high + 1, item.step))
    if item.form == "value":
        return {item.first}
    if item.form == "open":
        return set(range(item.first, high + 1, item.step))
    return set(range(item.first, item.last + 1, item.step))


@dataclass(frozen=True)
class Schedule:
    text: str
    sets: tuple[frozenset[int], ...]
    any_day: bool
    any_weekday: bool


MINUTES_EVERY_FIVE = [
    ("0", {0}),
    ("*/5", set(range(0, 60, 5))),
    ("0,30", {0, 30}),
    ("15-45/15", {15, 30, 45}),
]


@st.composite
def schedules(draw: Any, *, coarse: bool = False) -> Schedule:
    """Any schedule; ``coarse``: one firing at most every five minutes."""
    texts, sets = [], []
    for index, (_, low, high, names) in enumerate(FIELDS):
        if index == 0 and coarse:
            text, minutes = draw(st.sampled_from(MINUTES_EVERY_FIVE))
            texts.append(text)
            sets.append(frozenset(minutes))
            continue
        count = draw(st.integers(1, 3 if index < 2 else 2))
        chosen = [draw(ITEMS[index]) for _ in range(count)]
        bare = draw(st.sampled_from(["*", "?"])) if index in (2, 4) else "*"
        texts.append(",".join(spell(i, names, low if names is MONTHS else 0, bare_star=bare) for i in chosen))
        sets.append(frozenset(set().union(*(values(i, low, high) for i in chosen))))
    dow = frozenset(d % 7 for d in sets[4])
    return Schedule(" ".join(texts), (*sets[:4], dow), texts[2] in ("*", "?"), texts[4] in ("*", "?"))


def fires_at_all(s: Schedule) -> bool:
    longest = {m: 29 if m == 2 else calendar.monthrange(2001, m)[1] for m in range(1, 13)}
    return not (not s.any_day and s.any_weekday) or any(d <= longest[m] for m in s.sets[3] for d in s.sets[2])


def matches_day(s: Schedule, day: date) -> bool:
    if day.month not in s.sets[3]:
        return False
    by_date, by_weekday = day.day in s.sets[2], day.isoweekday() % 7 in s.sets[4]
    return by_date and by_weekday if s.any_day or s.any_weekday else by_date or by_weekday


def day_instants(s: Schedule, day: date, tz: ZoneInfo) -> list[int]:
    """Each matching local minute of ``day`` at its first instant (fold=0), ascending."""
    if not matches_day(s, day):
        return []
    minutes = [(h, m) for h in sorted(s.sets[1]) for m in sorted(s.sets[0])]
    return sorted(
        {int(datetime(day.year, day.month, day.day, h, m, tzinfo=tz).timestamp()) for h, m in minutes}
    )


def local_date(instant: float, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(instant, tz).date()


def oracle_next(s: Schedule, after: float, tz: ZoneInfo, horizon: float) -> int | None:
    day, last = local_date(after, tz) - timedelta(days=1), local_date(after + horizon, tz) + timedelta(days=1)
    best = None
    while day <= last and (best is None or day <= local_date(best, tz) + timedelta(days=1)):
        later = [t for t in day_instants(s, day, tz) if t > after]
        if later and (best is None or later[0] < best):
            best = later[0]
        day += timedelta(days=1)
    return best if best is not None and best <= after + horizon else None


def oracle_previous(s: Schedule, at: float, tz: ZoneInfo, lookback: float) -> int | None:
    day, first = local_date(at, tz) + timedelta(days=1), local_date(at - lookback, tz) - timedelta(days=1)
    best = None
    while day >= first and (best is None or day >= local_date(best, tz) - timedelta(days=1)):
        earlier = [t for t in day_instants(s, day, tz) if t <= at]
        if earlier and (best is None or earlier[-1] > best):
            best = earlier[-1]
        day -= timedelta(days=1)
    return best if best is not None and best >= at - lookback else None


instants = st.floats(946_684_800, 2_208_988_800, allow_nan=False)  # 2000 to 2040
zones = st.sampled_from(ZONES).map(ZoneInfo)


@given(schedules())
@example(
    Schedule(
        "0 0 30 2 *",
        (frozenset({0}), frozenset({0}), frozenset({30}), frozenset({2}), frozenset(range(7))),
        False,
        True,
    )
)
def test_a_schedule_reads_exactly_its_fields_or_is_refused_for_never_firing(s: Schedule) -> None:
    cron, error = outcome(lambda: parse_cron(s.text), ValueError)
    if not fires_at_all(s):
        assert error is not None
        assert repr(s.text) in str(error)
        return
    assert cron is not None, str(error)
    assert (cron.minutes, cron.hours, cron.days, cron.months, cron.weekdays) == s.sets
    assert (cron.any_day, cron.any_weekday) == (s.any_day, s.any_weekday)


CRON_PIECES = [
    *"0123456789*/,-? ", "60", "24", "32", "13", "8", "0/0", "5-1", "jan", "MON", "Sun-Sat",
    "@daily", "@weekly", "@reboot", "\u0663", "L", "W", "#",
]  # fmt: skip


@given(st.text(max_size=30) | st.lists(st.sampled_from(CRON_PIECES), max_size=14).map("".join))
@example("60 * * * *")
@example("*/0 * * * *")
@example("5-1 * * * *")
@example("* * * * \u0663")
def test_any_text_parses_or_is_refused_quoting_it(text: str) -> None:
    _, error = outcome(lambda: parse_cron(text), ValueError)
    if error is not None:
        assert repr(text) in str(error)


@given(schedules(), instants, zones, st.sampled_from([3600.0, 86_400.0, 40 * 86_400.0, HORIZON_SECONDS]))
@share(0.75)
def test_next_start_is_the_first_matching_minute_after(
    s: Schedule, after: float, tz: ZoneInfo, horizon: float
) -> None:
    assume(fires_at_all(s))
    got = next_start(parse_cron(s.text), after, tz, horizon=horizon)
    assert got == oracle_next(s, after, tz, horizon)
    if got is not None:
        assert after < got <= after + horizon
        assert got % 60 == 0


@given(schedules(), instants, zones, st.sampled_from([60.0, 3600.0, 86_400.0, 40 * 86_400.0]))
@share(0.75)
def test_previous_start_is_the_last_matching_minute_at_or_before(
    s: Schedule, at: float, tz: ZoneInfo, lookback: float
) -> None:
    assume(fires_at_all(s))
    got = previous_start(parse_cron(s.text), at, tz, lookback=lookback)
    assert got == oracle_previous(s, at, tz, lookback)


def oracle_run_end(s: Schedule, opened: int, tz: ZoneInfo, duration: float, max_days: int) -> float | None:
    end = opened + duration
    day = local_date(opened, tz)
    for _ in range(max_days):
        occurrences = day_instants(s, day, tz)
        if not occurrences and datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() > end:
            return end
        for start in occurrences:
            if start > end:
                return end
            end = max(end, start + duration)
        day += timedelta(days=1)
    return None


@given(schedules(), instants, zones, st.sampled_from([60.0, 300.0, 3600.0, 7200.0, 86_400.0, 3 * 86_400.0]))
@share(0.5)
def test_run_end_is_where_overlapping_occurrences_stop(
    s: Schedule, at: float, tz: ZoneInfo, duration: float
) -> None:
    assume(fires_at_all(s))
    opened = oracle_next(s, at, tz, 40 * 86_400.0)
    assume(opened is not None)
    assert opened is not None
    got = run_end(parse_cron(s.text), opened, tz, duration=duration, max_days=6)
    assert got == oracle_run_end(s, opened, tz, duration, 6)


durations = st.one_of(
    st.sampled_from(["1h", "30m", "90s", "1h30m", "0s", "", "1d", "-1h", "1e400h", "9" * 400 + "h", "0.5h"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10**6),
    st.just(10**400),
    st.none(),
    st.booleans(),
)
window_specs = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["allow", "deny", "Allow", None]),
        "schedule": st.sampled_from(["0 * * * *", "*/5 * * * *", "0 22 * * *", "bad", "", 5]),
        "duration": durations,
    },
    optional={
        "name": st.sampled_from(["w", "", None]),
        "applications": st.sampled_from([["*"], [], ["web"], "web", [""], [1]]),
        "namespaces": st.sampled_from([["prod-*"], []]),
        "timeZone": st.sampled_from(
            ["UTC", "Europe/Berlin", "Nowhere/City", "../../etc/passwd", "", "a\x00", "x" * 300, 5]
        ),
        "manualSync": st.sampled_from([True, False, "yes"]),
        "andOperator": st.booleans(),
        "syncOverrun": st.booleans(),
    },
)


@given(window_specs, st.sampled_from([1_700_000_000.0, 1_711_846_800.0]))
@example(
    {"kind": "deny", "schedule": "0 * * * *", "duration": "1" + "0" * 400 + "h", "applications": ["*"]}, 1.7e9
)  # was OverflowError
@example(
    {"kind": "deny", "schedule": "0 * * * *", "duration": float("nan"), "applications": ["*"]}, 1.7e9
)  # was accepted
@example(
    {"kind": "deny", "schedule": "0 * * * *", "duration": 10**400, "applications": ["*"]}, 1.7e9
)  # was OverflowError
@example({"kind": "deny", "schedule": "0 * * * *", "duration": float("inf"), "applications": ["*"]}, 1.7e9)
def test_a_window_parses_with_a_finite_positive_duration_or_is_refused_naming_it(
    spec: dict[str, Any], at: float
) -> None:
    window, error = outcome(lambda: parse_window(spec, index=3), ValueError)
    if error is not None:
        label = spec.get("name") or f"{spec.get('kind')}-3"
        assert str(error).startswith(f"sync window {label}: "), str(error)
        return
    assert window is not None
    assert math.isfinite(window.duration)
    assert window.duration > 0
    when = datetime.fromtimestamp(at, UTC)
    verdict = evaluate([window], app="web", namespace="prod-a", cluster="c", at=when)
    verdict.message()


@dataclass(frozen=True)
class Window:
    kind: str
    schedule: Schedule
    duration: float
    zone: str
    manual_sync: bool


def window_active(w: Window, t: float) -> bool:
    start = oracle_previous(w.schedule, t, ZoneInfo(w.zone), w.duration)
    return start is not None and t < start + w.duration


def oracle_decision(windows: list[Window], t: float, manual: bool) -> bool:
    """The docstring's rule: an active deny blocks; allow windows none of which is active block;
    a manual sync passes when every blocking window allows manual syncs."""
    active = [window_active(w, t) for w in windows]
    blocking = [w for w, on in zip(windows, active, strict=True) if on and w.kind == "deny"]
    allows = [on for w, on in zip(windows, active, strict=True) if w.kind == "allow"]
    if allows and not any(allows):
        blocking += [w for w in windows if w.kind == "allow"]
    return not blocking or (manual and all(w.manual_sync for w in blocking))


# Windows whose schedules fire at most every five minutes, so the boundaries evaluate walks cover
# hours, not seconds.
dense_enough = schedules(coarse=True).filter(fires_at_all)
windows = st.builds(
    Window,
    st.sampled_from(["allow", "deny"]),
    dense_enough,
    st.sampled_from([300.0, 1800.0, 3600.0, 5400.0, 86_400.0]),
    st.sampled_from(["UTC", "Europe/Berlin", "Australia/Lord_Howe"]),
    st.booleans(),
)


@given(
    st.lists(windows, min_size=1, max_size=3),
    instants,
    st.booleans(),
    st.lists(st.floats(0, 1, exclude_max=True), max_size=6),
)
@share(0.5)
def test_a_verdict_holds_until_its_until_and_changes_there(
    ws: list[Window], at: float, manual: bool, fractions: list[float]
) -> None:
    parsed = [
        parse_window({"kind": w.kind, "schedule": w.schedule.text, "duration": w.duration, "timeZone": w.zone,
                      "applications": ["*"], "manualSync": w.manual_sync}, index=i)
        for i, w in enumerate(ws)
    ]  # fmt: skip
    verdict = evaluate(
        parsed, app="web", namespace="n", cluster="c", at=datetime.fromtimestamp(at, UTC), manual=manual
    )
    assert verdict.allowed == oracle_decision(ws, at, manual)
    if verdict.until is None:
        return
    until = verdict.until.timestamp()
    assert until > at
    assert oracle_decision(ws, until, manual) != verdict.allowed
    for fraction in fractions:
        between = at + (until - at) * fraction
        if between < until:  # not rounded up onto it
            assert oracle_decision(ws, between, manual) == verdict.allowed
