"""Tickets, their comments and their change history."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from flask_appbuilder import Model
from flask_appbuilder.models.decorators import renders
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Float,
    Table,
    Text,
    text,
)
from sqlalchemy import case
from sqlalchemy.orm import column_property, relationship

from .people import Person, Team

PRIORITIES = ("Low", "Medium", "High", "Urgent")
# Severity, for sorting: Urgent first when descending (alphabetically High came first).
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES, start=1)}
STATUS_OPEN, STATUS_IN_PROGRESS, STATUS_WAITING, STATUS_RESOLVED = "Open", "In Progress", "Waiting", "Resolved"
# Waiting: on the customer or a supplier (airline, hotel, visa office); it pauses the resolution clock.
STATUSES = (STATUS_OPEN, STATUS_IN_PROGRESS, STATUS_WAITING, STATUS_RESOLVED)


def utcnow() -> datetime:
    """Naive UTC, the same on SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


ticket_assignee = Table(
    "ticket_assignee",
    Model.metadata,
    Column("ticket_id", Integer, ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True),
    # Copies of the ticket's updated_at and status, kept by the database's triggers (migration
    # 0020): a person's assigned tickets come newest first, open or not, from the index below,
    # with no probe of the ticket table per ticket. Never written by the app; NULL only inside
    # an SQLite insert.
    Column("ticket_updated_at", DateTime, nullable=True),
    Column("ticket_status", String(20), nullable=True),
    # (user_id, ticket_id): a person's tickets straight from the index (the visibility rule).
    Index("ix_ticket_assignee_user_ticket", "user_id", "ticket_id"),
    Index("ix_ticket_assignee_user_updated", "user_id", "ticket_updated_at", "ticket_id", "ticket_status"),
)


# People who follow a ticket (besides its assignees) get an email for each new comment. Anyone
# who may see the ticket may follow it; the rule is asked again whenever an email is written.
ticket_follower = Table(
    "ticket_follower",
    Model.metadata,
    Column("ticket_id", Integer, ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    # (user_id, ticket_id): what a person follows, and the removal of a person's rows.
    Index("ix_ticket_follower_user_ticket", "user_id", "ticket_id"),
)


class Ticket(Model):
    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint(_in("priority", PRIORITIES), name="ck_ticket_priority"),
        CheckConstraint(_in("status", STATUSES), name="ck_ticket_status"),
        # The list's page of ids from indexes alone (CappedCountInterface._page_rows): the
        # newest first by (updated_at, id); a person's tickets sorted via (id, updated_at).
        Index("ix_ticket_updated_id", "updated_at", "id"),
        Index("ix_ticket_id_updated", "id", "updated_at"),
        Index("ix_ticket_team_id", "team_id"),
        Index("ix_ticket_creator_id", "created_by_id", "id"),  # the visibility rule, index-only
        Index("ix_ticket_booking_id", "booking_id"),
        Index("ix_ticket_team_updated", "team_id", "updated_at"),
        Index("ix_ticket_creator_updated", "created_by_id", "updated_at", "id"),  # index-only, as above
        # The ladder's scan: tickets whose next step is due, from the index alone; resolved
        # tickets have no escalation_at and stay out of it.
        Index(
            "ix_ticket_escalation_at", "escalation_at",
            postgresql_where=text("escalation_at IS NOT NULL"), sqlite_where=text("escalation_at IS NOT NULL"),
        ),
        Index("ix_ticket_resolve_due_at", "resolve_due_at", "id"),
        # The queues' other orders: oldest first, recently resolved (migration 0010).
        Index("ix_ticket_created_id", "created_at", "id"),
        Index("ix_ticket_resolved_id", "resolved_at", "id"),
        Index("ix_ticket_priority_status", "priority", "status"),  # the Urgent queue's count
        # PostgreSQL also has pg_trgm GIN indexes (ix_trgm_ticket_*) for the search,
        # created by migrations 0003 and 0004 only: they have no SQLite counterpart.
    )

    id = Column(Integer, primary_key=True)
    subject = Column(String(200), nullable=False)
    booking_id = Column(String(40), nullable=False)
    team_id = Column(Integer, ForeignKey("team.id"), nullable=False)
    team = relationship(Team, lazy="joined", innerjoin=True)
    priority = Column(String(10), nullable=False, default="Medium")
    # Only ever ordered by (app/tickets/ordering.py); never loaded with the row. PostgreSQL has an
    # index on this very expression (migration 0010, PostgreSQL only; keep the two equal).
    priority_rank = column_property(case(PRIORITY_RANK, value=priority), deferred=True)
    status = Column(String(20), nullable=False, default=STATUS_OPEN)
    description = Column(Text, nullable=True)
    customer_name = Column(String(120), nullable=True)
    customer_contact = Column(String(120), nullable=True)
    notify_emails = Column(Text, nullable=True)
    assignees = relationship(
        Person, secondary=ticket_assignee, lazy="selectin", order_by=Person.first_name
    )
    # Read by the ticket page only (one statement); the comment emails ask the database directly.
    followers = relationship(
        Person, secondary=ticket_follower, lazy="select", order_by=(Person.first_name, Person.last_name),
        passive_deletes=True,
    )
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    created_by = relationship(Person, foreign_keys=[created_by_id], lazy="joined")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)
    resolved_at = Column(DateTime, nullable=True)
    resolved_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    resolved_by = relationship(Person, foreign_keys=[resolved_by_id], lazy="select")
    resolution_notes = Column(Text, nullable=True)
    # Service level (app/sla): computed by the server, read-only everywhere.
    first_response_due_at = Column(DateTime, nullable=True)
    first_responded_at = Column(DateTime, nullable=True)
    first_response_minutes = Column(Integer, nullable=True)  # working minutes it took
    resolve_started_at = Column(DateTime, nullable=True)  # this resolution clock: creation or reopen
    resolve_due_at = Column(DateTime, nullable=True)
    resolve_paused_minutes = Column(Float, nullable=False, default=0, server_default="0")
    waiting_since = Column(DateTime, nullable=True)
    resolution_minutes = Column(Integer, nullable=True)  # working minutes, pauses left out
    sla_state = Column(String(10), nullable=True)
    escalation_level = Column(Integer, nullable=False, default=0, server_default="0")
    escalation_at = Column(DateTime, nullable=True)  # the ladder's next step, or none
    sla_cycle = Column(Integer, nullable=False, default=1, server_default="1")  # +1 per reopen
    # Optimistic lock: an UPDATE carries the version it read, so a concurrent
    # save fails instead of silently overwriting.
    version = Column(Integer, nullable=False, default=1)

    comments = relationship(
        "Comment",
        back_populates="ticket",
        order_by="(Comment.created_at, Comment.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    events = relationship(
        "TicketEvent",
        back_populates="ticket",
        order_by="(TicketEvent.created_at, TicketEvent.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"ESC-{self.id} {self.subject}" if self.id else self.subject or "New ticket"

    @renders("resolve_due_at")  # the list sorts this column by resolve_due_at
    def due(self) -> tuple[Optional[str], Optional[datetime]]:
        """(sla_state, the earliest due time still running) for the list's and page's badge:
        none once resolved, and none for the paused resolution clock while Waiting."""
        return self.sla_state, running_due(self.status, self.first_responded_at, self.first_response_due_at,
                                           self.resolve_due_at)


def running_due(status: str, first_responded_at: Optional[datetime], first_response_due_at: Optional[datetime],
                resolve_due_at: Optional[datetime]) -> Optional[datetime]:
    """The earliest due time still running (Ticket.due; the list reads the columns alone)."""
    running = []
    if status != STATUS_RESOLVED:
        if first_responded_at is None and first_response_due_at is not None:
            running.append(first_response_due_at)
        if status != STATUS_WAITING and resolve_due_at is not None:
            running.append(resolve_due_at)
    return min(running, default=None)


class Comment(Model):
    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_ticket_id", "ticket_id", "created_at"),)

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    ticket = relationship(Ticket, back_populates="comments")
    author_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    author = relationship(Person, lazy="joined")
    body = Column(Text, nullable=False)
    # A comment that came by email: the message's whole text (quotes, signature), behind a toggle.
    original_text = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"Comment {self.id} on ESC-{self.ticket_id}"


class TicketEvent(Model):
    """One recorded change of a ticket: who, when, which field, from → to."""

    __tablename__ = "ticket_event"
    __table_args__ = (Index("ix_ticket_event_ticket_id", "ticket_id", "created_at"),)

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    ticket = relationship(Ticket, back_populates="events")
    actor_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    actor = relationship(Person, lazy="joined")
    field = Column(String(40), nullable=False)
    old_value = Column(Text, nullable=True)
    new_value = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
