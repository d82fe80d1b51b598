"""Record who changed a ticket's status or assignees, at flush time.

Hooking the session (not each view) means every path that changes a ticket —
form, status button, API, CLI — leaves the same trail, and server-set authorship
(created_by, comment author) cannot be supplied by a client.
"""
from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from ..models import STATUS_OPEN, Comment, Ticket, TicketEvent, utcnow
from .visibility import current_person


def _names(people) -> str:
    return ", ".join(sorted(p.full_name for p in people))


def _assignee_change(ticket: Ticket):
    history = inspect(ticket).attrs.assignees.history
    if not history.has_changes():
        return None
    before = [p for p in (history.unchanged or [])] + list(history.deleted or [])
    after = list(ticket.assignees)
    if {p.id for p in before} == {p.id for p in after}:
        return None
    return _names(before), _names(after)


def _record(session: Session, ticket: Ticket, actor, field: str, old, new) -> None:
    session.add(
        TicketEvent(ticket=ticket, actor=actor, field=field, old_value=old, new_value=new, created_at=utcnow())
    )


def _before_flush(session: Session, flush_context, instances) -> None:
    actor = current_person()
    for obj in list(session.new):
        if isinstance(obj, Ticket):
            if actor is not None:
                obj.created_by = actor
            obj.status = obj.status or STATUS_OPEN
            _record(session, obj, actor or obj.created_by, "created", None, obj.status)
            if obj.assignees:
                _record(session, obj, actor or obj.created_by, "assignees", "", _names(obj.assignees))
        elif isinstance(obj, Comment) and actor is not None and not getattr(obj, "by_email", False):
            obj.author = actor  # (a reply by email, even one an admin accepts, is its sender's)
    for obj in list(session.dirty):
        if not isinstance(obj, Ticket) or not session.is_modified(obj):
            continue
        status = inspect(obj).attrs.status.history
        if status.deleted and status.added and status.deleted[0] != status.added[0]:
            _record(session, obj, actor, "status", status.deleted[0], status.added[0])
        change = _assignee_change(obj)
        if change:
            _record(session, obj, actor, "assignees", *change)
            obj.updated_at = utcnow()  # an assignment alone touches only the link table
        team = inspect(obj).attrs.team.history
        if team.deleted and team.added and team.deleted[0] is not team.added[0]:
            _record(session, obj, actor, "team", team.deleted[0].name, team.added[0].name)
        # Notes written when resolving show on the ticket; a later edit, or the clearing at a
        # reopen, would lose the earlier text: the history keeps it.
        notes = inspect(obj).attrs.resolution_notes.history
        if notes.deleted and notes.deleted[0] and (notes.added or [None])[0] != notes.deleted[0]:
            _record(session, obj, actor, "resolution_notes", notes.deleted[0], (notes.added or [None])[0])


def install() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
