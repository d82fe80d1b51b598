"""Status workflow: Open → In Progress → Resolved, and reopen."""
from __future__ import annotations

from typing import Optional

from flask_babel import gettext as _
from sqlalchemy.orm import object_session

from ..models import STATUS_RESOLVED, STATUSES, Comment, Person, Ticket, utcnow
from .mentions import check_mentions
from .validation import InvalidValue, normalize_text

MAX_NOTES = 5000
MAX_REASON = 4000  # with its "Reopened: " prefix, within a comment's 5000


class WorkflowError(InvalidValue):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def change_status(
    ticket: Ticket,
    new_status: str,
    actor: Optional[Person],
    resolution_notes: Optional[str] = None,
    reopen_reason: Optional[str] = None,
) -> None:
    """Apply a status change with its side effects; raise WorkflowError when not allowed.

    Resolving needs notes and stamps resolved_at/resolved_by from the server;
    reopening (leaving Resolved) needs a reason, which becomes the reopener's comment in the
    same transaction, and clears the resolution (the history keeps the earlier notes, and the
    status event to Resolved says who resolved it and when). History is recorded at flush time
    by tickets.history, whatever path changed the status. Nothing is changed when refused.
    """
    if new_status not in STATUSES:
        raise WorkflowError("status", _("Status must be one of: %(choices)s.", choices=", ".join(STATUSES)))
    if new_status == ticket.status:
        raise WorkflowError("status", _("The ticket is already %(status)s.", status=_(new_status)))
    if new_status == STATUS_RESOLVED:
        try:
            notes = normalize_text(
                resolution_notes, label=_("Resolution notes"), required=True, max_length=MAX_NOTES, multiline=True
            )
        except InvalidValue as exc:
            raise WorkflowError("resolution_notes", str(exc)) from exc
        ticket.resolution_notes = notes
        ticket.resolved_at = utcnow()
        ticket.resolved_by = actor
    elif ticket.status == STATUS_RESOLVED:
        try:
            reason = normalize_text(
                reopen_reason, label=_("Reason for reopening"), required=True, max_length=MAX_REASON, multiline=True
            )
            # The reason becomes a comment: its mentions follow the comments' rule.
            check_mentions(object_session(ticket), ticket, reason)
        except InvalidValue as exc:
            raise WorkflowError("reopen_reason", str(exc)) from exc
        # The author is set from the actor here (the flush hook also stamps the logged-in person).
        ticket.comments.append(Comment(author=actor, body=_("Reopened: %(reason)s", reason=reason)))
        ticket.resolution_notes = None
        ticket.resolved_at = None
        ticket.resolved_by = None
    ticket.status = new_status
