"""Mail read from the inbound mailbox: one record per message (its Message-ID, once), and the
messages held for an admin's decision (quarantine)."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from .people import Person
from .ticket import Comment, Ticket, utcnow

POSTED, QUARANTINED, IGNORED = "posted", "quarantined", "ignored"
INBOUND_OUTCOMES = (POSTED, QUARANTINED, IGNORED)
HELD, ACCEPTED, DISCARDED = "held", "accepted", "discarded"
QUARANTINE_STATES = (HELD, ACCEPTED, DISCARDED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class InboundMessage(Model):
    """What became of one message: its Message-ID is unique, so a message seen again (the move
    to Processed failed after the commit, or it was delivered twice) is never handled twice."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_inbound_message_message_id"),
        CheckConstraint(_in("outcome", INBOUND_OUTCOMES), name="ck_inbound_message_outcome"),
        Index("ix_inbound_message_received_at", "received_at"),
    )

    id = Column(Integer, primary_key=True)
    message_id = Column(String(255), nullable=False)
    sender = Column(String(320), nullable=True)
    subject = Column(String(400), nullable=True)
    outcome = Column(String(12), nullable=False)
    reason = Column(String(40), nullable=True)  # a code (app/inbound/service.py REASONS)
    detail = Column(Text, nullable=True)
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="SET NULL"), nullable=True)
    person_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    comment_id = Column(Integer, ForeignKey("comment.id", ondelete="SET NULL"), nullable=True)
    size = Column(Integer, nullable=True)
    received_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"{self.outcome} {self.message_id}"


class QuarantinedMessage(Model):
    """A message not posted (no proof, a stranger, a ticket they may not see…), kept whole for an
    admin who accepts it (posted as the sender, if allowed then) or discards it."""

    __tablename__ = "quarantined_message"
    __table_args__ = (
        CheckConstraint(_in("state", QUARANTINE_STATES), name="ck_quarantined_message_state"),
        UniqueConstraint("inbound_id", name="uq_quarantined_message_inbound_id"),
        Index("ix_quarantined_message_state_received", "state", "received_at"),
    )

    id = Column(Integer, primary_key=True)
    inbound_id = Column(Integer, ForeignKey("inbound_message.id", ondelete="CASCADE"), nullable=False)
    inbound = relationship(InboundMessage)
    sender = Column(String(320), nullable=True)
    subject = Column(String(400), nullable=True)
    reason = Column(String(40), nullable=False)
    detail = Column(Text, nullable=True)
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="SET NULL"), nullable=True)
    ticket = relationship(Ticket)
    person_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    person = relationship(Person, foreign_keys=[person_id])
    body = Column(Text, nullable=True)  # the reply, quotes and signature stripped
    original = Column(Text, nullable=True)  # the message's whole text
    raw = Column(LargeBinary, nullable=True)  # the message as received
    received_at = Column(DateTime, nullable=False, default=utcnow)
    state = Column(String(10), nullable=False, default=HELD)
    decided_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    decided_by = relationship(Person, foreign_keys=[decided_by_id])
    decided_at = Column(DateTime, nullable=True)
    comment_id = Column(Integer, ForeignKey("comment.id", ondelete="SET NULL"), nullable=True)
    comment = relationship(Comment)

    def __repr__(self) -> str:
        return f"{self.sender}: {self.subject}"
