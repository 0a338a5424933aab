"""Five-field cron schedules and their occurrences in a time zone, for sync windows.

The syntax is standard cron: ``minute hour day-of-month month day-of-week`` with ``*``, lists
(``1,15``), ranges (``1-5``), steps (``*/15``, ``0-30/10``, ``5/15`` meaning 5 to the end by 15),
month and weekday names (``jan``, ``mon-fri``, any case), weekday 7 as Sunday, ``?`` as ``*`` in the
two day fields, and the shorthands ``@yearly``, ``@monthly``, ``@weekly``, ``@daily`` and ``@hourly``.
As in classic cron, when both day fields are restricted (neither is ``*``) a day matches when either
matches; ``*/2`` counts as restricted. A schedule that can never fire (``0 0 30 2 *``) is refused.

Daylight saving time. Schedules are read in local wall-clock time, and each local time fires once:
- a local time the clocks skip (02:30 when they jump from 02:00 to 03:00) fires as far after the
  jump as it was scheduled into the gap (03:30), so a daily window is never lost;
- a local time the clocks repeat (02:30 when they fall back from 03:00 to 02:00) fires at its first
  instant only; the repeated hour does not fire it again.
Durations are elapsed time, so a window is always as long as written.

Occurrences are instants in whole seconds since the epoch. Deliberately not here: seconds fields,
``L``/``W``/``#`` extensions, what a window does with the occurrences (``policy.windows``).
"""

from __future__ import annotations

import bisect
import calendar
import functools
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_SHORTHANDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
#: (name, lowest, highest, names) per field, in the order they are written.
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _WEEKDAYS),
)
_LONGEST_MONTH = {m: 29 if m == 2 else calendar.monthrange(2001, m)[1] for m in range(1, 13)}


@dataclass(frozen=True, repr=False)
class Cron:
    """A parsed schedule: the allowed values of each field, and its firing minutes within a day."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month is *
    any_weekday: bool  # day-of-week is *

    def __repr__(self) -> str:
        return f"Cron({self.text!r})"

    @functools.cached_property
    def day_minutes(self) -> tuple[int, ...]:
        """Minutes after local midnight at which it fires on a matching day, ascending."""
        return tuple(sorted(h * 60 + m for h in self.hours for m in self.minutes))

    @functools.cached_property
    def day_seconds(self) -> tuple[int, ...]:
        return tuple(60 * m for m in self.day_minutes)

    @functools.cached_property
    def longest_gap(self) -> int:
        """Seconds between the two furthest-apart consecutive firings within a day (0 if it fires once)."""
        seconds = self.day_seconds
        return max((b - a for a, b in itertools.pairwise(seconds)), default=0)

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return by_date and by_weekday
        return by_date or by_weekday


def parse_cron(text: str) -> Cron:
    """Parse ``text``; raises ``ValueError`` naming the field and the part that is wrong."""
    expanded = _SHORTHANDS.get(text.strip().lower(), text)
    parts = expanded.split()
    if len(parts) != len(_FIELDS):
        raise ValueError(f"schedule {text!r}: want 5 fields (minute hour day-of-month month day-of-week)")
    values = [_parse_field(text, part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in values[4])
    cron = Cron(
        text=text,
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=weekdays,
        any_day=parts[2] in ("*", "?"),
        any_weekday=parts[4] in ("*", "?"),
    )
    if not cron.any_day and cron.any_weekday and not _fits_a_month(cron):
        raise ValueError(f"schedule {text!r}: never fires (no month has such a day)")
    return cron


def _fits_a_month(cron: Cron) -> bool:
    return any(d <= _LONGEST_MONTH[m] for m in cron.months for d in cron.days)


def _parse_field(
    text: str, part: str, name: str, low: int, high: int, names: dict[str, int]
) -> frozenset[int]:
    out: set[int] = set()
    for item in part.split(","):
        try:
            out.update(_parse_item(item, low, high, names, days=name.startswith("day")))
        except ValueError as err:
            raise ValueError(f"schedule {text!r}: {name} field {item!r}: {err}") from None
    return frozenset(out)


def _parse_item(item: str, low: int, high: int, names: dict[str, int], *, days: bool) -> range:
    body, slash, step_text = item.partition("/")
    step = _number(step_text, {}) if slash else 1
    if step < 1:
        raise ValueError("step must be at least 1")
    if body == "*" or (days and body == "?"):
        first, last = low, high
    elif "-" in body:
        first_text, _, last_text = body.partition("-")
        first, last = _number(first_text, names), _number(last_text, names)
    else:
        first = _number(body, names)
        last = high if slash else first
    if not low <= first <= high or not low <= last <= high:
        raise ValueError(f"out of range {low}-{high}")
    if first > last:
        raise ValueError("range runs backwards")
    return range(first, last + 1, step)


def _number(text: str, names: dict[str, int]) -> int:
    word = text.strip().lower()
    if word in names:
        return names[word]
    if not (word.isascii() and word.isdigit()):
        raise ValueError(f"{text!r} is not a number" + (" or a name" if names else ""))
    return int(word)


def day_occurrences(cron: Cron, day: date, tz: ZoneInfo) -> tuple[int, tuple[int, ...]]:
    """``(base, offsets)``: ``cron`` fires on local date ``day`` at ``base + offset`` for each offset,
    ascending (epoch seconds).

    A day with no offset change maps local minutes by one fixed offset, with the schedule's own offsets
    and nothing built per day; a day with a change maps each local time with ``fold=0``, which is
    exactly the daylight-saving rule of the module docstring.
    """
    if not cron.matches_day(day):
        return 0, ()
    base = _fixed_offset_midnight(day, tz)
    return (base, cron.day_seconds) if base is not None else (0, _changeover_day(cron, day, tz))


@functools.lru_cache(maxsize=4096)
def _fixed_offset_midnight(day: date, tz: ZoneInfo) -> int | None:
    """Local midnight of ``day`` in epoch seconds when the UTC offset holds all day; else None."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    offset = midnight.utcoffset()
    if offset is None or offset != (midnight + timedelta(days=1)).utcoffset():
        return None
    return int(midnight.replace(tzinfo=UTC).timestamp() - offset.total_seconds())


@functools.lru_cache(maxsize=256)
def _changeover_day(cron: Cron, day: date, tz: ZoneInfo) -> tuple[int, ...]:
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    return tuple(sorted({int((midnight + timedelta(minutes=m)).timestamp()) for m in cron.day_minutes}))


def occurrences_on(cron: Cron, day: date, tz: ZoneInfo) -> tuple[int, ...]:
    """Instants (epoch seconds) at which ``cron`` fires on local date ``day``, ascending."""
    base, offsets = day_occurrences(cron, day, tz)
    return tuple(base + o for o in offsets)


def previous_start(cron: Cron, at: float, tz: ZoneInfo, *, lookback: float) -> int | None:
    """The latest occurrence at or before ``at`` and no earlier than ``at - lookback``; else None."""
    oldest = _local_date(at - lookback, tz) - timedelta(days=1)
    best: int | None = None
    day = _local_date(at, tz) + timedelta(days=1)
    while day >= oldest and (best is None or day >= _local_date(best, tz) - timedelta(days=1)):
        base, offsets = day_occurrences(cron, day, tz)
        i = bisect.bisect_right(offsets, at - base)
        if i and (best is None or base + offsets[i - 1] > best):
            best = base + offsets[i - 1]
        day -= timedelta(days=1)
    return best if best is not None and best >= at - lookback else None


def next_start(cron: Cron, after: float, tz: ZoneInfo, *, horizon: float) -> int | None:
    """The earliest occurrence strictly after ``after`` and within ``horizon`` seconds; else None."""
    day = _local_date(after, tz) - timedelta(days=1)
    newest = _local_date(after + horizon, tz)
    best: int | None = None
    while day <= newest and (best is None or day <= _local_date(best, tz) + timedelta(days=1)):
        if day.month not in cron.months:
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            continue
        base, offsets = day_occurrences(cron, day, tz)
        i = bisect.bisect_right(offsets, after - base)
        if i < len(offsets) and (best is None or base + offsets[i] < best):
            best = base + offsets[i]
        day += timedelta(days=1)
    return best if best is not None and best <= after + horizon else None


def run_end(cron: Cron, opened: int, tz: ZoneInfo, *, duration: float, max_days: int) -> float | None:
    """When occurrences of ``duration`` seconds, the first at ``opened``, stop overlapping or touching.

    Day by day: an ordinary day whose firings are never further apart than ``duration`` is crossed in
    one step, so a window that chains from day to day costs one look per day. ``None`` when the run
    goes on for more than ``max_days``.
    """
    end: float = opened + duration
    day = _local_date(opened, tz)
    for _ in range(max_days):
        base, offsets = day_occurrences(cron, day, tz)
        if not offsets:
            if datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() > end:
                return end
        elif base + offsets[0] > end:
            return end
        elif offsets is cron.day_seconds and cron.longest_gap <= duration:
            end = max(end, base + offsets[-1] + duration)
        else:
            latest = bisect.bisect_right(offsets, end - base)
            end = max(end, base + offsets[latest - 1] + duration)
            for start in offsets[latest:]:
                if base + start > end:
                    return end
                end = base + start + duration
        day += timedelta(days=1)
    return None


def _local_date(instant: float, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(instant, tz).date()
