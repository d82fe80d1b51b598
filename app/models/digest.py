"""The weekly digest's claims: one row per recipient and week, so each is sent once."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, Date, DateTime, Integer, String, UniqueConstraint

from .ticket import utcnow


class DigestSent(Model):
    """Inserted in the transaction that queues the digest's email; a second scheduler's insert
    for the same recipient and week meets the unique constraint and sends nothing."""

    __tablename__ = "digest_sent"
    __table_args__ = (UniqueConstraint("recipient", "week", name="uq_digest_sent_recipient_week"),)

    id = Column(Integer, primary_key=True)
    recipient = Column(String(320), nullable=False)  # the address, lower-cased
    week = Column(Date, nullable=False)  # the Monday it was due, in the recipient's calendar's zone
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"digest {self.week} {self.recipient}"
