"""The list's one search box: five fields, case-insensitive substring."""
from __future__ import annotations

import re

from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import String, func
from sqlalchemy.ext.compiler import compiles
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
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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


def search_clause(term: str) -> ColumnElement[bool]:
    """ILIKE on PostgreSQL, lower() LIKE on SQLite (lower() is made Unicode-aware there)."""
    term = _CONTROL.sub(" ", term).strip()[:MAX_TERM]
    return search_document().icontains(term, autoescape=True)


class TicketSearchFilter(BaseFilter):
    name = "Search"
    arg_name = "search"

    def apply(self, query, value):
        if not value or not str(value).strip():
            return query
        return query.filter(search_clause(str(value)))
