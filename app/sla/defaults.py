"""What `flask setup` puts in place once: two calendars, India's holidays, default policies.

Everything here is a starting point that admins edit afterwards; running setup again never
overwrites an edit: a calendar or policy that exists is left alone, and holidays are added
only for a year that has none yet.
"""
from __future__ import annotations

from datetime import date, time

import holidays as holiday_tables
from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from ..models import Calendar, CalendarWindow, Holiday, SlaPolicy

BUSINESS_HOURS = "Business hours (IST)"
AROUND_THE_CLOCK = "Around the clock"
HOLIDAY_COUNTRY = "IN"
# priority: (first response, resolution) in working minutes, and on which calendar.
DEFAULT_TARGETS = {
    "Urgent": (30, 4 * 60, AROUND_THE_CLOCK),
    "High": (2 * 60, 8 * 60, BUSINESS_HOURS),
    "Medium": (4 * 60, 24 * 60, BUSINESS_HOURS),
    "Low": (8 * 60, 40 * 60, BUSINESS_HOURS),
}


def _calendar(session: Session, name: str) -> tuple[Calendar, bool]:
    found = session.scalars(select(Calendar).where(Calendar.name == name)).first()
    if found is not None:
        return found, False
    calendar = Calendar(name=name, timezone="Asia/Kolkata", around_the_clock=name == AROUND_THE_CLOCK)
    if name == BUSINESS_HOURS:  # Monday to Saturday, 09:00–19:00
        calendar.windows = [CalendarWindow(weekday=day, start=time(9), end=time(19)) for day in range(6)]
    session.add(calendar)
    return calendar, True


def national_holidays(years: list[int]) -> list[tuple[date, str]]:
    """India's national holidays for `years`, from the maintained `holidays` package."""
    table = holiday_tables.country_holidays(HOLIDAY_COUNTRY, years=years)
    return sorted((day, name[:120]) for day, name in table.items())


def add_missing_holiday_years(session: Session, calendar: Calendar, years: list[int]) -> int:
    have = set(
        session.scalars(
            select(extract("year", Holiday.day)).where(Holiday.calendar_id == calendar.id).distinct()
        )
    ) if calendar.id else set()
    missing = [year for year in years if year not in {int(y) for y in have}]
    added = national_holidays(missing) if missing else []
    for day, name in added:
        calendar.holidays.append(Holiday(day=day, name=name))
    return len(added)


def ensure_sla_defaults(session: Session, today: date | None = None) -> list[str]:
    """Create what is missing; return what was done, for setup's output."""
    today = today or date.today()
    done = []
    calendars = {}
    for name in (BUSINESS_HOURS, AROUND_THE_CLOCK):
        calendars[name], created = _calendar(session, name)
        if created:
            done.append(f"Calendar created: {name}")
    session.flush()
    added = add_missing_holiday_years(session, calendars[BUSINESS_HOURS], [today.year, today.year + 1])
    if added:
        done.append(f"Holidays added to {BUSINESS_HOURS}: {added}")
    existing = set(session.scalars(select(SlaPolicy.priority).where(SlaPolicy.team_id.is_(None))))
    for priority, (first_response, resolution, calendar_name) in DEFAULT_TARGETS.items():
        if priority not in existing:
            session.add(SlaPolicy(
                team_id=None, priority=priority, first_response_minutes=first_response,
                resolution_minutes=resolution, calendar=calendars[calendar_name],
            ))
            done.append(f"Default SLA policy created: {priority}")
    session.commit()
    return done
