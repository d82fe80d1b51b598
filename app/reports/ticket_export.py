"""The ticket list's export: its columns and rows, from the list's own query.

The caller (the list screen, the API) passes the query it would page through: its filters,
search, sort and the visibility rule already applied, ids only. Here the ticket's columns,
its team and its creator and resolver are added to that same statement (joins on primary
keys), and what a ticket has many of (assignees, comments) is fetched once per batch of rows
from the cursor (two statements per thousand tickets, never one per ticket).
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..models import Comment, Person, Team, Ticket, ticket_assignee
from .export import NUMBER, TIME, Column, local_time, localize, stream_rows, time_header

# (attribute, header, kind) of the ticket's own columns, in the file's order.
_TICKET_FIELDS = (
    ("id", "ID", NUMBER),
    ("subject", "Subject", None),
    ("booking_id", "Booking ID", None),
    ("priority", "Priority", None),
    ("status", "Status", None),
    ("customer_name", "Customer name", None),
    ("customer_contact", "Customer contact", None),
    ("notify_emails", "Notify emails", None),
    ("description", "Description", None),
    ("created_at", "Created", TIME),
    ("updated_at", "Updated", TIME),
    ("resolved_at", "Resolved", TIME),
    ("resolution_notes", "Resolution notes", None),
    ("sla_state", "SLA", None),
    ("first_response_due_at", "First response due", TIME),
    ("first_responded_at", "First response", TIME),
    ("first_response_minutes", "First response (working minutes)", NUMBER),
    ("resolve_started_at", "Resolution clock started", TIME),
    ("resolve_due_at", "Resolution due", TIME),
    ("resolution_minutes", "Resolution (working minutes)", NUMBER),
    ("resolve_paused_minutes", "Paused (working minutes)", NUMBER),
    ("waiting_since", "Waiting since", TIME),
    ("escalation_level", "Escalation level", NUMBER),
    ("escalation_at", "Next escalation", TIME),
    ("sla_cycle", "SLA cycle", NUMBER),
    ("version", "Version", NUMBER),
)


def _headers() -> dict[str, str]:
    """The headers in the reader's language (looked up per export, not per row)."""
    return {
        "ID": _("ID"), "Subject": _("Subject"), "Booking ID": _("Booking ID"), "Priority": _("Priority"),
        "Status": _("Status"), "Customer name": _("Customer name"), "Customer contact": _("Customer contact"),
        "Notify emails": _("Notify emails"), "Description": _("Description"), "Created": _("Created"),
        "Updated": _("Updated"), "Resolved": _("Resolved"), "Resolution notes": _("Resolution notes"),
        "SLA": _("SLA"), "First response due": _("First response due"), "First response": _("First response"),
        "First response (working minutes)": _("First response (working minutes)"),
        "Resolution clock started": _("Resolution clock started"), "Resolution due": _("Resolution due"),
        "Resolution (working minutes)": _("Resolution (working minutes)"),
        "Paused (working minutes)": _("Paused (working minutes)"), "Waiting since": _("Waiting since"),
        "Escalation level": _("Escalation level"), "Next escalation": _("Next escalation"),
        "SLA cycle": _("SLA cycle"), "Version": _("Version"),
    }


def ticket_columns() -> list[Column]:
    words = _headers()
    columns = []
    for _name, header, kind in _TICKET_FIELDS:
        label = words[header]
        columns.append(Column(time_header(label) if kind == TIME else label, kind or "text"))
        if header == "Booking ID":
            columns.append(Column(_("Team")))
    return columns + [
        Column(_("Assignees")), Column(_("Assignee emails")),
        Column(_("Created by")), Column(_("Creator email")), Column(_("Resolved by")),
        Column(_("Comments"), NUMBER),
    ]


def ticket_rows(session, ids_query) -> Iterator[Sequence[Any]]:
    """The rows of `ids_query` (an ORM Query of Ticket ids, filtered and ordered) in its order,
    one list of cells per ticket matching ticket_columns(), times local."""
    return localize(session, _ticket_rows(session, ids_query), ticket_columns())


def _ticket_rows(session, ids_query) -> Iterator[list]:
    creator, resolver = aliased(Person), aliased(Person)
    query = (
        ids_query.with_entities(
            *(local_time(session, getattr(Ticket, name)) if kind == TIME else getattr(Ticket, name)
              for name, _h, kind in _TICKET_FIELDS),
            Team.name,
            creator.first_name, creator.last_name, creator.email, resolver.first_name, resolver.last_name,
        )
        .join(Team, Team.id == Ticket.team_id)
        .join(creator, creator.id == Ticket.created_by_id)
        .outerjoin(resolver, resolver.id == Ticket.resolved_by_id)
    )
    width = len(_TICKET_FIELDS)
    result = stream_rows(session, query)
    for batch in result.partitions():
        ids = [row[0] for row in batch]
        names, emails = _assignees(session, ids)
        comments = dict(session.execute(
            select(Comment.ticket_id, func.count()).where(Comment.ticket_id.in_(ids)).group_by(Comment.ticket_id)
        ).all())
        for row in batch:
            pk = row[0]
            cells = list(row[:width])
            cells.insert(3, row[width])  # the team, after the booking ID
            first, last, email, resolver_first, resolver_last = row[width + 1:]
            cells += [
                ", ".join(names.get(pk, ())), ", ".join(emails.get(pk, ())),
                f"{first} {last}".strip(), email,
                f"{resolver_first} {resolver_last}".strip() if resolver_first is not None else None,
                comments.get(pk, 0),
            ]
            yield cells
    result.close()


def _assignees(session, ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    names: dict[int, list[str]] = {}
    emails: dict[int, list[str]] = {}
    for pk, first, last, email in session.execute(
        select(ticket_assignee.c.ticket_id, Person.first_name, Person.last_name, Person.email)
        .join(Person, Person.id == ticket_assignee.c.user_id)
        .where(ticket_assignee.c.ticket_id.in_(ids))
        .order_by(ticket_assignee.c.ticket_id, Person.first_name, Person.id)
    ):
        names.setdefault(pk, []).append(f"{first} {last}".strip())
        emails.setdefault(pk, []).append(email)
    return names, emails
