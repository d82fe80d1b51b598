"""Open tickets on the same booking: the create form warns about them, the API names them.

Only tickets the person may see (THE visibility rule) are ever looked at: a ticket hidden
from them is neither shown nor counted, so the warning tells nothing about other people's
work.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select

from ..models import STATUS_RESOLVED, Person, Ticket
from . import validation as v
from .visibility import visible_tickets_clause

MAX_DUPLICATES = 20  # the newest; a booking with more open tickets than this is rare


def booking_id_or_none(raw: Optional[str]) -> Optional[str]:
    """`raw` normalised as a saved booking ID is, or None when it could not be one."""
    try:
        return v.normalize_booking_id(raw)
    except v.InvalidValue:
        return None


def open_duplicates(
    session, raw_booking_id: Optional[str], user: Optional[Person], exclude_id: Optional[int] = None,
    limit: int = MAX_DUPLICATES,
) -> list[Ticket]:
    """The open (not Resolved) tickets on this booking that `user` may see, newest first.

    `raw_booking_id` is read the way validation reads it (trimmed, upper-case); input that
    is not a valid booking ID finds nothing. `exclude_id`: the ticket just created.
    """
    booking_id = booking_id_or_none(raw_booking_id)
    if booking_id is None:
        return []
    query = select(Ticket).where(
        Ticket.booking_id == booking_id,
        Ticket.status != STATUS_RESOLVED,
        visible_tickets_clause(user),
    )
    if exclude_id is not None:
        query = query.where(Ticket.id != exclude_id)
    return list(session.scalars(query.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(limit)))
