"""Saved views: a person's ticket list (filters, search, sort, page size) under a name.

Private to the person: every lookup is scoped by their id, so another person's view is
"not found", never "forbidden". The stored query string keeps only the list's own
arguments, so a saved view never carries a page number or anything a link might add.
"""
from __future__ import annotations

import re
from typing import Optional
from urllib.parse import parse_qsl, urlencode

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..limits import MAX_PAGE_SIZE
from ..models import Person, SavedView
from ..models.saved_view import MAX_NAME, MAX_QUERY, MAX_VIEWS_PER_PERSON
from .validation import InvalidValue, normalize_text

LIST_VIEW = "TicketModelView"
# FAB's list arguments: `_flt_<operator>_<column>` filters, the search box, sort and page size.
_FILTER_ARG = re.compile(r"_flt_\d{1,3}_[A-Za-z_][A-Za-z0-9_.]{0,63}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,63}")


def _keep(key: str, value: str, view: str) -> bool:
    if _FILTER_ARG.fullmatch(key):
        return True
    if key == "search":
        return bool(value.strip())
    if key == f"_oc_{view}":
        return bool(_IDENTIFIER.fullmatch(value))
    if key == f"_od_{view}":
        return value in ("asc", "desc")
    if key == f"psize_{view}":
        return value.isdigit() and 1 <= int(value) <= MAX_PAGE_SIZE
    return False  # page numbers, other views' arguments, anything a link added


def clean_query(raw: Optional[str], view: str = LIST_VIEW) -> str:
    """The list's own arguments of a query string, in their order, re-encoded; anything else
    (the page, unknown keys) is dropped. Refused when the result is longer than a view keeps."""
    pairs = [
        (key, value)
        for key, value in parse_qsl((raw or "").lstrip("?"), keep_blank_values=True)
        if _keep(key, value, view)
    ]
    query = urlencode(pairs)
    if len(query) > MAX_QUERY:
        raise InvalidValue(
            _("%(label)s: too many or too long to save (at most %(max)d characters).",
              label=_("Filters"), max=MAX_QUERY)
        )
    return query


def clean_name(raw: Optional[str]) -> str:
    return normalize_text(raw, label=_("Name"), required=True, max_length=MAX_NAME)


def views_of(session: Session, person_id: int) -> list[SavedView]:
    return list(session.scalars(
        select(SavedView).where(SavedView.person_id == person_id).order_by(func.lower(SavedView.name))
    ))


def own_view(session: Session, person_id: int, view_id: int) -> Optional[SavedView]:
    """The person's view with this id, or None (also when it is someone else's)."""
    return session.scalars(
        select(SavedView).where(SavedView.id == view_id, SavedView.person_id == person_id)
    ).first()


def _check_name_free(session: Session, person_id: int, name: str, except_id: Optional[int] = None) -> None:
    query = select(SavedView.id).where(
        SavedView.person_id == person_id, func.lower(SavedView.name) == name.lower()
    )
    if except_id is not None:
        query = query.where(SavedView.id != except_id)
    if session.scalars(query).first() is not None:
        raise InvalidValue(_("%(label)s: you already have a view called “%(name)s”.", label=_("Name"), name=name))


def _commit(session: Session, name: str) -> None:
    """Two saves of one name at once: the unique index refuses the second, with the same message."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise InvalidValue(
            _("%(label)s: you already have a view called “%(name)s”.", label=_("Name"), name=name)
        ) from exc


def save_view(session: Session, person: Person, name: Optional[str], query: Optional[str]) -> SavedView:
    """A new view for `person`; InvalidValue (nothing saved) for a bad name or query."""
    name = clean_name(name)
    query = clean_query(query)
    _check_name_free(session, person.id, name)
    count = session.scalar(select(func.count(SavedView.id)).where(SavedView.person_id == person.id))
    if count >= MAX_VIEWS_PER_PERSON:
        raise InvalidValue(
            _("You have %(count)d saved views, the most one can keep: delete one first.", count=count)
        )
    view = SavedView(person_id=person.id, name=name, query=query)
    session.add(view)
    _commit(session, name)
    return view


def rename_view(session: Session, view: SavedView, name: Optional[str]) -> SavedView:
    name = clean_name(name)
    _check_name_free(session, view.person_id, name, except_id=view.id)
    view.name = name
    _commit(session, name)
    return view


def delete_view(session: Session, view: SavedView) -> None:
    session.delete(view)
    session.commit()
