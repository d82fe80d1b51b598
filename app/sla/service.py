"""A ticket's SLA fields kept right on every path that changes it (form, status button, API).

Session hooks, like the history and the outbox: at flush time a new ticket gets its due
times, a status change pauses, resumes or restarts the resolution clock, a priority or team
change recomputes from the start, and the first response (a comment or status change by
someone other than the creator, or by the creator when assigned) is stamped.
"""
from __future__ import annotations

import math
from datetime import datetime, time
from typing import Optional

from flask import has_app_context
from sqlalchemy import bindparam, event, inspect, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..models.sla import new_calendar_version
from ..models import (
    STATUS_RESOLVED,
    STATUS_WAITING,
    Calendar,
    CalendarWindow,
    Holiday,
    Comment,
    Person,
    SlaPolicy,
    SlaStep,
    Ticket,
    utcnow,
)
from ..tickets.visibility import current_person
from .business_time import WorkingCalendar, working_minutes_between
from .clock import DueTimes, Step, Targets, TicketClock, due_times, ladder, next_escalation, sla_state

_CALENDARS: dict[tuple[int, int], WorkingCalendar] = {}


def working_time(timezone: str, spans, around_the_clock: bool, holidays=()) -> WorkingCalendar:
    """The calculator's calendar from (weekday, start, end) spans and holiday dates."""
    by_day: dict[int, list[tuple[time, time]]] = {}
    for weekday, start, end in spans:
        by_day.setdefault(weekday, []).append((start, end))
    return WorkingCalendar(
        timezone=timezone,
        windows={day: tuple(found) for day, found in by_day.items()},
        holidays=frozenset(holidays),
        around_the_clock=bool(around_the_clock),
    )


def build_working_calendar(calendar: Calendar, windows=None) -> WorkingCalendar:
    """The calculator's view of a stored calendar (`windows`: instead of the stored ones)."""
    return working_time(
        calendar.timezone,
        ((w.weekday, w.start, w.end) for w in (calendar.windows if windows is None else windows)),
        calendar.around_the_clock,
        (h.day for h in calendar.holidays),
    )


def working_calendar(calendar: Calendar) -> WorkingCalendar:
    """build_working_calendar, cached per process by (id, version)."""
    key = (calendar.id, calendar.version)
    found = _CALENDARS.get(key)
    if found is None:
        found = build_working_calendar(calendar)
        if len(_CALENDARS) > 64:
            _CALENDARS.clear()
        _CALENDARS[key] = found
    return found


def targets_of(policy: Optional[SlaPolicy]) -> Optional[Targets]:
    if policy is None:
        return None
    return Targets(policy.first_response_minutes, policy.resolution_minutes, working_calendar(policy.calendar))


_FLUSH_LOOKUPS = "deyor_sla_lookups"


class _FlushLookups:
    """While one flush moves the clocks of many tickets (a bulk action on a page of rows), the
    SLA policies and the ladder steps already taken are each read once for all of them, not
    once per ticket: the statements of the flush do not grow with its rows."""

    def __init__(self, session: Session, ticket_ids: list[int]) -> None:
        self.session, self.ticket_ids = session, ticket_ids
        self._policies: Optional[list[SlaPolicy]] = None
        self._taken: Optional[dict[int, set]] = None

    def policy(self, team_id: Optional[int], priority: str) -> Optional[SlaPolicy]:
        if self._policies is None:  # a few rows: teams × priorities
            self._policies = list(self.session.scalars(select(SlaPolicy).order_by(SlaPolicy.id)))
        own = [p for p in self._policies if p.priority == priority and p.team_id == team_id]
        default = [p for p in self._policies if p.priority == priority and p.team_id is None]
        return (own or default or [None])[0]

    def taken(self, ticket_id: int) -> set:
        if self._taken is None:
            self._taken = taken_steps(self.session, self.ticket_ids)
        return self._taken.get(ticket_id, set())


def policy_for(session: Session, team_id: Optional[int], priority: str) -> Optional[SlaPolicy]:
    """The team's own policy for the priority, else the default one (no team)."""
    lookups = session.info.get(_FLUSH_LOOKUPS)
    if lookups is not None:
        return lookups.policy(team_id, priority)
    return session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.priority == priority, or_(SlaPolicy.team_id == team_id, SlaPolicy.team_id.is_(None)))
        .order_by(SlaPolicy.team_id.is_(None))
        .limit(1)
    ).first()


def clock_of(ticket: Ticket, now: datetime) -> TicketClock:
    created = ticket.created_at or now
    return TicketClock(
        status=ticket.status,
        created_at=created,
        resolve_started_at=ticket.resolve_started_at or created,
        first_responded_at=ticket.first_responded_at,
        resolved_at=ticket.resolved_at,
        waiting_since=ticket.waiting_since,
        paused_minutes=ticket.resolve_paused_minutes or 0.0,
        cycle=ticket.sla_cycle or 1,
    )


def taken_steps(session: Session, ticket_ids) -> dict[int, set[tuple[str, str, int]]]:
    taken: dict[int, set[tuple[str, str, int]]] = {}
    rows = session.execute(
        select(SlaStep.ticket_id, SlaStep.target, SlaStep.step, SlaStep.cycle).where(SlaStep.ticket_id.in_(ticket_ids))
    )
    for ticket_id, target, step, cycle in rows:
        taken.setdefault(ticket_id, set()).add((target, step, cycle))
    return taken


def evaluate(ticket: Ticket, targets: Targets, now: datetime) -> tuple[TicketClock, DueTimes, list[Step]]:
    clock = clock_of(ticket, now)
    due = due_times(clock, targets)
    return clock, due, ladder(clock, targets, due)


def computed(ticket: Ticket, targets: Optional[Targets], now: datetime, taken: set) -> dict:
    """The SLA columns' values for the ticket as it stands (nothing written)."""
    if targets is None:  # no policy at all (an admin removed the defaults): no clock
        return dict(first_response_due_at=None, resolve_due_at=None, escalation_at=None, sla_state=None)
    clock, due, steps = evaluate(ticket, targets, now)
    values = dict(
        first_response_due_at=due.first_response_due_at,
        resolve_due_at=due.resolve_due_at,
        escalation_at=next_escalation(steps, taken),
        sla_state=sla_state(clock, due, steps, now),
    )
    if ticket.status == STATUS_RESOLVED and ticket.resolved_at is not None:
        worked = working_minutes_between(targets.calendar, clock.resolve_started_at, ticket.resolved_at)
        values["resolution_minutes"] = max(0, math.ceil(worked - clock.paused_minutes))
    return values


def refresh(session: Session, ticket: Ticket, now: datetime, targets: Optional[Targets] = None) -> None:
    """Recompute the ticket's due times, state and next ladder instant (ORM attributes)."""
    team_id = ticket.team.id if ticket.team is not None else ticket.team_id
    targets = targets or targets_of(policy_for(session, team_id, ticket.priority))
    taken = _taken(session, ticket.id) if ticket.id and targets else set()
    for name, value in computed(ticket, targets, now, taken).items():
        setattr(ticket, name, value)


def _taken(session: Session, ticket_id: int) -> set:
    lookups = session.info.get(_FLUSH_LOOKUPS)
    if lookups is not None:
        return lookups.taken(ticket_id)
    return taken_steps(session, [ticket_id]).get(ticket_id, set())


# SQL types of the SLA columns the scheduler writes in bulk (for PostgreSQL's VALUES list).
_SQL_TYPES = {
    "first_response_due_at": "timestamp", "resolve_due_at": "timestamp", "escalation_at": "timestamp",
    "sla_state": "varchar", "escalation_level": "integer",
    "first_responded_at": "timestamp", "first_response_minutes": "integer",
}


def write_sla_columns(session: Session, rows: list[dict]) -> None:
    """Set SLA columns of many tickets, each row {"id": …, column: value, …} (same columns in
    every row), with plain UPDATEs that leave the ticket's version and updated_at alone.

    PostgreSQL gets one UPDATE … FROM (VALUES …) per thousand rows: psycopg2 would otherwise
    send an executemany UPDATE one row per round trip, most of a 100,000-ticket recompute."""
    if not rows:
        return
    names = [name for name in rows[0] if name != "id"]
    if session.get_bind().dialect.name == "postgresql":
        from psycopg2.extras import execute_values

        sets = ", ".join(f"{name} = v.{name}" for name in names)
        sql = f"UPDATE ticket SET {sets} FROM (VALUES %s) AS v(id, {', '.join(names)}) WHERE ticket.id = v.id"
        template = "(" + ", ".join(["%s::integer"] + [f"%s::{_SQL_TYPES[name]}" for name in names]) + ")"
        cursor = session.connection().connection.cursor()
        execute_values(cursor, sql, [(row["id"], *(row[name] for name in names)) for row in rows],
                       template=template, page_size=1000)
        return
    table = Ticket.__table__
    statement = update(table).where(table.c.id == bindparam("b_id")).values(
        **{name: bindparam(f"b_{name}") for name in names}, updated_at=table.c.updated_at
    )
    session.connection().execute(statement, [{f"b_{key}" if key != "id" else "b_id": value
                                              for key, value in row.items()} for row in rows])


def _counts_as_response(ticket: Ticket, actor: Optional[Person]) -> bool:
    if actor is None or ticket.first_responded_at is not None:
        return False
    return actor.id != ticket.created_by_id or any(p.id == actor.id for p in ticket.assignees)


def _stamp_first_response(ticket: Ticket, now: datetime, targets: Optional[Targets]) -> None:
    ticket.first_responded_at = now
    if targets is not None:
        worked = working_minutes_between(targets.calendar, ticket.created_at or now, now)
        ticket.first_response_minutes = math.ceil(worked)


def _status_change(ticket: Ticket) -> Optional[tuple[str, str]]:
    history = inspect(ticket).attrs.status.history
    if history.deleted and history.added and history.deleted[0] != history.added[0]:
        return history.deleted[0], history.added[0]
    return None


def _changed(ticket: Ticket, name: str) -> bool:
    history = inspect(ticket).attrs[name].history
    if name == "team":
        return bool(history.deleted and history.added and history.deleted[0] is not history.added[0])
    return bool(history.deleted and history.added and history.deleted[0] != history.added[0])


def on_ticket_change(session: Session, ticket: Ticket, actor: Optional[Person], now: datetime, responded: bool) -> None:
    """Move the clocks for what changed in this flush; `responded`: a comment by `actor` came with it."""
    status = _status_change(ticket)
    responds = (status is not None or responded) and _counts_as_response(ticket, actor)
    moves_clock = status is not None and {STATUS_WAITING, STATUS_RESOLVED} & set(status)
    if not (responds or moves_clock or _changed(ticket, "priority") or _changed(ticket, "team")):
        return  # e.g. Open ↔ In Progress after the first response: no clock moves, no query
    team_id = ticket.team.id if ticket.team is not None else ticket.team_id
    targets = targets_of(policy_for(session, team_id, ticket.priority))
    if status is not None:
        old, new = status
        if old == STATUS_WAITING and ticket.waiting_since is not None:
            if targets is not None:
                ticket.resolve_paused_minutes = (ticket.resolve_paused_minutes or 0) + working_minutes_between(
                    targets.calendar, ticket.waiting_since, now
                )
            ticket.waiting_since = None
        if old == STATUS_RESOLVED:  # reopened: a new resolution clock
            ticket.sla_cycle = (ticket.sla_cycle or 1) + 1
            ticket.resolve_started_at = now
            ticket.resolve_paused_minutes = 0
            ticket.resolution_minutes = None
            ticket.escalation_level = 0
        if new == STATUS_WAITING:
            ticket.waiting_since = now
    if responds:
        _stamp_first_response(ticket, now, targets)
    refresh(session, ticket, now, targets)


def _bump_calendar_versions(session: Session) -> None:
    """A calendar edited in any part gets a new version: caches in every process see it."""
    bumped = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        calendar = obj if isinstance(obj, Calendar) else getattr(obj, "calendar", None)
        if isinstance(obj, (Calendar, CalendarWindow, Holiday)) and calendar is not None and id(calendar) not in bumped:
            if calendar not in session.new and calendar not in session.deleted:
                calendar.version = new_calendar_version()
            bumped.add(id(calendar))


def _before_flush(session: Session, flush_context, instances) -> None:
    if not has_app_context():
        return
    now = utcnow()
    actor = current_person()
    changed: dict[int, tuple[Ticket, Optional[Person], bool]] = {}
    with session.no_autoflush:
        _bump_calendar_versions(session)
        for obj in list(session.new):
            if isinstance(obj, Ticket):
                obj.created_at = obj.created_at or now
                obj.resolve_started_at = obj.resolve_started_at or obj.created_at
                refresh(session, obj, now)
            elif isinstance(obj, Comment):
                author = obj.author or actor
                ticket = obj.ticket or (session.get(Ticket, obj.ticket_id) if obj.ticket_id else None)
                if author is not None and ticket is not None and ticket not in session.new:
                    changed[id(ticket)] = (ticket, author, True)
        for obj in list(session.dirty):
            if isinstance(obj, Ticket) and id(obj) not in changed and session.is_modified(obj):
                changed[id(obj)] = (obj, actor, False)
        many = len(changed) > 1
        if many:
            ids = [ticket.id for ticket, _, _ in changed.values() if ticket.id is not None]
            session.info[_FLUSH_LOOKUPS] = _FlushLookups(session, ids)
        try:
            for ticket, who, responded in changed.values():
                if responded and not session.is_modified(ticket):
                    _first_response_quietly(session, ticket, who, now)
                else:
                    on_ticket_change(session, ticket, who, now, responded)
        finally:
            if many:
                session.info.pop(_FLUSH_LOOKUPS, None)


_QUIET_COLUMNS = ("first_responded_at", "first_response_minutes", "escalation_at", "sla_state")


def _first_response_quietly(session: Session, ticket: Ticket, actor: Person, now: datetime) -> None:
    """A comment alone changes only the SLA columns, written with a plain UPDATE: the ticket's
    version and updated_at stay, so someone else's open edit form is not made stale."""
    if not _counts_as_response(ticket, actor):
        return
    targets = targets_of(policy_for(session, ticket.team_id, ticket.priority))
    _stamp_first_response(ticket, now, targets)
    taken = _taken(session, ticket.id) if targets else set()
    values = {name: getattr(ticket, name) for name in ("first_responded_at", "first_response_minutes")}
    values.update(
        (name, value) for name, value in computed(ticket, targets, now, taken).items() if name in _QUIET_COLUMNS
    )
    write_sla_columns(session, [{"id": ticket.id, **values}])
    for name, value in values.items():
        set_committed_value(ticket, name, value)


def install() -> None:
    """Register after the history hook (which sets a new ticket's creator and status)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
