"""Recompute the SLA columns of open tickets in batches (a policy or calendar changed, an upgrade).

A change that touches a few tickets is applied in the request; a bigger one is left to the
worker (`pending` below), a batch per transaction, so the admin's request returns at once.
Writes use a plain UPDATE that leaves the ticket's version and updated_at alone, like the ladder.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..models import STATUS_RESOLVED, Ticket, utcnow
from .service import computed, policy_for, targets_of, taken_steps

BATCH = 500
_COLUMNS = ("first_response_due_at", "resolve_due_at", "escalation_at", "sla_state")


def _open(team_id: Optional[int], priority: Optional[str]):
    query = select(Ticket).where(Ticket.status != STATUS_RESOLVED)
    if team_id is not None:
        query = query.where(Ticket.team_id == team_id)
    if priority is not None:
        query = query.where(Ticket.priority == priority)
    return query


def batch(session: Session, team_id: Optional[int] = None, priority: Optional[str] = None, after: int = 0,
          size: int = BATCH, now: Optional[datetime] = None) -> tuple[int, int]:
    """Recompute up to `size` open tickets with id > `after`; commit; return (count, last id)."""
    now = now or utcnow()
    tickets = session.scalars(_open(team_id, priority).where(Ticket.id > after).order_by(Ticket.id).limit(size)).all()
    if not tickets:
        return 0, after
    targets_by_key = {}
    taken = taken_steps(session, [t.id for t in tickets])
    table = Ticket.__table__
    write = update(table).where(table.c.id == bindparam("b_id")).values(
        **{name: bindparam(f"b_{name}") for name in _COLUMNS}, updated_at=table.c.updated_at
    )
    rows = []
    for ticket in tickets:
        key = (ticket.team_id, ticket.priority)
        if key not in targets_by_key:
            targets_by_key[key] = targets_of(policy_for(session, *key))
        values = computed(ticket, targets_by_key[key], now, taken.get(ticket.id, set()))
        rows.append({"b_id": ticket.id, **{f"b_{name}": values[name] for name in _COLUMNS}})
    session.connection().execute(write, rows)
    session.commit()
    return len(tickets), tickets[-1].id


def all_open(session: Session, team_id: Optional[int] = None, priority: Optional[str] = None) -> int:
    total, after = 0, 0
    while True:
        count, after = batch(session, team_id, priority, after)
        total += count
        if count < BATCH:
            return total
