"""A ticket's two clocks (first response, resolution): due times, the ladder's steps, its state.

Pure functions over a snapshot of the ticket (`TicketClock`) and its policy (`Targets`), so the
request path, the scheduler and the tests share one definition. Working time comes from
business_time; instants are naive UTC, as stored.

- First response runs from creation; it never pauses.
- Resolution runs from creation or the last reopen. While Waiting it is paused: the working
  minutes spent waiting are added back (`paused_minutes`), so leaving Waiting resumes with the
  time that was left.
- The ladder, per clock: at 75% of the target the assignees are warned (due_soon); at the
  due time the leads (overdue, level 1); once breached for as long again as the target, the
  founders (level 2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from ..models import (
    BREACHED,
    DUE_SOON,
    FIRST_RESPONSE,
    FOUNDERS,
    MET,
    ON_TRACK,
    OVERDUE,
    PAUSED,
    RESOLUTION,
    STATUS_RESOLVED,
    STATUS_WAITING,
)
from .business_time import WorkingCalendar, add_working_minutes, working_minutes_between

WARN_AT = 0.75  # share of a target after which the assignees are warned
LEVEL_OF_STEP = {DUE_SOON: 0, OVERDUE: 1, FOUNDERS: 2}


@dataclass(frozen=True)
class Targets:
    """What the ticket's policy promises, in working minutes on `calendar`."""

    first_response_minutes: int
    resolution_minutes: int
    calendar: WorkingCalendar


@dataclass(frozen=True)
class TicketClock:
    status: str
    created_at: datetime
    resolve_started_at: datetime
    first_responded_at: Optional[datetime] = None
    resolved_at: Optional[datetime] = None
    waiting_since: Optional[datetime] = None
    paused_minutes: float = 0.0
    cycle: int = 1


@dataclass(frozen=True)
class Step:
    target: str  # FIRST_RESPONSE or RESOLUTION
    step: str  # DUE_SOON, OVERDUE or FOUNDERS
    cycle: int
    at: datetime

    @property
    def key(self) -> tuple[str, str, int]:
        return self.target, self.step, self.cycle


@dataclass(frozen=True)
class DueTimes:
    first_response_due_at: datetime
    resolve_due_at: datetime


def due_times(clock: TicketClock, targets: Targets) -> DueTimes:
    calendar = targets.calendar
    return DueTimes(
        first_response_due_at=add_working_minutes(calendar, clock.created_at, targets.first_response_minutes),
        resolve_due_at=add_working_minutes(
            calendar, clock.resolve_started_at, targets.resolution_minutes + clock.paused_minutes
        ),
    )


def _rungs(target: str, cycle: int, start: datetime, minutes: float, offset: float, due: datetime, calendar) -> list[Step]:
    warn_at = add_working_minutes(calendar, start, math.ceil(minutes * WARN_AT) + offset)
    return [
        Step(target, DUE_SOON, cycle, warn_at),
        Step(target, OVERDUE, cycle, due),
        Step(target, FOUNDERS, cycle, add_working_minutes(calendar, due, minutes)),
    ]


def ladder(clock: TicketClock, targets: Targets, due: DueTimes) -> list[Step]:
    """The steps still possible for this ticket now (taken or not), earliest first."""
    if clock.status == STATUS_RESOLVED:
        return []
    steps: list[Step] = []
    if clock.first_responded_at is None:
        steps += _rungs(
            FIRST_RESPONSE, 1, clock.created_at, targets.first_response_minutes, 0,
            due.first_response_due_at, targets.calendar,
        )
    if clock.status != STATUS_WAITING:
        steps += _rungs(
            RESOLUTION, clock.cycle, clock.resolve_started_at, targets.resolution_minutes, clock.paused_minutes,
            due.resolve_due_at, targets.calendar,
        )
    return sorted(steps, key=lambda s: s.at)


def next_escalation(steps: Iterable[Step], taken: set[tuple[str, str, int]]) -> Optional[datetime]:
    """When the scheduler must look at the ticket again: its earliest step not yet taken."""
    return min((s.at for s in steps if s.key not in taken), default=None)


def sla_state(clock: TicketClock, due: DueTimes, steps: Iterable[Step], now: datetime) -> str:
    """on_track, due_soon, breached or paused while open; met or breached once resolved."""
    if clock.status == STATUS_RESOLVED:
        late_response = clock.first_responded_at is None or clock.first_responded_at > due.first_response_due_at
        late = clock.resolved_at is None or clock.resolved_at > due.resolve_due_at
        return BREACHED if late_response or late else MET
    passed = {s.step for s in steps if s.at <= now}
    if passed & {OVERDUE, FOUNDERS}:
        return BREACHED
    if clock.status == STATUS_WAITING:
        return PAUSED
    return DUE_SOON if DUE_SOON in passed else ON_TRACK


def resolution_minutes_left(clock: TicketClock, due: DueTimes, now: datetime, calendar: WorkingCalendar) -> float:
    """Working minutes left on the resolution clock (negative: overdue by); frozen while Waiting."""
    at = clock.waiting_since or now
    if at <= due.resolve_due_at:
        return working_minutes_between(calendar, at, due.resolve_due_at)
    return -working_minutes_between(calendar, due.resolve_due_at, at)
