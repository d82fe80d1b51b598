"""The admin's dashboard from snapshots kept by the scheduler.

An admin sees every ticket: their figures aggregate the whole ticket table (at a million tickets,
seconds per dashboard). The worker recomputes those figures for the default period (the last 30
days) every REPORT_SNAPSHOT_SECONDS, for all teams and for each team, and stores them
(report_snapshot); an admin's dashboard or summary API call for the default period reads that
row: one statement. The figures are then as of the snapshot's time (shown on the page,
`generated_at` and `snapshot: true` in the API); each link still lists the tickets as they are
now. Everything else is computed live: people who are not admins (their figures run over what
they may see), any other period, and a snapshot older than twice the interval or from another
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
from ..tickets.visibility import is_admin
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


def dashboard_summary(person: Person, team: Optional[int] = None, since: Optional[date] = None,
                      until: Optional[date] = None, session: Optional[Session] = None) -> dict:
    """What the dashboard and the summary API show: an admin's default period from the snapshot
    when there is a fresh one, everything else live (figures.summary)."""
    session = session or current_app.appbuilder.session
    now = utcnow()
    if is_admin(person) and period_of(since, until, now) == period_of(None, None, now):
        cached = read(session, team, now)
        if cached is not None:
            return cached
    return summary(person, team, since, until, session=session)
