"""Working time on a calendar: add working minutes to an instant, count them between two.

A calendar has a time zone, weekly windows of local wall-clock time (several a day; a window
whose end is not after its start runs past midnight into the next day) and holidays (local
dates on which no window starts), or is "around the clock". A window belongs to the day it
starts on: a night shift starting on a working Monday counts in full even if Tuesday is a
holiday. Wall-clock times follow the zone's daylight-saving changes (09:00 stays 09:00).

Pure functions, no database: instants in and out are UTC, naive (as stored) or aware (then
answered aware). Tests compare them with a minute-by-minute reference.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo

MAX_SCAN_DAYS = 3 * 366  # a calendar that offers no working time within this is refused


class NoWorkingTime(ValueError):
    """The calendar has no working time (within MAX_SCAN_DAYS): due times would never come."""


@dataclass(frozen=True)
class WorkingCalendar:
    """`windows[weekday]` (0 = Monday … 6 = Sunday): (start, end) local times."""

    timezone: str = "Asia/Kolkata"
    windows: Mapping[int, Sequence[tuple[time, time]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    around_the_clock: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _utc(value: datetime) -> datetime:
    """Aware UTC, whatever came in (naive means UTC)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _like(value: datetime, template: datetime) -> datetime:
    """`value` (aware UTC) in the kind of `template`: naive if it was naive."""
    return value.replace(tzinfo=None) if template.tzinfo is None else value


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(timezone.utc)


def _day_intervals(calendar: WorkingCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The UTC intervals of the windows that start on local `day`."""
    if day in calendar.holidays:
        return []
    zone = calendar.zone
    intervals = []
    for start, end in calendar.windows.get(day.weekday(), ()):
        end_day = day if end > start else day + timedelta(days=1)
        begin, finish = _local_instant(day, start, zone), _local_instant(end_day, end, zone)
        if finish > begin:
            intervals.append((begin, finish))
    return intervals


def _intervals_from(calendar: WorkingCalendar, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals (UTC, merged, in order) that end after `instant`, day by day."""
    if calendar.around_the_clock:
        yield instant, instant + timedelta(days=MAX_SCAN_DAYS)
        return
    day = instant.astimezone(calendar.zone).date() - timedelta(days=1)  # a night window may reach in
    pending: tuple[datetime, datetime] | None = None
    idle_days = 0
    while idle_days <= MAX_SCAN_DAYS:
        found = sorted(_day_intervals(calendar, day))
        idle_days = 0 if found else idle_days + 1
        for begin, finish in found:
            if pending and begin <= pending[1]:  # overlapping or touching: one interval
                pending = (pending[0], max(pending[1], finish))
                continue
            if pending and pending[1] > instant:
                yield pending
            pending = (begin, finish)
        day += timedelta(days=1)
        # Windows of later days start after this day's local midnight, so an interval that ends
        # before the next day's first possible start is complete.
        if pending and pending[1] < _local_instant(day, time(0), calendar.zone):
            if pending[1] > instant:
                yield pending
            pending = None
    if pending and pending[1] > instant:
        yield pending
    raise NoWorkingTime(f"No working time within {MAX_SCAN_DAYS} days.")


def add_working_minutes(calendar: WorkingCalendar, start: datetime, minutes: float) -> datetime:
    """The instant at which `minutes` of working time have passed since `start`."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    at = _utc(start)
    remaining = timedelta(minutes=minutes)
    for begin, finish in _intervals_from(calendar, at):
        begin = max(begin, at)
        if begin + remaining <= finish:
            return _like(begin + remaining, start)
        remaining -= finish - begin
    raise NoWorkingTime("No working time.")  # pragma: no cover (the generator raises first)


def working_minutes_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> float:
    """Working minutes from `start` to `end` (0 when `end` is not after `start`)."""
    begin_at, end_at = _utc(start), _utc(end)
    if end_at <= begin_at:
        return 0.0
    if calendar.around_the_clock:
        return (end_at - begin_at).total_seconds() / 60
    total = timedelta()
    try:
        for begin, finish in _intervals_from(calendar, begin_at):
            if begin >= end_at:
                break
            total += min(finish, end_at) - max(begin, begin_at)
    except NoWorkingTime:
        pass  # no more working time: what was counted is all there is
    return total.total_seconds() / 60
