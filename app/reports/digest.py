"""The weekly digest: Monday 09:00, the week's figures and the overdue list, by email.

Who: every active founder (all teams; a founder who is also a person and turned the digest off
on their profile gets none) and every active Lead who has not turned it off (their teams).
When: Monday 09:00 in the time zone of the recipient's calendar (the SLA policy calendar of a
Lead's first team, else the default policy's; founders: the default's), until the end of that
Monday: a scheduler down all Monday skips that week rather than send a stale digest on Friday.

Once: the scheduler inserts a `digest_sent` row (recipient, week; unique) and, in the same
transaction, the email's outbox row. A second scheduler's insert conflicts and does nothing,
so with several schedulers each recipient gets one digest a week. The clock is injected
(`run(session, now=…)`): tests never wait for a Monday.

Figures (small SQL aggregates grouped by team, over the tickets the recipient may see in their
teams): created and resolved during the week before that Monday 09:00, open and overdue now,
and SLA met among the week's resolved tickets.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import (
    BREACHED,
    MET,
    PENDING,
    STATUS_RESOLVED,
    Calendar,
    DigestSent,
    Founder,
    Notification,
    Person,
    SlaPolicy,
    Team,
    Ticket,
    utcnow,
)
from ..notifications import messages
from ..tickets.validation import fold_control_chars
from ..tickets.visibility import LEAD_ROLE, visible_tickets_clause

log = logging.getLogger(__name__)
SEND_AT = time(9, 0)  # Monday, local time
WINDOW = timedelta(days=1)  # how long after SEND_AT a digest is still sent
OVERDUE_LISTED = 50  # the overdue list's length in the email (the rest: the Overdue queue's link)
EVENT = "digest"


@dataclass
class Recipient:
    email: str
    name: str
    zone: str
    team_ids: Optional[list[int]]  # None: every team (a founder)
    person: Optional[Person] = None  # a Lead: the visibility rule applies too


@dataclass
class TeamFigures:
    name: str
    created: int = 0
    resolved: int = 0
    open: int = 0
    overdue: int = 0
    met: int = 0
    breached: int = 0

    @property
    def met_percent(self) -> Optional[int]:
        judged = self.met + self.breached
        return round(100 * self.met / judged) if judged else None


@dataclass
class Digest:
    week: date  # the Monday it is sent
    since: datetime  # naive UTC, the week's start (the Monday before, 09:00 local)
    until: datetime
    teams: list[TeamFigures] = field(default_factory=list)
    total: TeamFigures = field(default_factory=lambda: TeamFigures(""))
    overdue: list[Ticket] = field(default_factory=list)
    more_overdue: int = 0


# --- when -----------------------------------------------------------------------------------
def due_week(now: datetime, zone: str) -> Optional[tuple[date, datetime, datetime]]:
    """(Monday, week start, week end, both naive UTC) when `now` (naive UTC) falls in the sending
    window of that Monday in `zone`, else None."""
    tz = ZoneInfo(zone)
    local = now.replace(tzinfo=timezone.utc).astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    send_at = datetime.combine(monday, SEND_AT, tzinfo=tz)
    if not send_at <= local < send_at + WINDOW:
        return None
    previous = datetime.combine(monday - timedelta(days=7), SEND_AT, tzinfo=tz)
    return monday, _utc(previous), _utc(send_at)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


# --- who ------------------------------------------------------------------------------------
def _zones(session: Session) -> tuple[dict[int, str], str]:
    """Each team's calendar zone (its policies' calendar) and the default policy's."""
    fallback = current_app.config["DISPLAY_TIMEZONE"]
    zones: dict[Optional[int], str] = {}
    for team_id, zone in session.execute(
        select(SlaPolicy.team_id, Calendar.timezone).join(Calendar, Calendar.id == SlaPolicy.calendar_id)
        .order_by(SlaPolicy.team_id, SlaPolicy.id)
    ):
        zones.setdefault(team_id, zone)
    default = zones.pop(None, fallback)
    return zones, default


def recipients(session: Session) -> list[Recipient]:
    zones, default = _zones(session)
    opted_out = {email.lower() for email in session.scalars(
        select(Person.email).where(Person.digest_emails.is_(False)))}
    found: dict[str, Recipient] = {}
    for founder in session.scalars(select(Founder).where(Founder.active.is_(True)).order_by(Founder.id)):
        email = founder.email.strip().lower()
        if email and email not in opted_out:
            found.setdefault(email, Recipient(email, founder.name, default, None))
    leads = session.scalars(
        select(Person).where(Person.active.is_(True), Person.digest_emails.is_(True),
                             Person.roles.any(Role.name == LEAD_ROLE)).order_by(Person.id)
    )
    for lead in leads:
        email = (lead.email or "").strip().lower()
        if not email or email in found or not lead.teams:
            continue
        teams = sorted(lead.teams, key=lambda team: team.name)
        zone = next((zones[team.id] for team in teams if team.id in zones), default)
        found[email] = Recipient(email, lead.full_name, zone, [team.id for team in teams], lead)
    return list(found.values())


# --- what -----------------------------------------------------------------------------------
def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _scope(recipient: Recipient) -> list:
    scope = []
    if recipient.team_ids is not None:
        scope.append(Ticket.team_id.in_(recipient.team_ids))
    if recipient.person is not None:
        scope.append(visible_tickets_clause(recipient.person))
    return scope or [true()]


def figures(session: Session, recipient: Recipient, week: date, since: datetime, until: datetime,
            now: datetime) -> Digest:
    """The week's figures by team (one GROUP BY), and the overdue tickets (one more statement)."""
    scope = _scope(recipient)
    not_resolved = Ticket.status != STATUS_RESOLVED
    resolved_in_week = and_(Ticket.resolved_at >= since, Ticket.resolved_at < until)
    rows = session.execute(
        select(
            Team.name,
            _count_if(and_(Ticket.created_at >= since, Ticket.created_at < until)),
            _count_if(resolved_in_week),
            _count_if(not_resolved),
            _count_if(and_(not_resolved, Ticket.sla_state == BREACHED)),
            _count_if(and_(resolved_in_week, Ticket.sla_state == MET)),
            _count_if(and_(resolved_in_week, Ticket.sla_state == BREACHED)),
        )
        .join(Team, Team.id == Ticket.team_id)
        .where(*scope, or_(not_resolved, Ticket.created_at >= since, Ticket.resolved_at >= since))
        .group_by(Team.name).order_by(Team.name)
    ).all()
    digest = Digest(week, since, until)
    for name, *counts in rows:
        team = TeamFigures(name, *(int(count) for count in counts))
        digest.teams.append(team)
        for attribute in ("created", "resolved", "open", "overdue", "met", "breached"):
            setattr(digest.total, attribute, getattr(digest.total, attribute) + getattr(team, attribute))
    overdue = list(session.scalars(
        select(Ticket).where(*scope, not_resolved, Ticket.sla_state == BREACHED)
        .order_by(Ticket.resolve_due_at.asc().nulls_last(), Ticket.id).limit(OVERDUE_LISTED)
    ))
    digest.overdue = overdue
    digest.more_overdue = max(digest.total.overdue - len(overdue), 0)
    return digest


def render(recipient: Recipient, digest: Digest) -> messages.RenderedMessage:
    from flask_babel import gettext as _

    from ..sla.display import display_time

    base = current_app.config["BASE_URL"]
    week_of = display_time(digest.since, "%d %b %Y").rsplit(" ", 1)[0]
    context = dict(
        recipient=recipient, digest=digest, week_of=week_of, base=base,
        overdue_link=f"{base}/tickets/list/?_flt_0_sla_state=breached&_flt_0_status=Open"
                     f"&_flt_0_status=In+Progress&_flt_0_status=Waiting",
        since=display_time(digest.since), until=display_time(digest.until),
        **messages.bound_gettext(),
    )
    subject = _("Weekly digest, week of %(week)s: %(created)s created, %(resolved)s resolved, %(overdue)s overdue",
                week=week_of, created=digest.total.created, resolved=digest.total.resolved,
                overdue=digest.total.overdue)
    return messages.RenderedMessage(
        subject=fold_control_chars(subject),
        text=render_template("email/digest.txt", **context),
        html=render_template("email/digest.html", **context),
        message_id=f"<digest-{digest.week.isoformat()}.{uuid.uuid4().hex[:16]}@{messages.mail_domain()}>",
        in_reply_to=None,
    )


# --- once a week ----------------------------------------------------------------------------
def _claim(session: Session, recipient: str, week: date) -> bool:
    """Insert the (recipient, week) row; False when it was there (another scheduler, earlier)."""
    dialect = session.get_bind().dialect.name
    values = dict(recipient=recipient, week=week, created_at=utcnow())
    if dialect == "postgresql":
        statement = pg_insert(DigestSent).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite_insert(DigestSent).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover (the app runs on PostgreSQL and SQLite)
        statement = select(DigestSent)  # never reached
    return session.execute(statement).rowcount == 1


def run(session: Session, now: Optional[datetime] = None, stop=None) -> int:
    """Queue the digest of every recipient whose Monday 09:00 has come and who has not had this
    week's; return how many were queued. One transaction per recipient."""
    now = now or utcnow()
    queued = 0
    for recipient in recipients(session):
        if stop is not None and stop.is_set():
            break
        due = due_week(now, recipient.zone)
        if due is None:
            continue
        week, since, until = due
        try:
            if not _claim(session, recipient.email, week):
                session.rollback()
                continue
            message = render(recipient, figures(session, recipient, week, since, until, now))
            session.add(Notification(
                ticket_id=None, event=EVENT, to_addrs=recipient.email, cc_addrs="",
                subject=message.subject[:400], body_text=message.text, body_html=message.html,
                message_id=message.message_id, in_reply_to=None,
                state=PENDING, attempts=0, next_attempt_at=utcnow(),
            ))
            session.commit()
            queued += 1
        except Exception:
            session.rollback()
            log.exception("Weekly digest for %s failed; the next pass tries again", recipient.email)
    if queued:
        log.info("Weekly digest: %s queued", queued)
    return queued
