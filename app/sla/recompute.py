"""Recompute the SLA columns of open tickets in batches (a policy or calendar changed, an upgrade).

A change that touches a few tickets is applied in the request; a bigger one is left to the
worker (`pending` below), a batch per transaction, so the admin's request returns at once.
Writes use a plain UPDATE that leaves the ticket's version and updated_at alone, like the ladder.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import STATUS_RESOLVED, SlaPolicy, SlaRecompute, Ticket, utcnow
from .service import computed, policy_for, targets_of, taken_steps, write_sla_columns

BATCH = 500
INLINE_LIMIT = 1000  # open tickets a change may touch before the worker takes it over
_COLUMNS = ("first_response_due_at", "resolve_due_at", "escalation_at", "sla_state")


# What the clocks read (service.clock_of): plain rows, not ORM objects, are several times
# quicker to load at a hundred thousand tickets.
_CLOCK_COLUMNS = (
    Ticket.id, Ticket.team_id, Ticket.priority, Ticket.status, Ticket.created_at, Ticket.resolve_started_at,
    Ticket.first_responded_at, Ticket.resolved_at, Ticket.waiting_since, Ticket.resolve_paused_minutes,
    Ticket.sla_cycle,
)


def _open(team_id: Optional[int], priority: Optional[str], *columns):
    query = select(*(columns or (Ticket,))).where(Ticket.status != STATUS_RESOLVED)
    if team_id is not None:
        query = query.where(Ticket.team_id == team_id)
    if priority is not None:
        query = query.where(Ticket.priority == priority)
    return query


def batch(session: Session, team_id: Optional[int] = None, priority: Optional[str] = None, after: int = 0,
          size: Optional[int] = None, now: Optional[datetime] = None, commit: bool = True) -> tuple[int, int]:
    """Recompute up to `size` (BATCH) open tickets with id > `after`; return (count, last id)."""
    now = now or utcnow()
    size = size or BATCH
    tickets = session.execute(
        _open(team_id, priority, *_CLOCK_COLUMNS).where(Ticket.id > after).order_by(Ticket.id).limit(size)
    ).all()
    if not tickets:
        return 0, after  # (nothing written; the caller's transaction goes on)
    targets_by_key = {}
    taken = taken_steps(session, [t.id for t in tickets])
    rows = []
    for ticket in tickets:
        key = (ticket.team_id, ticket.priority)
        if key not in targets_by_key:
            targets_by_key[key] = targets_of(policy_for(session, *key))
        values = computed(ticket, targets_by_key[key], now, taken.get(ticket.id, set()))
        rows.append({"id": ticket.id, **{name: values[name] for name in _COLUMNS}})
    write_sla_columns(session, rows)
    if commit:
        session.commit()
    return len(tickets), tickets[-1].id


def all_open(session: Session, team_id: Optional[int] = None, priority: Optional[str] = None) -> int:
    total, after = 0, 0
    while True:
        count, after = batch(session, team_id, priority, after)
        total += count
        if count < BATCH:
            return total


def request(team_id: Optional[int], priority: Optional[str], session: Optional[Session] = None) -> int:
    """After a change: recompute now when few open tickets are concerned, else queue it for the
    worker. Returns how many were recomputed now (0 when queued)."""
    session = session or db.session
    count = session.scalar(select(func.count()).select_from(_open(team_id, priority, Ticket.id).subquery()))
    if count <= INLINE_LIMIT:
        return all_open(session, team_id, priority)
    session.add(SlaRecompute(team_id=team_id, priority=priority, after_id=0, requested_at=utcnow()))
    session.commit()
    return 0


def request_for_calendar(calendar_id: int, session: Optional[Session] = None) -> None:
    """After a calendar change: every policy counting on it recomputes its open tickets."""
    session = session or db.session
    for policy in session.scalars(select(SlaPolicy).where(SlaPolicy.calendar_id == calendar_id)).all():
        request(policy.team_id, policy.priority, session)


def run_pending(session: Session, stop=None, batches: int = 20) -> int:
    """The worker's share: up to `batches` batches of queued re-computations; returns tickets done.
    A job is claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), so two workers never share one."""
    done = 0
    for _ in range(batches):
        if stop is not None and stop.is_set():
            break
        query = select(SlaRecompute).where(SlaRecompute.done_at.is_(None)).order_by(SlaRecompute.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job = session.scalars(query).first()
        if job is None:
            session.commit()
            break
        job_id, team_id, priority, after = job.id, job.team_id, job.priority, job.after_id
        count, last = batch(session, team_id, priority, after, commit=False)  # one transaction with the job
        session.execute(
            update(SlaRecompute).where(SlaRecompute.id == job_id)
            .values(after_id=last, done_at=utcnow() if count < BATCH else None)
        )
        session.commit()
        done += count
    return done
