"""Service levels: business calendars, policies per team and priority, and the ladder's steps."""
from __future__ import annotations

import secrets

from flask_appbuilder import Model
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship

from .people import Team
from .ticket import PRIORITIES, _in, utcnow

# The two clocks a ticket runs against, and the ladder's three rungs on each.
FIRST_RESPONSE, RESOLUTION = "first_response", "resolution"
SLA_TARGETS = (FIRST_RESPONSE, RESOLUTION)
DUE_SOON, OVERDUE, FOUNDERS = "due_soon", "overdue", "founders"
LADDER_STEPS = (DUE_SOON, OVERDUE, FOUNDERS)
# A ticket's sla_state, stored so that lists filter and sort on it; the ladder moves it on.
ON_TRACK, BREACHED, MET, PAUSED = "on_track", "breached", "met", "paused"
SLA_STATES = (ON_TRACK, DUE_SOON, BREACHED, MET, PAUSED)


def new_calendar_version() -> int:
    return secrets.randbits(31)


class Calendar(Model):
    """Working time: a time zone and weekly windows, minus holidays; or around the clock.

    Windows and holidays load lazily: the per-process cache of working calendars needs them
    only when a calendar's version is new to the process."""

    __tablename__ = "calendar"
    id = Column(Integer, primary_key=True)
    name = Column(String(80), unique=True, nullable=False)
    timezone = Column(String(64), nullable=False, default="Asia/Kolkata")
    around_the_clock = Column(Boolean, nullable=False, default=False)
    # A new random value at every change to the calendar, its windows or holidays: with the id,
    # the key of the per-process cache of working calendars (app/sla/service.py). Random, not
    # counted, because an id can come back (SQLite reuses a deleted row's id) and start again.
    version = Column(Integer, nullable=False, default=new_calendar_version, server_default="1")
    windows = relationship(
        "CalendarWindow", back_populates="calendar", cascade="all, delete-orphan",
        order_by="(CalendarWindow.weekday, CalendarWindow.start)",
    )
    holidays = relationship(
        "Holiday", back_populates="calendar", cascade="all, delete-orphan",
        order_by="Holiday.day",
    )

    def __repr__(self) -> str:
        return self.name


class CalendarWindow(Model):
    """A weekly stretch of working time, local wall clock; an end not after the start runs past midnight."""

    __tablename__ = "calendar_window"
    __table_args__ = (CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_calendar_window_weekday"),)
    id = Column(Integer, primary_key=True)
    calendar_id = Column(Integer, ForeignKey("calendar.id", ondelete="CASCADE"), nullable=False, index=True)
    calendar = relationship(Calendar, back_populates="windows")
    weekday = Column(Integer, nullable=False)  # 0 = Monday … 6 = Sunday
    start = Column(Time, nullable=False)
    end = Column(Time, nullable=False)


class Holiday(Model):
    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_holiday_calendar_day"),)
    id = Column(Integer, primary_key=True)
    calendar_id = Column(Integer, ForeignKey("calendar.id", ondelete="CASCADE"), nullable=False)
    calendar = relationship(Calendar, back_populates="holidays")
    day = Column(Date, nullable=False)
    name = Column(String(120), nullable=False)

    def __repr__(self) -> str:
        return f"{self.day.isoformat()} {self.name}"


class SlaPolicy(Model):
    """Targets in working minutes for one team (or, with no team, every team without its own) and priority."""

    __tablename__ = "sla_policy"
    __table_args__ = (
        CheckConstraint(_in("priority", PRIORITIES), name="ck_sla_policy_priority"),
        CheckConstraint("first_response_minutes > 0 AND resolution_minutes > 0", name="ck_sla_policy_targets"),
        # One policy per (team or default, priority): NULL team would escape a plain unique.
        Index("uq_sla_policy_team_priority", text("coalesce(team_id, 0)"), "priority", unique=True),
    )
    id = Column(Integer, primary_key=True)
    team_id = Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), nullable=True)
    team = relationship(Team)
    priority = Column(String(10), nullable=False)
    first_response_minutes = Column(Integer, nullable=False)
    resolution_minutes = Column(Integer, nullable=False)
    calendar_id = Column(Integer, ForeignKey("calendar.id"), nullable=False)
    calendar = relationship(Calendar, lazy="joined")

    def __repr__(self) -> str:
        return f"{self.team or 'Default'} · {self.priority}"


class SlaStep(Model):
    """One rung of the ladder taken for one ticket, target and clock: the unique key makes it once."""

    __tablename__ = "sla_step"
    __table_args__ = (
        UniqueConstraint("ticket_id", "target", "step", "cycle", name="uq_sla_step_once"),
        CheckConstraint(_in("target", SLA_TARGETS), name="ck_sla_step_target"),
        CheckConstraint(_in("step", LADDER_STEPS), name="ck_sla_step_step"),
    )
    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    target = Column(String(20), nullable=False)
    step = Column(String(20), nullable=False)
    cycle = Column(Integer, nullable=False, default=1)  # the resolution clock: 1, then +1 per reopen
    due_at = Column(DateTime, nullable=False)  # when the step was due
    created_at = Column(DateTime, nullable=False, default=utcnow)


class SlaRecompute(Model):
    """A pending re-computation of open tickets' SLA columns after a policy or calendar change:
    the worker takes it in batches (`after_id` is its progress), so the admin's request is quick."""

    __tablename__ = "sla_recompute"
    id = Column(Integer, primary_key=True)
    team_id = Column(Integer, nullable=True)  # None: every team
    priority = Column(String(10), nullable=True)  # None: every priority
    after_id = Column(Integer, nullable=False, default=0)
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    done_at = Column(DateTime, nullable=True)
