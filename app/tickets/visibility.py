"""THE visibility rule: who may see which ticket. Every route reuses it."""
from __future__ import annotations

from typing import Any, Optional

from flask import current_app, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from ..models import Comment, Person, Ticket, person_team, ticket_assignee

LEAD_ROLE = "Lead"
AGENT_ROLE = "Agent"


def current_person() -> Optional[Person]:
    """The logged-in person for session and JWT requests alike (g.user is anonymous on JWT)."""
    if not has_request_context():
        return None
    user = current_app.appbuilder.sm.current_user
    return user if user is not None and getattr(user, "id", None) else None


def role_names(user: Any) -> set[str]:
    return {role.name for role in getattr(user, "roles", None) or []}


def is_admin(user: Any) -> bool:
    return current_app.config["AUTH_ROLE_ADMIN"] in role_names(user)


def visible_tickets_clause(user: Optional[Person]) -> ColumnElement[bool]:
    """Admin: all. Anyone: tickets they created or are assigned to. Lead: their teams' tickets."""
    if user is None or not getattr(user, "is_active", False):
        return false()
    if is_admin(user):
        return true()
    assigned = select(ticket_assignee.c.ticket_id).where(ticket_assignee.c.user_id == user.id)
    rules = [Ticket.created_by_id == user.id, Ticket.id.in_(assigned)]
    if LEAD_ROLE in role_names(user):
        teams = select(person_team.c.team_id).where(person_team.c.user_id == user.id)
        rules.append(Ticket.team_id.in_(teams))
    return or_(*rules)


def visible_ticket_ids(user: Optional[Person]):
    return select(Ticket.id).where(visible_tickets_clause(user))


class TicketVisibilityFilter(BaseFilter):
    """FAB base filter on Ticket: applies the rule for the current person."""

    name = "Visible to me"

    def apply(self, query, value):
        return query.filter(visible_tickets_clause(current_person()))


class CommentVisibilityFilter(BaseFilter):
    """FAB base filter on Comment: a comment is visible with its ticket."""

    name = "On tickets visible to me"

    def apply(self, query, value):
        return query.filter(Comment.ticket_id.in_(visible_ticket_ids(current_person())))


def get_visible_ticket(ticket_id: Any, user: Optional[Person]) -> Optional[Ticket]:
    """The ticket if `user` may see it, else None (callers answer 404)."""
    try:
        pk = int(ticket_id)
    except (TypeError, ValueError):
        return None
    session = current_app.appbuilder.session
    return session.scalars(
        select(Ticket).where(Ticket.id == pk, visible_tickets_clause(user))
    ).first()
