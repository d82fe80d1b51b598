"""Who may be offered as an assignee (choices in forms and filters)."""
from __future__ import annotations

from flask_appbuilder.models.filters import BaseFilter

from ..models import Person


class AssignablePeopleFilter(BaseFilter):
    """People who belong to at least one team: the operations staff.

    Agents need to pick colleagues of any team when they escalate across teams,
    so the choice is intended to list staff, never the whole user table
    (admin-only and service accounts without a team are left out).
    """

    name = "Member of a team"

    def apply(self, query, value):
        return query.filter(Person.teams.any())
