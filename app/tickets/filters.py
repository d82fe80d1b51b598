"""The ticket list's filters in the domain's words: choices, people, date ranges.

FAB offers every column its string operators ("Starts with", "Not Ends with"): case-sensitive
free text on a status, English only. Here each filterable column has exactly one kind of
filter, and the list's URL keeps FAB's own form (`_flt_<index>_<column>=<value>`, a value
repeated for several choices), so links, queues and saved views are plain, shareable URLs:

    /tickets/list/?_flt_0_status=Open&_flt_0_status=Waiting&_flt_0_assignees=none

A value that means nothing (an unknown status, a date that is not one) is left out and named in
`filter_problems()`, which the list shows: the rest of the filters still apply.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, or_, select

from ..limits import INT64
from ..models import PRIORITIES, STATUSES, Person, Ticket, person_team, ticket_assignee, utcnow
from .visibility import current_person

ME, NONE, MY_TEAMS = "me", "none", "mine"
SLA_STATES = ("on_track", "due_soon", "breached", "met", "paused")
# How long ago a ticket was created, in whole days: (value, at least, less than; None: no bound).
# The dashboard's age figure counts with the same clause (age_clause) as the filter lists.
AGE_BUCKETS = (("0-1", 0, 1), ("1-3", 1, 3), ("3-7", 3, 7), ("7-30", 7, 30), ("30-", 30, None))
MAX_VALUES = 20  # per filter: a URL cannot make one query arbitrarily long


def filter_problems() -> list[str]:
    """This request's ignored filter values, as messages naming the filter."""
    return g.setdefault("filter_problems", []) if has_request_context() else []


def _report(label, value: str) -> None:
    message = _("%(field)s: “%(value)s” is not a valid choice; that value was ignored.",
                field=str(label), value=value[:40])
    if message not in filter_problems():
        filter_problems().append(message)


def _values(value: Any) -> list[str]:
    """FAB hands a list (the URL's repeated argument) or, from elsewhere, one value."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return [str(item).strip() for item in values if str(item).strip()][:MAX_VALUES]


def _person_id(text: str) -> Optional[int]:
    if text == ME:
        person = current_person()
        return person.id if person is not None else None
    return int(text) if text.isdigit() and int(text) < INT64 else None


class DomainFilter(BaseFilter):
    """One filter per column; `label` names it in messages. Everything a filter knows is on its
    class: FAB re-creates filters from (class, column) when it splits them for a query."""

    arg_name = "in"
    label = ""

    def chosen(self, value: Any) -> list[str]:
        """The valid values among `value`, reporting the others."""
        valid = []
        for item in _values(value):
            if self.valid(item):
                valid.append(item)
            else:
                _report(self.label, item)
        return valid

    def valid(self, item: str) -> bool:
        return True


class ChoiceFilter(DomainFilter):
    """The column is one of the chosen values (status, priority, SLA state)."""

    name = _l("Is one of")
    choices: tuple[str, ...] = ()

    def valid(self, item: str) -> bool:
        return item in self.choices

    def apply(self, query, value):
        chosen = self.chosen(value)
        return query.filter(getattr(Ticket, self.column_name).in_(chosen)) if chosen else query


class StatusFilter(ChoiceFilter):
    label, choices = _l("Status"), STATUSES


class PriorityFilter(ChoiceFilter):
    label, choices = _l("Priority"), PRIORITIES


class SlaStateFilter(ChoiceFilter):
    label, choices = _l("SLA"), SLA_STATES


class TeamFilter(DomainFilter):
    """The ticket's team is one of the chosen teams; `mine` means the viewer's own teams."""

    name = _l("Is one of")
    label = _l("Team")

    def valid(self, item: str) -> bool:
        return item == MY_TEAMS or (item.isdigit() and int(item) < INT64)

    def apply(self, query, value):
        chosen = self.chosen(value)
        if not chosen:
            return query
        ids = [int(item) for item in chosen if item.isdigit()]
        clauses = [Ticket.team_id.in_(ids)] if ids else []
        if MY_TEAMS in chosen:
            person = current_person()
            mine = select(person_team.c.team_id).where(person_team.c.user_id == (person.id if person else -1))
            clauses.append(Ticket.team_id.in_(mine))
        return query.filter(or_(*clauses))


class AssigneeFilter(DomainFilter):
    """Any of the chosen people is assigned; `none`: nobody (active) is; `me`: the viewer."""

    name = _l("Is one of")
    label = _l("Assignees")

    def valid(self, item: str) -> bool:
        return item == NONE or _person_id(item) is not None

    def apply(self, query, value):
        chosen = self.chosen(value)
        if not chosen:
            return query
        ids = [_person_id(item) for item in chosen if item != NONE]
        clauses = []
        if ids:
            clauses.append(Ticket.id.in_(
                select(ticket_assignee.c.ticket_id).where(ticket_assignee.c.user_id.in_(ids))
            ))
        if NONE in chosen:
            # Nobody who can work on it: no assignee, or only deactivated ones (a leaver's
            # tickets left for the leads, who find them in their Unassigned queue).
            clauses.append(~exists().where(
                ticket_assignee.c.ticket_id == Ticket.id,
                # (the few deactivated people, not the many active ones: the index stays usable)
                ticket_assignee.c.user_id.not_in(select(Person.id).where(Person.active.is_not(True))),
            ))
        return query.filter(or_(*clauses))


class CreatorFilter(DomainFilter):
    """The ticket was created by one of the chosen people (`me`: the viewer)."""

    name = _l("Is one of")
    label = _l("Created by")

    def valid(self, item: str) -> bool:
        return _person_id(item) is not None

    def apply(self, query, value):
        ids = [_person_id(item) for item in self.chosen(value)]
        return query.filter(Ticket.created_by_id.in_(ids)) if ids else query


class BookingFilter(DomainFilter):
    """The booking ID is exactly this one (as stored: upper-case), e.g. a booking's tickets."""

    name = _l("Is")
    label = _l("Booking ID")

    def valid(self, item: str) -> bool:
        return len(item) <= 40

    def apply(self, query, value):
        chosen = [item.upper() for item in self.chosen(value)]
        return query.filter(Ticket.booking_id.in_(chosen)) if chosen else query


def local_day_start(day: date) -> datetime:
    """Midnight of `day` in DISPLAY_TIMEZONE, as the naive UTC the database stores."""
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    return datetime.combine(day, time(), tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def parse_day(text: str) -> Optional[date]:
    """A calendar day as `2026-12-03`, or relative to today (`today`, `-7d`: seven days ago)."""
    if text == "today" or (text.startswith("-") and text.endswith("d") and text[1:-1].isdigit()):
        back = 0 if text == "today" else min(int(text[1:-1]), 3660)
        zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
        return datetime.now(zone).date() - timedelta(days=back)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


class DateFromFilter(DomainFilter):
    """On or after the chosen day (the company's days: DISPLAY_TIMEZONE)."""

    name = _l("From")
    arg_name = "from"
    label = _l("Date")

    def valid(self, item: str) -> bool:
        return parse_day(item) is not None

    def apply(self, query, value):
        chosen = self.chosen(value)
        if not chosen:
            return query
        return query.filter(getattr(Ticket, self.column_name) >= local_day_start(parse_day(chosen[0])))


class DateToFilter(DateFromFilter):
    """On or before the chosen day, the whole day included."""

    name = _l("To")
    arg_name = "to"

    def apply(self, query, value):
        chosen = self.chosen(value)
        if not chosen:
            return query
        end = local_day_start(parse_day(chosen[0]) + timedelta(days=1))
        return query.filter(getattr(Ticket, self.column_name) < end)


def age_clause(low: int, high: Optional[int], now: datetime, created_at: Any = Ticket.created_at):
    """Created at least `low` and less than `high` days before `now` (24-hour days); `created_at`:
    the column to test (the dashboard's may be that of a CTE of the person's tickets)."""
    clauses = []
    if low:
        clauses.append(created_at <= now - timedelta(days=low))
    if high is not None:
        clauses.append(created_at > now - timedelta(days=high))
    return and_(*clauses)


class AgeFilter(DomainFilter):
    """Created within one of the age ranges (`0-1`, `1-3`, `3-7`, `7-30`, `30-` days ago), as
    the dashboard's age figure counts them."""

    name = _l("Is one of")
    label = _l("Age")
    buckets = {key: (low, high) for key, low, high in AGE_BUCKETS}

    def valid(self, item: str) -> bool:
        return item in self.buckets

    def apply(self, query, value):
        chosen = self.chosen(value)
        if not chosen:
            return query
        now = utcnow()
        return query.filter(or_(*[age_clause(*self.buckets[item], now) for item in chosen]))


def _dates(label) -> tuple[type, type]:
    """From/to filters of a date column, named by `label` in messages."""
    return (type("DateFrom", (DateFromFilter,), {"label": label}),
            type("DateTo", (DateToFilter,), {"label": label}))


FILTERS: dict[str, tuple[type, ...]] = {
    "status": (StatusFilter,),
    "priority": (PriorityFilter,),
    "sla_state": (SlaStateFilter,),
    "team": (TeamFilter,),
    "assignees": (AssigneeFilter,),
    "created_by": (CreatorFilter,),
    "booking_id": (BookingFilter,),
    "created_at": _dates(_l("Created")),
    "updated_at": _dates(_l("Updated")),
    "resolved_at": _dates(_l("Resolved")),
    "first_responded_at": _dates(_l("First response")),
    "age": (AgeFilter,),
}


def ticket_filters(datamodel) -> dict[str, list[BaseFilter]]:
    """Each filterable column's filters, index = the `<index>` of `_flt_<index>_<column>`."""
    return {column: [cls(column, datamodel) for cls in classes] for column, classes in FILTERS.items()}
