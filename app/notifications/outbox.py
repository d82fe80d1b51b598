"""Write notifications in the same transaction as the ticket change; let senders claim them.

Session hooks (not view code) decide that an email is due, so every path that
creates, resolves or assigns a ticket — form, status button, API — enqueues the
same way, and a rolled-back change leaves no email behind.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import and_, event, inspect, or_, select, update
from sqlalchemy.orm import Session

from ..models import (
    ASSIGNED,
    CREATED,
    PENDING,
    RESOLVED,
    SENDING,
    SENT,
    STATUS_RESOLVED,
    Founder,
    Notification,
    Ticket,
    utcnow,
)
from ..tickets.validation import split_email_list
from . import messages, recipients

log = logging.getLogger(__name__)
_INTENTS = "deyor_notification_intents"


# --- deciding what is due (flush hooks) -------------------------------------------------
def _collect(session: Session, flush_context, instances) -> None:
    intents = session.info.setdefault(_INTENTS, [])
    for obj in session.new:
        if isinstance(obj, Ticket):
            intents.append((obj, CREATED, ()))
    for obj in session.dirty:
        if not isinstance(obj, Ticket) or obj in session.new:
            continue
        state = inspect(obj)
        status = state.attrs.status.history
        if status.added and status.added[0] == STATUS_RESOLVED and STATUS_RESOLVED not in (status.deleted or ()):
            intents.append((obj, RESOLVED, ()))
        added = state.attrs.assignees.history.added or ()
        before = {p.id for p in state.attrs.assignees.history.deleted or ()} | {
            p.id for p in state.attrs.assignees.history.unchanged or ()
        }
        newcomers = tuple(p for p in added if p.id not in before)
        if newcomers:
            intents.append((obj, ASSIGNED, newcomers))


def _enqueue_collected(session: Session, flush_context) -> None:
    intents = session.info.pop(_INTENTS, None)
    if not intents or not has_app_context():
        return
    with session.no_autoflush:
        for ticket, event_name, people in intents:
            enqueue(session, ticket, event_name, people)


def _forget(session: Session, *args) -> None:
    session.info.pop(_INTENTS, None)


def install() -> None:
    for name, fn in (
        ("before_flush", _collect),
        ("after_flush_postexec", _enqueue_collected),
        ("after_soft_rollback", _forget),
    ):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


# --- building a row -----------------------------------------------------------------------
def recipients_for(session: Session, ticket: Ticket, event_name: str, people=()) -> recipients.Recipients:
    config = current_app.config
    team = recipients.team_defaults(ticket.team, config["TEAM_EMAILS"])
    notify = split_email_list(ticket.notify_emails)
    assignees = recipients.active_emails(ticket.assignees)
    if event_name == CREATED:
        founders = session.scalars(select(Founder.email).where(Founder.active.is_(True)).order_by(Founder.id))
        return recipients.for_creation(team, notify, assignees, list(founders))
    if event_name == RESOLVED:
        return recipients.for_resolution(team, notify, assignees, split_email_list(config["NOTIFY_EMAILS"]))
    return recipients.for_assignment(recipients.active_emails(people))


def enqueue(session: Session, ticket: Ticket, event_name: str, people=()) -> Notification | None:
    who = recipients_for(session, ticket, event_name, people)
    if not who:
        log.info("ESC-%s %s: nobody to notify", ticket.id, event_name)
        return None
    message = messages.render(ticket, event_name, people=people)
    row = Notification(
        ticket_id=ticket.id, event=event_name, to_addrs=", ".join(who.to), cc_addrs=", ".join(who.cc),
        subject=message.subject[:400], body_text=message.text, body_html=message.html,
        message_id=message.message_id, in_reply_to=message.in_reply_to,
        state=PENDING, attempts=0, next_attempt_at=utcnow(),
    )
    session.add(row)
    return row


# --- claiming (senders) -------------------------------------------------------------------
def _due(now):
    return or_(
        and_(Notification.state == PENDING, Notification.next_attempt_at <= now),
        # A sender that died mid-send left its lease behind: take the row again.
        and_(Notification.state == SENDING, Notification.locked_until < now),
    )


def claim(session: Session, worker_id: str, limit: int, lease_seconds: int) -> list[int]:
    """Atomically take up to `limit` due rows for `worker_id`; commit; return their ids.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, so concurrent senders take
    different rows without waiting. SQLite: writers are serialised and the
    UPDATE re-checks the row is still due, so a row goes to one sender only.
    """
    now = utcnow()
    query = select(Notification.id).where(_due(now)).order_by(Notification.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), _due(now))
            .values(state=SENDING, locked_by=worker_id, locked_until=now + timedelta(seconds=lease_seconds))
        )
    session.commit()
    if not ids:
        return []
    return list(session.scalars(
        select(Notification.id).where(
            Notification.id.in_(ids), Notification.locked_by == worker_id, Notification.state == SENDING
        ).order_by(Notification.id)
    ))


def finish(session: Session, notification_id: int, worker_id: str, **values) -> bool:
    """Record the outcome, unless our lease was taken over meanwhile."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.locked_by == worker_id, Notification.state == SENDING)
        .values(locked_by=None, locked_until=None, **values)
    )
    session.commit()
    return result.rowcount == 1


def renew(session: Session, notification_id: int, worker_id: str, lease_seconds: int) -> bool:
    """Extend our lease just before sending and count the attempt; False when another sender
    has taken the row. Counting before the send means a sender killed mid-send leaves its
    attempt on the row: the admin screen shows two attempts when two copies may exist."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.locked_by == worker_id, Notification.state == SENDING)
        .values(locked_until=utcnow() + timedelta(seconds=lease_seconds), attempts=Notification.attempts + 1)
    )
    session.commit()
    return result.rowcount == 1


def release(session: Session, notification_ids: list[int], worker_id: str) -> None:
    """Hand claimed rows back untouched (a stopping sender): due again at once, for anyone."""
    session.execute(
        update(Notification)
        .where(Notification.id.in_(notification_ids), Notification.locked_by == worker_id, Notification.state == SENDING)
        .values(state=PENDING, locked_by=None, locked_until=None)
    )
    session.commit()


def retry(session: Session, notification_id: int) -> bool:
    """An admin's retry: due now, with a fresh count of attempts. Never a sent row, nor one
    a live sender holds; checked in the UPDATE itself so a concurrent claim wins."""
    now = utcnow()
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.state != SENT,
            or_(Notification.state != SENDING, Notification.locked_until < now),
        )
        .values(state=PENDING, attempts=0, next_attempt_at=now, locked_by=None, locked_until=None)
    )
    return result.rowcount == 1
