"""Signed-in browser sessions, so that one can be ended on the server."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Integer, String

from .ticket import utcnow


class LoginSession(Model):
    """One browser's sign-in. The cookie carries a random token; this row holds its SHA-256.

    Flask's session is a signed cookie: without a row to delete, a copy of the cookie taken
    before logout would stay valid until the key changes. The row also remembers the person's
    credentials version at sign-in, so a password change ends every older session at once.
    """

    __tablename__ = "login_session"
    id = Column(String(64), primary_key=True)
    person_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True)
    credentials_version = Column(Integer, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
