"""People (FAB's user, extended), teams and founders."""
from __future__ import annotations

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, func, true
from sqlalchemy.orm import relationship

person_team = Table(
    "person_team",
    Model.metadata,
    Column("user_id", Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", Integer, ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
)


class Team(Model):
    __tablename__ = "team"
    id = Column(Integer, primary_key=True)
    name = Column(String(80), unique=True, nullable=False)
    # Comma-separated addresses an admin adds beside TEAM_EMAILS_<TEAM>.
    default_emails = Column(Text, nullable=True)

    members = relationship("Person", secondary=person_team, back_populates="teams")

    def __repr__(self) -> str:
        return self.name


class Person(User):
    """One notion of person: FAB's login user plus phone and team membership."""

    __tablename__ = "ab_user"
    phone = Column(String(40), nullable=True)
    # Raised by every password change (app/credentials.py): sessions and tokens carry the
    # version they were issued under, and an older one is refused.
    credentials_version = Column(Integer, nullable=False, default=0, server_default="0")
    # Notification settings the person chooses on their profile: an email for each new comment
    # on tickets they are assigned to or follow, and the weekly digest (founders and Leads).
    comment_emails = Column(Boolean, nullable=False, default=True, server_default=true())
    digest_emails = Column(Boolean, nullable=False, default=True, server_default=true())
    # The language chosen on the profile (a LANGUAGES key), applied at sign-in; None: the default.
    language = Column(String(8), nullable=True)
    teams = relationship(
        Team, secondary=person_team, back_populates="members", order_by=Team.name
    )
    # The person's named ticket lists, for their menu: loaded with the person in the one
    # statement each request makes for them (DeyorSecurityManager.get_user_by_id).
    saved_views = relationship(
        "SavedView", order_by="SavedView.name", viewonly=True
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __repr__(self) -> str:
        return self.full_name


class Founder(Model):
    __tablename__ = "founder"
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    email = Column(String(320), unique=True, nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    # One founder per address whatever its case (the column's own constraint is case-sensitive).
    __table_args__ = (Index("uq_founder_email_lower", func.lower(email), unique=True),)

    def __repr__(self) -> str:
        return self.name
