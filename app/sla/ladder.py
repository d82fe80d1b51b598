"""The escalation ladder's scheduler pass: take every step that has come due, once.

The scan reads `ticket.escalation_at <= now` from its partial index (resolved tickets have
none), a batch at a time. For each ticket it takes the steps whose time has come and that are
not taken yet: one `sla_step` row (unique per ticket, target, step and clock; inserted with
ON CONFLICT DO NOTHING), its outbox email and a history entry, all in the batch's transaction,
then moves `escalation_at` to the next step. On PostgreSQL the batch's tickets are claimed
with FOR UPDATE SKIP LOCKED, so concurrent schedulers take different tickets; on SQLite writers
are serialised and the unique row turns a second scheduler's attempt into nothing.

The ticket's own row is updated with a plain UPDATE that leaves its version and updated_at
alone: an escalation must not make a person's open edit form fail, nor reorder the list.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import (
    FIRST_RESPONSE,
    PENDING,
    Founder,
    Notification,
    Person,
    SlaPolicy,
    SlaStep,
    Ticket,
    TicketEvent,
    person_team,
    utcnow,
)
from ..notifications import messages, recipients
from ..tickets.validation import split_email_list
from .display import display_time
from .clock import LEVEL_OF_STEP, Step, Targets, next_escalation, sla_state
from .service import evaluate, targets_of, taken_steps, write_sla_columns

log = logging.getLogger(__name__)
BATCH = 500
LADDER_ORDER = ("due_soon", "overdue", "founders")
SUBJECT_FLAGS = {"due_soon": "DUE SOON", "overdue": "OVERDUE", "founders": "OVERDUE · FOUNDERS"}


@dataclass
class PassContext:
    """What one pass looks up once, not per ticket: policies, founders, each team's leads."""

    session: Session
    now: datetime
    policies: dict[tuple[Optional[int], str], Targets] = field(default_factory=dict)
    founders: list[str] = field(default_factory=list)
    leads: dict[int, list[str]] = field(default_factory=dict)
    gettext: dict = field(default_factory=dict)  # messages.bound_gettext(), once per pass
    # The batch's outbox rows and history entries, inserted in bulk with its steps.
    emails: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def write_rows(self) -> None:
        connection = self.session.connection()
        for model, rows in ((Notification, self.emails), (TicketEvent, self.events)):
            if rows:
                connection.execute(insert(model.__table__), rows)
            rows.clear()

    def targets(self, ticket: Ticket) -> Optional[Targets]:
        return self.policies.get((ticket.team_id, ticket.priority)) or self.policies.get((None, ticket.priority))

    def leads_of(self, team_id: int) -> list[str]:
        if team_id not in self.leads:
            from ..security import LEAD
            from flask_appbuilder.security.sqla.models import Role, assoc_user_role

            self.leads[team_id] = list(self.session.scalars(
                select(Person.email)
                .join(person_team, person_team.c.user_id == Person.id)
                .join(assoc_user_role, assoc_user_role.c.user_id == Person.id)
                .join(Role, Role.id == assoc_user_role.c.role_id)
                .where(person_team.c.team_id == team_id, Role.name == LEAD, Person.active.is_(True))
                .order_by(Person.email)
            ))
        return self.leads[team_id]


def _context(session: Session, now: datetime) -> PassContext:
    context = PassContext(session=session, now=now, gettext=messages.bound_gettext())
    for policy in session.scalars(select(SlaPolicy)):
        context.policies[(policy.team_id, policy.priority)] = targets_of(policy)
    context.founders = list(session.scalars(
        select(Founder.email).where(Founder.active.is_(True)).order_by(Founder.id)
    ))
    return context


def _insert_steps(session: Session, rows: list[dict]) -> set[tuple[int, str, str, int]]:
    """The once-only guard, for a whole batch in one statement: the keys this call wrote (a key
    another scheduler wrote first is skipped by ON CONFLICT DO NOTHING and not returned)."""
    if not rows:
        return set()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = SlaStep.__table__
    statement = (
        insert(table).values(rows)
        .on_conflict_do_nothing(index_elements=["ticket_id", "target", "step", "cycle"])
        .returning(table.c.ticket_id, table.c.target, table.c.step, table.c.cycle)
    )
    return {tuple(row) for row in session.connection().execute(statement)}


def _email(context: PassContext, ticket: Ticket, step: str, clocks: list[tuple[str, datetime]]) -> None:
    """One email for one rung, naming every clock that reached it in this pass (a ticket whose
    first response and resolution breach together gets one OVERDUE email, not two)."""
    who = recipients.for_ladder_step(
        step,
        recipients.active_emails(ticket.assignees),
        context.leads_of(ticket.team_id),
        context.founders,
        split_email_list(current_app.config["NOTIFY_EMAILS"]),
    )
    if not who:
        log.warning("ESC-%s %s: nobody to notify", ticket.id, step)
        return None
    event = f"sla_{step}"
    message = messages.render(
        ticket, event, template="sla", flag=SUBJECT_FLAGS[step], step=step,
        clocks=[(target == FIRST_RESPONSE, display_time(due_at)) for target, due_at in clocks],
        **context.gettext,
    )
    context.emails.append(dict(
        ticket_id=ticket.id, event=event, to_addrs=", ".join(who.to), cc_addrs=", ".join(who.cc),
        subject=message.subject[:400], body_text=message.text, body_html=message.html,
        message_id=message.message_id, in_reply_to=message.in_reply_to,
        state=PENDING, attempts=0, next_attempt_at=utcnow(), created_at=utcnow(),
    ))


def _due_steps(context: PassContext, ticket: Ticket, taken: set[tuple[str, str, int]]):
    """The ticket's clock and the steps due now and not taken yet (nothing written)."""
    targets = context.targets(ticket)
    if targets is None:
        return None, []
    clock, due, steps = evaluate(ticket, targets, context.now)
    return (clock, due, steps), [s for s in steps if s.at <= context.now and s.key not in taken]


def _advance(context: PassContext, ticket: Ticket, evaluated, written: list[Step],
             taken: set[tuple[str, str, int]]) -> dict:
    """Emails and history for the steps this pass wrote; the ticket's new SLA values."""
    if evaluated is None:
        return {"escalation_at": None, "sla_state": None, "escalation_level": ticket.escalation_level}
    clock, due, steps = evaluated
    # The level counts every rung reached, taken now, before, or by another scheduler.
    level = max([ticket.escalation_level or 0] + [LEVEL_OF_STEP[s.step] for s in steps if s.at <= context.now])
    reached: dict[str, list[tuple[str, datetime]]] = {}
    for step in written:
        target_due = due.first_response_due_at if step.target == FIRST_RESPONSE else due.resolve_due_at
        reached.setdefault(step.step, []).append((step.target, target_due))
        context.events.append(dict(
            ticket_id=ticket.id, actor_id=None, field="sla", old_value=step.target, new_value=step.step,
            created_at=context.now,
        ))
    for rung in LADDER_ORDER:
        if rung in reached:
            _email(context, ticket, rung, reached[rung])
    taken.update(s.key for s in steps if s.at <= context.now)
    return {
        "escalation_at": next_escalation(steps, taken),
        "sla_state": sla_state(clock, due, steps, context.now),
        "escalation_level": level,
    }


def _take_batch(context: PassContext, tickets: list[Ticket], taken: dict[int, set]) -> tuple[int, list[dict]]:
    """Write the batch's due steps in one statement, then their emails and history."""
    evaluated, due_now = {}, {}
    for ticket in tickets:
        evaluated[ticket.id], due_now[ticket.id] = _due_steps(context, ticket, taken.setdefault(ticket.id, set()))
    created = utcnow()
    written = _insert_steps(context.session, [
        dict(ticket_id=ticket_id, target=s.target, step=s.step, cycle=s.cycle, due_at=s.at, created_at=created)
        for ticket_id, steps in due_now.items() for s in steps
    ])
    count, rows = 0, []
    for ticket in tickets:
        mine = [s for s in due_now[ticket.id] if (ticket.id, *s.key) in written]
        count += len(mine)
        values = _advance(context, ticket, evaluated[ticket.id], mine, taken[ticket.id])
        rows.append({"id": ticket.id, **values})
    return count, rows


def _claim(session: Session, now: datetime, limit: int) -> list[int]:
    query = (
        select(Ticket.id)
        .where(Ticket.escalation_at <= now, Ticket.escalation_at.is_not(None))
        .order_by(Ticket.escalation_at, Ticket.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def run_pass(session: Session, now: Optional[datetime] = None, batch: int = BATCH, stop=None) -> int:
    """Take every step due at `now` (default: the current time); return how many were taken.

    One transaction per batch; `stop` (a threading.Event) is looked at between batches only.
    """
    now = now or utcnow()
    context: Optional[PassContext] = None  # looked up only when something is due
    total = 0
    # Every step due at `now` is taken (or found taken) in a batch, so each ticket's next
    # escalation_at is later than `now` or none: a ticket is never claimed twice in a pass.
    while stop is None or not stop.is_set():
        ids = _claim(session, now, batch)
        if not ids:
            session.commit()
            break
        context = context or _context(session, now)
        tickets = session.scalars(select(Ticket).where(Ticket.id.in_(ids))).unique().all()
        count, rows = _take_batch(context, tickets, taken_steps(session, ids))
        total += count
        context.write_rows()
        write_sla_columns(session, rows)
        session.commit()
        if len(ids) < batch:
            break
    return total
