"""The ticket page's service-level panel: targets, due times, time left or overdue by, steps taken."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from ..models import STATUS_RESOLVED, STATUS_WAITING, Ticket, utcnow
from .clock import due_times, resolution_minutes_left
from .display import display_time, due_words, span, state_label
from .service import clock_of, policy_for, targets_of


@dataclass
class ClockLine:
    label: str
    target: str  # "4 h"
    due: str  # local time
    status: str  # "due in 2 h", "overdue 35 min", "met after 20 min", "paused: 3 h left"
    late: bool = False


@dataclass
class SlaSummary:
    state: str
    state_label: str
    level: int
    calendar: str
    lines: list[ClockLine] = field(default_factory=list)
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (when, target, step)


def _done(minutes: Optional[int], at: Optional[datetime], due: datetime) -> tuple[str, bool]:
    late = at is not None and at > due
    words = _("after %(span)s", span=span(minutes or 0))
    return (_("late, %(words)s", words=words) if late else _("met, %(words)s", words=words)), late


def sla_summary(session: Session, ticket: Ticket, now: Optional[datetime] = None) -> Optional[SlaSummary]:
    policy = policy_for(session, ticket.team_id, ticket.priority)
    targets = targets_of(policy)
    if targets is None or ticket.first_response_due_at is None:
        return None
    now = now or utcnow()
    clock = clock_of(ticket, now)
    due = due_times(clock, targets)
    summary = SlaSummary(
        state=ticket.sla_state or "", state_label=state_label(ticket.sla_state), level=ticket.escalation_level or 0,
        calendar=policy.calendar.name,
    )
    if ticket.first_responded_at is not None:
        status, late = _done(ticket.first_response_minutes, ticket.first_responded_at, ticket.first_response_due_at)
    else:
        status, late = due_words(ticket.first_response_due_at, now), ticket.first_response_due_at < now
    summary.lines.append(ClockLine(
        _("First response"), span(targets.first_response_minutes), display_time(ticket.first_response_due_at),
        status, late,
    ))
    if ticket.status == STATUS_RESOLVED:
        status, late = _done(ticket.resolution_minutes, ticket.resolved_at, ticket.resolve_due_at)
    elif ticket.status == STATUS_WAITING:
        left = resolution_minutes_left(clock, due, now, targets.calendar)
        late = left < 0
        status = _("paused (Waiting): %(span)s of working time left", span=span(left)) if not late else _(
            "paused (Waiting), overdue %(span)s", span=span(left))
    else:
        status, late = due_words(ticket.resolve_due_at, now), ticket.resolve_due_at < now
    summary.lines.append(ClockLine(
        _("Resolution"), span(targets.resolution_minutes), display_time(ticket.resolve_due_at), status, late,
    ))
    names = {"first_response": _("First response"), "resolution": _("Resolution")}
    steps = {"due_soon": _("due soon: assignees warned"), "overdue": _("overdue: leads emailed (level 1)"),
             "founders": _("still overdue: founders emailed (level 2)")}
    for event in ticket.events:  # the ladder records each step in the history, loaded for the page anyway
        if event.field == "sla" and event.old_value in names and event.new_value in steps:
            summary.steps.append((display_time(event.created_at), names[event.old_value], steps[event.new_value]))
    return summary
