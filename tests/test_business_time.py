"""The business-time calculator (app/sla/business_time.py): named cases an operations team
would check by hand, and random calendars against a minute-by-minute reference."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sla.business_time import (
    NoWorkingTime,
    WorkingCalendar,
    add_working_minutes,
    working_minutes_between,
)

IST = ZoneInfo("Asia/Kolkata")
MON_SAT_9_19 = {day: [(time(9), time(19))] for day in range(6)}
BUSINESS = WorkingCalendar("Asia/Kolkata", MON_SAT_9_19)


def ist(*args) -> datetime:
    """A local India time as naive UTC, the way instants are stored."""
    return datetime(*args, tzinfo=IST).astimezone(timezone.utc).replace(tzinfo=None)


# --- named cases ----------------------------------------------------------------------------
def test_friday_evening_plus_two_hours_is_saturday_morning():
    assert add_working_minutes(BUSINESS, ist(2026, 12, 4, 18, 30), 120) == ist(2026, 12, 5, 10, 30)


def test_saturday_evening_rolls_over_sunday_to_monday():
    assert add_working_minutes(BUSINESS, ist(2026, 12, 5, 18, 0), 120) == ist(2026, 12, 7, 10, 0)


def test_a_start_outside_hours_starts_counting_at_opening():
    assert add_working_minutes(BUSINESS, ist(2026, 12, 7, 6, 0), 30) == ist(2026, 12, 7, 9, 30)
    assert add_working_minutes(BUSINESS, ist(2026, 12, 6, 12, 0), 0) == ist(2026, 12, 7, 9, 0)


def test_diwali_is_skipped():
    diwali = WorkingCalendar("Asia/Kolkata", MON_SAT_9_19, holidays=frozenset({date(2026, 11, 9)}))
    # Saturday 7 Nov 18:00 + 2 h: one hour on Saturday, Sunday closed, Monday 9 Nov Diwali.
    assert add_working_minutes(diwali, ist(2026, 11, 7, 18, 0), 120) == ist(2026, 11, 10, 10, 0)
    assert working_minutes_between(diwali, ist(2026, 11, 7, 18, 0), ist(2026, 11, 10, 10, 0)) == 120


def test_two_windows_a_day_skip_the_lunch_break():
    split = WorkingCalendar("Asia/Kolkata", {0: [(time(9), time(13)), (time(14), time(19))]})
    assert add_working_minutes(split, ist(2026, 12, 7, 12, 30), 60) == ist(2026, 12, 7, 14, 30)
    assert working_minutes_between(split, ist(2026, 12, 7, 8), ist(2026, 12, 7, 20)) == 9 * 60


def test_a_window_across_midnight_belongs_to_the_day_it_starts():
    night = WorkingCalendar("Asia/Kolkata", {4: [(time(22), time(6))]})  # Friday 22:00 → Saturday 06:00
    assert add_working_minutes(night, ist(2026, 12, 4, 23, 0), 300) == ist(2026, 12, 5, 4, 0)
    # The whole shift counts even when the Saturday it runs into is a holiday.
    with_holiday = WorkingCalendar("Asia/Kolkata", {4: [(time(22), time(6))]}, holidays=frozenset({date(2026, 12, 5)}))
    assert working_minutes_between(with_holiday, ist(2026, 12, 4, 12), ist(2026, 12, 5, 12)) == 8 * 60


def test_around_the_clock_is_plain_time():
    always = WorkingCalendar(around_the_clock=True)
    start = datetime(2026, 12, 5, 23, 50)
    assert add_working_minutes(always, start, 30) == datetime(2026, 12, 6, 0, 20)
    assert working_minutes_between(always, start, start + timedelta(hours=3)) == 180


def test_wall_clock_hours_follow_daylight_saving():
    london = WorkingCalendar("Europe/London", {day: [(time(9), time(17))] for day in range(5)})
    # Friday 27 Mar 2026 16:00 GMT + 2 h: 1 h on Friday, 1 h on Monday 30 Mar from 09:00 BST (08:00 UTC).
    start = datetime(2026, 3, 27, 16, 0, tzinfo=timezone.utc)
    assert add_working_minutes(london, start, 120) == datetime(2026, 3, 30, 9, 0, tzinfo=timezone.utc)


def test_aware_in_aware_out_naive_in_naive_out():
    aware = datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc)  # 09:30 IST
    assert add_working_minutes(BUSINESS, aware, 30).tzinfo is not None
    assert add_working_minutes(BUSINESS, aware.replace(tzinfo=None), 30).tzinfo is None


def test_between_is_zero_backwards_and_over_closed_time():
    assert working_minutes_between(BUSINESS, ist(2026, 12, 7, 12), ist(2026, 12, 7, 11)) == 0
    assert working_minutes_between(BUSINESS, ist(2026, 12, 6, 8), ist(2026, 12, 6, 20)) == 0  # Sunday


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(NoWorkingTime):
        add_working_minutes(WorkingCalendar("Asia/Kolkata", {}), ist(2026, 12, 7, 9), 1)
    every_day_off = WorkingCalendar("UTC", {0: [(time(9), time(10))]}, holidays=frozenset(
        date(2026, 1, 5) + timedelta(weeks=n) for n in range(300)))
    with pytest.raises(NoWorkingTime):
        add_working_minutes(every_day_off, datetime(2026, 1, 1), 1)


def test_negative_minutes_are_refused():
    with pytest.raises(ValueError):
        add_working_minutes(BUSINESS, ist(2026, 12, 7, 9), -1)


# --- random calendars against a minute-by-minute reference ----------------------------------
def _is_working_minute(calendar: WorkingCalendar, at: datetime) -> bool:
    """Whether the minute starting at `at` (aware UTC) is working time, by the definition."""
    if calendar.around_the_clock:
        return True
    local_day = at.astimezone(calendar.zone).date()
    for day in (local_day - timedelta(days=1), local_day):
        if day in calendar.holidays:
            continue
        for start, end in calendar.windows.get(day.weekday(), ()):
            begin = datetime.combine(day, start, tzinfo=calendar.zone).astimezone(timezone.utc)
            end_day = day if end > start else day + timedelta(days=1)
            finish = datetime.combine(end_day, end, tzinfo=calendar.zone).astimezone(timezone.utc)
            if begin <= at < finish:
                return True
    return False


def _reference_add(calendar: WorkingCalendar, start: datetime, minutes: int) -> datetime:
    at, counted = start, 0
    while True:
        if counted == minutes and (minutes > 0 or _is_working_minute(calendar, at)):
            return at
        if _is_working_minute(calendar, at):
            counted += 1
            if counted == minutes:
                return at + timedelta(minutes=1)
        at += timedelta(minutes=1)


def _reference_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    total, at = 0, start
    while at < end:
        total += _is_working_minute(calendar, at)
        at += timedelta(minutes=1)
    return total


quarter_hours = st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, (q % 4) * 15))
windows = st.tuples(quarter_hours, quarter_hours).filter(lambda w: w[0] != w[1])
calendars = st.builds(
    WorkingCalendar,
    timezone=st.sampled_from(["Asia/Kolkata", "UTC", "Europe/London", "America/New_York", "Asia/Kathmandu"]),
    windows=st.dictionaries(st.integers(0, 6), st.lists(windows, min_size=1, max_size=3), min_size=1, max_size=7),
    holidays=st.frozensets(st.dates(date(2026, 3, 1), date(2026, 4, 30)), max_size=8),
)  # (around the clock is plain time: tested by name above)
instants = st.integers(min_value=0, max_value=60 * 24 * 50).map(
    lambda m: datetime(2026, 3, 1, tzinfo=timezone.utc) + timedelta(minutes=m))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars, start=instants, minutes=st.integers(min_value=1, max_value=1500))
def test_adding_matches_the_reference(calendar, start, minutes):
    assert add_working_minutes(calendar, start, minutes) == _reference_add(calendar, start, minutes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars, start=instants, length=st.integers(min_value=0, max_value=60 * 24 * 4))
def test_counting_matches_the_reference(calendar, start, length):
    end = start + timedelta(minutes=length)
    assert working_minutes_between(calendar, start, end) == _reference_between(calendar, start, end)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendar=calendars, start=instants, minutes=st.integers(min_value=1, max_value=1500))
def test_counting_undoes_adding(calendar, start, minutes):
    due = add_working_minutes(calendar, start, minutes)
    assert working_minutes_between(calendar, start, due) == pytest.approx(minutes)
