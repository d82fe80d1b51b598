"""The list page's one search box: five fields, case-insensitive substring."""
from __future__ import annotations

from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement

from ..models import Ticket

SEARCH_FIELDS = (
    Ticket.subject,
    Ticket.description,
    Ticket.customer_name,
    Ticket.customer_contact,
    Ticket.booking_id,
)
MAX_TERM = 100


def search_clause(term: str) -> ColumnElement[bool]:
    """ILIKE on PostgreSQL, lower() LIKE on SQLite (lower() is made Unicode-aware there)."""
    term = term.strip()[:MAX_TERM]
    return or_(*(field.icontains(term, autoescape=True) for field in SEARCH_FIELDS))


class TicketSearchFilter(BaseFilter):
    name = "Search"
    arg_name = "search"

    def apply(self, query, value):
        if not value or not str(value).strip():
            return query
        return query.filter(search_clause(str(value)))
