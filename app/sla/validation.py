"""Rules for calendars and policies, each refusal naming its field. Pure functions."""
from __future__ import annotations

from datetime import date, time
from typing import Iterable, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask_babel import gettext as _

from ..models import utcnow
from ..tickets.validation import InvalidValue
from .business_time import NoWorkingTime, WorkingCalendar, add_working_minutes

MAX_TARGET_MINUTES = 366 * 24 * 60  # a year: anything longer is a typo
HOLIDAY_YEARS_BACK, HOLIDAY_YEARS_AHEAD = 1, 5


def check_timezone(name: Optional[str]) -> str:
    value = (name or "").strip()
    if not value:
        raise InvalidValue(_("%(label)s is required.", label=_("Time zone")))
    try:
        if value not in available_timezones():
            raise ZoneInfoNotFoundError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValue(
            _("%(label)s: unknown time zone %(value)s (use a name such as Asia/Kolkata).", label=_("Time zone"),
              value=value)
        ) from exc
    return value


def check_minutes(value: Optional[int], label: str) -> int:
    if value is None:
        raise InvalidValue(_("%(label)s is required.", label=label))
    if value <= 0:
        raise InvalidValue(_("%(label)s must be more than 0 minutes.", label=label))
    if value > MAX_TARGET_MINUTES:
        raise InvalidValue(_("%(label)s must be at most %(max)s minutes (a year).", label=label, max=MAX_TARGET_MINUTES))
    return value


def _span(start: time, end: time) -> tuple[int, int]:
    """Minutes since midnight; an end of 00:00 is the midnight that closes the day."""
    return start.hour * 60 + start.minute, (end.hour * 60 + end.minute) or 24 * 60


def check_window(weekday: Optional[int], start: Optional[time], end: Optional[time],
                 others: Iterable[tuple[int, time, time]]) -> None:
    """A window ends after it starts (00:00 as the end means midnight) and overlaps no other
    window of the same calendar and day; a night shift is entered as two windows."""
    if weekday is None or not 0 <= int(weekday) <= 6:
        raise InvalidValue(_("%(label)s must be Monday to Sunday.", label=_("Weekday")))
    if start is None:
        raise InvalidValue(_("%(label)s is required.", label=_("Start")))
    if end is None:
        raise InvalidValue(_("%(label)s is required.", label=_("End")))
    begin, finish = _span(start, end)
    if finish <= begin:
        raise InvalidValue(_(
            "%(label)s: the window ends before it starts (for a night shift, add one window up to 00:00 "
            "and one from 00:00 the next day).", label=_("End"),
        ))
    for day, other_start, other_end in others:
        other_begin, other_finish = _span(other_start, other_end)
        if day == int(weekday) and begin < other_finish and other_begin < finish:
            raise InvalidValue(_(
                "%(label)s: overlaps the window %(start)s–%(end)s of the same day.", label=_("Start"),
                start=other_start.strftime("%H:%M"), end=other_end.strftime("%H:%M"),
            ))


def check_holiday_day(day: Optional[date], today: date) -> date:
    if day is None:
        raise InvalidValue(_("%(label)s is required.", label=_("Date")))
    low, high = today.year - HOLIDAY_YEARS_BACK, today.year + HOLIDAY_YEARS_AHEAD
    if not low <= day.year <= high:
        raise InvalidValue(_("%(label)s must be in the years %(low)s to %(high)s.", label=_("Date"), low=low, high=high))
    return day


def check_has_working_time(calendar: WorkingCalendar, label: str) -> None:
    """Refuse a calendar whose due times would never come."""
    try:
        add_working_minutes(calendar, utcnow(), 1)
    except NoWorkingTime as exc:
        raise InvalidValue(_(
            "%(label)s has no working time at all: add weekly windows or make it around the clock.", label=label
        )) from exc
