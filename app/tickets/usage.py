"""Why a team or a person cannot be deleted: tickets still use them.

Tickets keep their team, their creator, their resolver and their comments' authors for good
(the record of who did what), so the database refuses such a delete. These say so in words,
with what to do instead, before anything is tried; None when nothing stands in the way.
"""
from __future__ import annotations

from typing import Optional

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..models import Comment, Person, Team, Ticket, TicketEvent


def team_in_use(session, team: Team) -> Optional[str]:
    count = session.scalar(select(func.count()).select_from(Ticket).where(Ticket.team_id == team.id))
    if not count:
        return None
    return _("“%(team)s” cannot be deleted: %(count)d ticket(s) belong to it. Move them to another team first "
             "(the ticket list, filtered by this team: select them, then “Move to team”), or keep the team.",
             team=team.name, count=count)


def person_in_use(session, person: Person) -> Optional[str]:
    """Tickets they created, resolved or changed, and comments they wrote, name them for good."""
    touched = select(Ticket.id).where(or_(Ticket.created_by_id == person.id, Ticket.resolved_by_id == person.id)).union(
        select(TicketEvent.ticket_id).where(TicketEvent.actor_id == person.id))
    tickets = session.scalar(select(func.count()).select_from(touched.subquery()))
    comments = session.scalar(select(func.count()).select_from(Comment).where(Comment.author_id == person.id))
    if not (tickets or comments):
        return None
    return _("%(name)s cannot be deleted: the record of %(tickets)d ticket(s) and %(comments)d comment(s) names "
             "them. Deactivate them instead (Edit, untick Active): they can no longer sign in or receive email, "
             "and their open tickets can be handed over to someone else.",
             name=person.full_name, tickets=tickets, comments=comments)
