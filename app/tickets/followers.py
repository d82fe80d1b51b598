"""Following a ticket: a person who may see it asks for an email for each new comment.

Rows are written straight to the link table, never through the ticket: following is not a
change of the ticket (no new version, no history entry, no one's open edit form made stale).
"""
from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import Person, Ticket, ticket_follower, utcnow


def is_following(session: Session, ticket: Ticket, person: Person) -> bool:
    return bool(session.scalar(select(exists().where(
        ticket_follower.c.ticket_id == ticket.id, ticket_follower.c.user_id == person.id))))


def follow(session: Session, ticket: Ticket, person: Person) -> None:
    """Idempotent: following twice (a double click, two tabs) leaves one row. The caller has
    checked that `person` may see `ticket` and commits."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(ticket_follower)
        .values(ticket_id=ticket.id, user_id=person.id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["ticket_id", "user_id"])
    )


def unfollow(session: Session, ticket: Ticket, person: Person) -> None:
    session.execute(delete(ticket_follower).where(
        ticket_follower.c.ticket_id == ticket.id, ticket_follower.c.user_id == person.id))
