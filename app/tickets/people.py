"""Who may be offered as an assignee (form and API choices) or as a filter value."""
from __future__ import annotations

from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

from ..models import Person


def staff_clause() -> ColumnElement[bool]:
    """People who belong to at least one team: the operations staff.

    Agents pick colleagues of any team when they escalate across teams, so the
    choice lists staff, never the whole user table (admin-only and service
    accounts without a team are left out).
    """
    return Person.teams.any()


def assignable_clause() -> ColumnElement[bool]:
    """Staff who can still work: deactivated people are never assigned."""
    return and_(Person.active.is_(True), staff_clause())


class StaffFilter(BaseFilter):
    """Filter choices (assignee, creator): staff, including people who have left."""

    name = "Member of a team"

    def apply(self, query, value):
        return query.filter(staff_clause())


class AssignableFilter(BaseFilter):
    """Assignee choices in forms."""

    name = "Active member of a team"

    def apply(self, query, value):
        return query.filter(assignable_clause())
