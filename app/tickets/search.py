"""The list's one search box: five fields, case-insensitive substring, and ticket numbers."""
from __future__ import annotations

import re
from typing import Optional

from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import String, func, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement

from ..limits import INT64
from ..models import Ticket

SEARCH_FIELDS = (
    Ticket.subject,
    Ticket.description,
    Ticket.customer_name,
    Ticket.customer_contact,
    Ticket.booking_id,
)
MAX_TERM = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TICKET_NUMBER = re.compile(r"^(?:esc[\s\-#:]*|#)?([1-9]\d{0,18})$", re.IGNORECASE)


class FieldSeparator(ColumnElement[str]):
    """U+001F between the fields of the search document, so that no term matches across two
    fields (terms never hold control characters)."""

    type = String()
    inherit_cache = True


@compiles(FieldSeparator)
def _separator(element, compiler, **kw) -> str:
    return "char(31)"


@compiles(FieldSeparator, "postgresql")
def _separator_postgresql(element, compiler, **kw) -> str:
    return "chr(31)"


def search_document() -> ColumnElement[str]:
    """The five fields as one text: one substring test per row instead of five, served on
    PostgreSQL by one trigram index on this very expression (migration 0004; keep the two equal)."""
    document = None
    for field in SEARCH_FIELDS:
        part = field if not field.nullable else func.coalesce(field, "")
        document = part if document is None else document + FieldSeparator() + part
    return document


def ticket_number(term: str) -> Optional[int]:
    """The ticket id in "ESC-2685", "esc 2685", "#2685" or "2685", as people quote them."""
    match = _TICKET_NUMBER.match(term)
    if match is None:
        return None
    number = int(match.group(1))
    return number if 0 < number < INT64 else None


def quoted_ticket_number(term: str) -> Optional[int]:
    """The ticket id when the term can only be a ticket number ("ESC-2685", "esc 2685", "#2685");
    bare digits may as well be part of a booking ID or a phone number."""
    term = term.strip()
    return ticket_number(term) if term[:1] == "#" or term[:3].lower() == "esc" else None


def search_clause(term: str) -> ColumnElement[bool]:
    """ILIKE on PostgreSQL, lower() LIKE on SQLite (lower() is made Unicode-aware there); a term
    that reads as a ticket number also finds that ticket (by primary key: an index lookup)."""
    term = _CONTROL.sub(" ", term).strip()[:MAX_TERM]
    text_match = search_document().icontains(term, autoescape=True)
    number = ticket_number(term)
    return text_match if number is None else or_(Ticket.id == number, text_match)


class TicketSearchFilter(BaseFilter):
    name = "Search"
    arg_name = "search"

    def apply(self, query, value):
        if not value or not str(value).strip():
            return query
        return query.filter(search_clause(str(value)))
