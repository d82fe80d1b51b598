"""The admin's (and a lead's team's) dashboard from snapshots kept by the scheduler.

An admin sees every ticket: their figures aggregate the whole ticket table (at a million tickets,
seconds per dashboard); a lead sees every ticket of their teams, so their figures for one of
their teams are that team's figures over every ticket. The worker recomputes those figures for the default period (the last 30
days) every REPORT_SNAPSHOT_SECONDS, for all teams and for each team, and stores them
(report_snapshot); an admin's dashboard or summary API call for the default period, or a lead's
for one of their own teams, reads that row: one statement. The figures are then as of the snapshot's time (shown on the page,
`generated_at` and `snapshot: true` in the API); each link still lists the tickets as they are
now. Everything else is computed live: agents, a lead's figures over all they see (their teams and
their own tickets elsewhere), any other period, and a snapshot older than twice the interval or from another
day (the default period moved at midnight). REPORT_SNAPSHOT_SECONDS=0 turns snapshots off.

Several schedulers may refresh at once: each writes whole rows, the last one stays.
"""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import Optional

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import Person, ReportSnapshot, Team, utcnow
from ..tickets.visibility import LEAD_ROLE, is_admin, role_names
from .figures import local_today, period_of, summary, summary_of_everything

log = logging.getLogger(__name__)


def _key(team: Optional[int]) -> str:
    return "all" if team is None else f"team:{team}"


def interval() -> float:
    return float(current_app.config["REPORT_SNAPSHOT_SECONDS"])


def refresh(session: Session, now: Optional[datetime] = None) -> int:
    """Recompute every snapshot (all teams, then each team); returns how many were written."""
    teams = [None, *session.scalars(select(Team.id).order_by(Team.id))]
    written = 0
    for team in teams:
        at = now or utcnow()
        body = summary_of_everything(team, now=at, session=session)
        session.execute(delete(ReportSnapshot).where(ReportSnapshot.key == _key(team)))
        session.add(ReportSnapshot(key=_key(team), computed_at=at, body=json.dumps(body)))
        session.commit()  # one team at a time: readers never wait on the whole refresh
        written += 1
    return written


def read(session: Session, team: Optional[int], now: Optional[datetime] = None) -> Optional[dict]:
    """The snapshot of everything for `team` if it is fresh enough, else None."""
    if interval() <= 0:
        return None
    now = now or utcnow()
    row = session.execute(
        select(ReportSnapshot.computed_at, ReportSnapshot.body).where(ReportSnapshot.key == _key(team))
    ).first()
    if row is None or row.computed_at < now - timedelta(seconds=2 * interval()):
        return None
    body = json.loads(row.body)
    if body["period"]["until"] != local_today(now).isoformat():
        return None  # computed yesterday: the default period has moved since
    body["snapshot"] = True
    return body


def sees_whole(person: Person, team: Optional[int]) -> bool:
    """Whether `person`'s figures for `team` are those of every ticket of it (or of all tickets):
    an admin's always; a lead's for one of their own teams, every ticket of which they see."""
    if is_admin(person):
        return True
    return team is not None and LEAD_ROLE in role_names(person) and team in {t.id for t in person.teams}


def dashboard_summary(person: Person, team: Optional[int] = None, since: Optional[date] = None,
                      until: Optional[date] = None, session: Optional[Session] = None) -> dict:
    """What the dashboard and the summary API show: the default period from the snapshot when
    there is a fresh one and it is exactly the person's figures (see sees_whole), everything
    else live (figures.summary)."""
    session = session or current_app.appbuilder.session
    now = utcnow()
    if sees_whole(person, team) and period_of(since, until, now) == period_of(None, None, now):
        cached = read(session, team, now)
        if cached is not None:
            return cached
    return summary(person, team, since, until, session=session)
