"""The notification outbox: one row per email, written in the ticket's transaction."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from .ticket import Ticket, utcnow

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
NOTIFICATION_STATES = (PENDING, SENDING, SENT, FAILED, SKIPPED)
CREATED, RESOLVED, ASSIGNED = "created", "resolved", "assigned"
# A new comment, to one follower or assignee; to a person it mentions (one email either way).
COMMENTED, MENTIONED = "comment", "mention"
NOTIFICATION_EVENTS = (CREATED, RESOLVED, ASSIGNED, COMMENTED, MENTIONED)


class Notification(Model):
    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint(
            "state IN ({})".format(", ".join(repr(s) for s in NOTIFICATION_STATES)),
            name="ck_notification_state",
        ),
        # The sender's claim query: due pending rows, and expired leases.
        Index("ix_notification_due", "state", "next_attempt_at"),
        Index("ix_notification_ticket_id", "ticket_id"),
        # The admins' banner: the oldest email still failing (app/notifications/health.py).
        Index("ix_notification_state_created", "state", "created_at"),
        # A reply by email finds its ticket by the Message-IDs it answers (app/inbound/match.py).
        Index("ix_notification_message_id", "message_id"),
        Index("ix_notification_in_reply_to", "in_reply_to"),
    )

    id = Column(Integer, primary_key=True)
    # Kept when the ticket is deleted: the record of what was sent stays.
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="SET NULL"), nullable=True)
    ticket = relationship(Ticket)
    event = Column(String(20), nullable=False)
    to_addrs = Column(Text, nullable=False, default="")
    cc_addrs = Column(Text, nullable=False, default="")
    subject = Column(String(400), nullable=False)
    body_text = Column(Text, nullable=False)
    body_html = Column(Text, nullable=False)
    message_id = Column(String(255), nullable=False)
    in_reply_to = Column(String(255), nullable=True)
    state = Column(String(10), nullable=False, default=PENDING)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow)
    locked_until = Column(DateTime, nullable=True)
    locked_by = Column(String(80), nullable=True)
    last_error = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    sent_at = Column(DateTime, nullable=True)

    def __repr__(self) -> str:
        return f"{self.event} #{self.id}"
