"""A person's named ticket list: the list's filters, search and sort, saved under a name."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, func

from .ticket import utcnow

MAX_NAME = 60
MAX_QUERY = 2000
MAX_VIEWS_PER_PERSON = 50  # they all show in the person's menu


class SavedView(Model):
    """Private to its person: every read and write is scoped by `person_id`."""

    __tablename__ = "saved_view"
    id = Column(Integer, primary_key=True)
    person_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(MAX_NAME), nullable=False)
    # The list's query string, sanitised (app/tickets/saved_views.py): filters, search, sort, page size.
    query = Column(String(MAX_QUERY), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=utcnow)

    # One name per person whatever its case ("Overdue VIP" and "overdue vip" are the same view).
    __table_args__ = (Index("uq_saved_view_person_name", person_id, func.lower(name), unique=True),)

    def __repr__(self) -> str:
        return self.name
