"""Status workflow: Open → In Progress → Resolved, and reopen."""
from __future__ import annotations

from typing import Optional

from flask_babel import gettext as _

from ..models import STATUS_RESOLVED, STATUSES, Person, Ticket, utcnow
from .validation import InvalidValue, normalize_text

MAX_NOTES = 5000


class WorkflowError(InvalidValue):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def change_status(
    ticket: Ticket, new_status: str, actor: Optional[Person], resolution_notes: Optional[str] = None
) -> None:
    """Apply a status change with its side effects; raise WorkflowError when not allowed.

    Resolving needs notes and stamps resolved_at/resolved_by from the server;
    reopening (leaving Resolved) clears the resolution. History is recorded at
    flush time by tickets.history, whatever path changed the status.
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
        ticket.resolution_notes = None
        ticket.resolved_at = None
        ticket.resolved_by = None
    ticket.status = new_status
