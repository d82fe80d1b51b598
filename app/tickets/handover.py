"""Handing over a leaver's open tickets: the bulk path of the workspace, ticket by ticket.

Each ticket loses the leaver and gains the chosen people through app/tickets/bulk.py (the
functions the list's bulk actions use), so the session hooks write each ticket's history and
the assignment emails exactly as one by one. Tickets are read through the visibility rule of
whoever hands them over; the new people must be assignable (active staff).
"""
from __future__ import annotations

from typing import Mapping, Optional

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..models import STATUS_RESOLVED, Person, Ticket, ticket_assignee
from . import bulk
from .people import assignable_clause
from .validation import MAX_ASSIGNEES
from .visibility import visible_tickets_clause

ALL, SHARE = "all", "share"


class ChangedMeanwhile(bulk.BulkRefused):
    """A ticket changed since its version was read: nothing is saved."""
  # every chosen person on each ticket, or the tickets shared out in turn


def _open_and_assigned_to(person: Person) -> list:
    """Open (not resolved) tickets with `person` among their assignees."""
    return [
        Ticket.id.in_(select(ticket_assignee.c.ticket_id).where(ticket_assignee.c.user_id == person.id)),
        Ticket.status != STATUS_RESOLVED,
    ]


def open_tickets_of(session, person: Person, viewer: Optional[Person]) -> list[Ticket]:
    """The person's open tickets (assigned, not resolved) that `viewer` may see, oldest first."""
    return list(session.scalars(
        select(Ticket)
        .where(*_open_and_assigned_to(person), visible_tickets_clause(viewer))
        .order_by(Ticket.created_at, Ticket.id)
    ))


def open_ticket_count(session, person: Person) -> int:
    return session.scalar(select(func.count()).select_from(Ticket).where(*_open_and_assigned_to(person)))


def chosen_people(session, ids: list[str], leaver: Person) -> list[Person]:
    """The people picked to take the tickets: at least one, all assignable, never the leaver."""
    raw = [value.strip() for value in ids if value.strip()]
    label = _("Hand over to")
    if not raw:
        raise bulk.BulkRefused(_("%(label)s: choose at least one person.", label=label))
    if not all(value.isdigit() and len(value) < 10 for value in raw) or len(set(raw)) > MAX_ASSIGNEES:
        raise bulk.BulkRefused(_("%(label)s: at most %(count)d people.", label=label, count=MAX_ASSIGNEES))
    wanted = {int(value) for value in raw}
    people = list(session.scalars(
        select(Person).where(Person.id.in_(wanted), assignable_clause()).order_by(Person.first_name, Person.id)))
    if len(people) != len(wanted) or leaver.id in wanted:
        raise bulk.BulkRefused(
            _("%(label)s: choose active members of a team (someone chosen cannot be assigned).", label=label))
    return people


def hand_over(tickets: list[Ticket], leaver: Person, people: list[Person], mode: str,
              versions: Mapping[str, str]) -> list[Ticket]:
    """Move each ticket from `leaver` to the chosen people (all of them, or one each in turn).
    Refuses (BulkRefused, nothing changed by the caller's rollback) when a ticket changed since
    the page was shown or would get too many assignees. Returns the tickets changed."""
    stale = bulk.changed_since_read(tickets, versions)
    if stale:
        raise ChangedMeanwhile(_(
            "Changed by someone else since the list was shown: %(tickets)s. Nothing was saved: "
            "reload the page and try again.", tickets=bulk.esc_numbers(stale)))
    changed = []
    for index, ticket in enumerate(tickets):
        takers = people if mode == ALL else [people[index % len(people)]]
        removed = bulk.remove_assignees(ticket, [leaver])
        added = bulk.add_assignees(ticket, takers)
        if removed or added:
            changed.append(ticket)
    crowded = bulk.too_many_assignees(changed)
    if crowded:
        raise bulk.BulkRefused(_("%(label)s: at most %(count)d people on a ticket (%(tickets)s).",
                                 label=_("Assignees"), count=MAX_ASSIGNEES, tickets=bulk.esc_numbers(crowded)))
    return changed
