"""Bulk changes: one change applied to many tickets, each row as if changed on its own.

Every function here changes one ticket through the same attributes and the same
workflow (change_status) as the single-ticket paths, so the session hooks write each
row's history entry, outbox emails and SLA clocks exactly as one by one. They say
whether the row changed: a row that already has the value is left alone (no history,
no email), as a single save with nothing to save would.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Optional

from flask_babel import gettext as _

from ..models import PRIORITIES, STATUS_RESOLVED, STATUSES, Person, Team, Ticket
from .validation import MAX_ASSIGNEES, InvalidValue, normalize_text
from .workflow import MAX_NOTES, change_status


class BulkRefused(InvalidValue):
    """The whole request is refused, nothing saved; the message names the field or the tickets."""


def esc_numbers(tickets: Iterable[Ticket]) -> str:
    return ", ".join(f"ESC-{ticket.id}" for ticket in tickets)


def changed_since_read(tickets: list[Ticket], versions: Mapping[str, str]) -> list[Ticket]:
    """The rows whose stored version is not the one the list showed (`versions`: the form's
    `version_<id>` values); a row sent without its version counts as changed too."""
    return [t for t in tickets if str(t.version) != (versions.get(f"version_{t.id}") or "").strip()]


# --- the values, checked once for all rows ---------------------------------------------------
def checked_status(raw: Optional[str]) -> str:
    status = (raw or "").strip()
    if status not in STATUSES:
        raise BulkRefused(_("Status must be one of: %(choices)s.", choices=", ".join(_(s) for s in STATUSES)))
    return status


def checked_notes(status: str, raw: Optional[str]) -> Optional[str]:
    """Resolving asks for notes once; they go on each ticket resolved."""
    if status != STATUS_RESOLVED:
        return None
    return normalize_text(raw, label=_("Resolution notes"), required=True, max_length=MAX_NOTES, multiline=True)


def checked_priority(raw: Optional[str]) -> str:
    priority = (raw or "").strip()
    if priority not in PRIORITIES:
        raise BulkRefused(_("Priority must be one of: %(choices)s.", choices=", ".join(_(p) for p in PRIORITIES)))
    return priority


# --- one row -----------------------------------------------------------------------------------
def add_assignees(ticket: Ticket, people: list[Person]) -> bool:
    newcomers = [p for p in people if p.id not in {a.id for a in ticket.assignees}]
    if newcomers:
        ticket.assignees = list(ticket.assignees) + newcomers
    return bool(newcomers)


def remove_assignees(ticket: Ticket, people: list[Person]) -> bool:
    leaving = {p.id for p in people}
    kept = [a for a in ticket.assignees if a.id not in leaving]
    if len(kept) != len(ticket.assignees):
        ticket.assignees = kept
        return True
    return False


def set_status(ticket: Ticket, status: str, actor: Optional[Person], notes: Optional[str],
               reopen_reason: Optional[str] = None) -> bool:
    if ticket.status == status:
        return False
    change_status(ticket, status, actor, notes, reopen_reason)
    return True


def set_priority(ticket: Ticket, priority: str) -> bool:
    if ticket.priority == priority:
        return False
    ticket.priority = priority
    return True


def set_team(ticket: Ticket, team: Team) -> bool:
    if ticket.team_id == team.id:
        return False
    ticket.team = team
    return True


def too_many_assignees(tickets: list[Ticket]) -> list[Ticket]:
    return [ticket for ticket in tickets if len(ticket.assignees) > MAX_ASSIGNEES]
