"""The audit log: one append-only row per thing an admin may later ask about."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import relationship

from .ticket import utcnow


class AuditEvent(Model):
    """Written by app/audit.py in the same transaction as the change it records; never
    updated by the app, deleted only by the retention pruning (AUDIT_RETENTION_DAYS)."""

    __tablename__ = "audit_event"
    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)  # UTC
    kind = Column(String(40), nullable=False)  # e.g. login, login_failed, person_changed, export
    # Who did it; NULL when nobody was logged in (a failed login) or the person was deleted.
    actor_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    # (read-only: the screen's person filter and column; the database clears it on deletion)
    actor = relationship("Person", viewonly=True, lazy="joined")
    # The actor's email at the time, or the email tried on a failed login.
    email = Column(String(320), nullable=True)
    address = Column(String(64), nullable=True)  # client address, proxy-aware (ProxyFix)
    object_type = Column(String(40), nullable=True)  # person, role, team, ticket, export, …
    object_id = Column(String(64), nullable=True)
    details = Column(JSON, nullable=True)  # what changed; never password material

    __table_args__ = (
        Index("ix_audit_event_created_at", created_at),
        Index("ix_audit_event_kind_created_at", kind, created_at),
        Index("ix_audit_event_actor_created_at", actor_id, created_at),
    )

    def __repr__(self) -> str:
        return f"{self.kind} {self.object_type or ''} {self.object_id or ''}".strip()
