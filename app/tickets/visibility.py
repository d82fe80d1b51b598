"""THE visibility rule: who may see which ticket. Every route reuses it."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from flask import current_app, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from sqlalchemy import CompoundSelect, Select, and_, exists, false, or_, select, true, union_all
from sqlalchemy.sql.elements import ColumnElement, False_, True_

from flask_appbuilder.security.sqla.models import Role

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


# Aliases of the ticket table for the rule's subqueries, made once: aliasing a table builds its
# whole column collection, which per request was a measurable share of the list's Python time.
_CREATED = Ticket.__table__.alias("created_ticket")
_ALSO_CREATED = Ticket.__table__.alias("also_created")


def personal_ticket_ids(user: Person) -> CompoundSelect:
    """Ids of the tickets a person created or is assigned to: two index range scans, UNION ALL.

    Written as an OR of the two rules, PostgreSQL can use no single index and walks the whole
    table newest first looking for a person's few thousand tickets; as IN over this union the
    cost follows what the person sees, not the table's size. An id in both branches is
    harmless inside IN. The first branch reads an alias of the ticket table so that it is not
    correlated with the outer query.
    """
    created = _CREATED
    return union_all(
        select(created.c.id).where(created.c.created_by_id == user.id),
        select(ticket_assignee.c.ticket_id).where(ticket_assignee.c.user_id == user.id),
    )


def personal_tickets_by_update(user: Person) -> CompoundSelect:
    """(id, updated_at) of each ticket a person created or is assigned to, once, from two
    index-only scans: (created_by_id, updated_at, id) on ticket, and (user_id,
    ticket_updated_at, ticket_id) on ticket_assignee, whose ticket_updated_at the database keeps
    equal to the ticket's (migration 0020). Sorting a person's tickets by last update through
    personal_ticket_ids probed the ticket table once per ticket for its updated_at; here the
    ticket table is not read at all. An assignment on a ticket the person also created is left
    to the first branch (NOT EXISTS), so no id comes twice.
    """
    created, also_created = _CREATED, _ALSO_CREATED
    return union_all(
        select(created.c.id.label("id"), created.c.updated_at.label("updated_at"))
        .where(created.c.created_by_id == user.id),
        select(ticket_assignee.c.ticket_id, ticket_assignee.c.ticket_updated_at).where(
            ticket_assignee.c.user_id == user.id,
            ~exists().where(also_created.c.id == ticket_assignee.c.ticket_id,
                            also_created.c.created_by_id == user.id),
        ),
    )


def assigned_by_update(user: Person, statuses: Sequence[str] = ()) -> Select:
    """(id, updated_at) of each ticket assigned to a person (optionally: in one of `statuses`),
    from one index-only scan of (user_id, ticket_updated_at, ticket_id, ticket_status), whose
    copies the database keeps equal to the ticket's (migration 0020). A ticket assigned to
    someone is visible to them (the rule above), whatever their role: My open tickets needs no
    other check, and no probe of the ticket table per ticket."""
    query = select(ticket_assignee.c.ticket_id.label("id"), ticket_assignee.c.ticket_updated_at.label("updated_at"))
    query = query.where(ticket_assignee.c.user_id == user.id)
    return query.where(ticket_assignee.c.ticket_status.in_(statuses)) if statuses else query


def visible_tickets_clause(user: Optional[Person]) -> ColumnElement[bool]:
    """Admin: all. Anyone: tickets they created or are assigned to. Lead: their teams' tickets."""
    if user is None or not getattr(user, "is_active", False):
        return false()
    if is_admin(user):
        return true()
    personal = Ticket.id.in_(personal_ticket_ids(user))
    if LEAD_ROLE not in role_names(user):
        return personal
    # A lead's teams hold a large share of all tickets: walking the list's order and keeping
    # team rows finds a page at once, where collecting every team ticket id first would not.
    teams = select(person_team.c.team_id).where(person_team.c.user_id == user.id)
    return or_(Ticket.team_id.in_(teams), personal)


def viewers_clause(ticket: Ticket) -> ColumnElement[bool]:
    """The same rule read the other way, on Person: who may see `ticket` (active admins; its
    creator and assignees; the leads of its team). The mention picker offers only them, and
    comment emails go only to them; tests check it agrees with visible_tickets_clause."""
    has_role = lambda name: Person.roles.any(Role.name == name)  # noqa: E731
    assigned = select(ticket_assignee.c.user_id).where(ticket_assignee.c.ticket_id == ticket.id)
    team_members = select(person_team.c.user_id).where(person_team.c.team_id == ticket.team_id)
    return and_(
        Person.active.is_(True),
        or_(
            has_role(current_app.config["AUTH_ROLE_ADMIN"]),
            Person.id == ticket.created_by_id,
            Person.id.in_(assigned),
            and_(has_role(LEAD_ROLE), Person.id.in_(team_members)),
        ),
    )


def sees_own_tickets_only(user: Optional[Person]) -> bool:
    """Whether the rule gives `user` only the tickets they created or are assigned to (neither
    admin nor lead): some thousands at most, which a list may count in full at no extra cost."""
    return user is not None and not is_admin(user) and LEAD_ROLE not in role_names(user)


def visible_to(user: Optional[Person], ticket_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The rule for rows that hang off a ticket (comments): visible with their ticket."""
    rule = visible_tickets_clause(user)
    if isinstance(rule, (True_, False_)):  # admin, or nobody: no subquery
        return rule
    return ticket_id.in_(select(Ticket.id).where(rule))


class TicketVisibilityFilter(BaseFilter):
    """FAB base filter on Ticket: applies the rule for the current person."""

    name = "Visible to me"

    def apply(self, query, value):
        return query.filter(visible_tickets_clause(current_person()))


class CommentVisibilityFilter(BaseFilter):
    """FAB base filter on Comment: a comment is visible with its ticket."""

    name = "On tickets visible to me"

    def apply(self, query, value):
        return query.filter(visible_to(current_person(), Comment.ticket_id))


def may_delete(user: Optional[Person], ticket: Ticket) -> bool:
    """Deleting is for admins and for the leads of the ticket's own team. A lead also sees
    tickets of other teams they created or are assigned to, but those are not theirs to
    remove (the Lead role holds the delete permission; this narrows it to the team)."""
    if user is None or not getattr(user, "is_active", False):
        return False
    if is_admin(user):
        return True
    return LEAD_ROLE in role_names(user) and ticket.team_id in {team.id for team in user.teams}


def still_visible_after_change(ticket: Ticket, user: Optional[Person]) -> bool:
    """Whether `user` would still see `ticket` once its pending changes (team, assignees) are
    saved: the changes are flushed, then the one rule is asked. Callers roll back a refusal."""
    session = current_app.appbuilder.session
    session.flush()
    return session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, visible_tickets_clause(user))) is not None


def get_visible_ticket(ticket_id: Any, user: Optional[Person], *options: Any) -> Optional[Ticket]:
    """The ticket if `user` may see it, else None (callers answer 404); `options`: loader
    options for the one statement (the ticket page joins its followers)."""
    try:
        pk = int(ticket_id)
    except (TypeError, ValueError):
        return None
    session = current_app.appbuilder.session
    return session.scalars(
        select(Ticket).where(Ticket.id == pk, visible_tickets_clause(user)).options(*options)
    ).unique().first()
