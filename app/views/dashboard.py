"""/dashboard/: the home page after login, the figures of app/reports/figures.py over the tickets
the person may see, each a link to the list of exactly those tickets. Charts are drawn in the
browser by the vendored Chart.js (static/vendor/chartjs) from the tables beside them, which hold
the same numbers for screen readers and for anyone without JavaScript."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from flask import request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from ..models import PRIORITIES, utcnow
from ..reports.figures import ReportError, local_today, parse_day, parse_team
from ..reports.snapshots import dashboard_summary
from ..sla.display import display_time, span
from ..tickets.visibility import LEAD_ROLE, current_person, is_admin, role_names
from .ticket_list import PRIORITY_CSS, age_label

QUICK_PERIODS = (7, 30, 90)


def minutes_words(minutes: Optional[float]) -> str:
    return "–" if minutes is None else span(minutes)


def hours(minutes: Optional[float]) -> str:
    """A chart's value: hours with one decimal, or empty for no value."""
    return "" if minutes is None else f"{minutes / 60:.1f}"


class DashboardView(BaseView):
    route_base = "/dashboard"
    default_view = "index"
    template = "dashboard/index.html"

    @expose("/")
    @has_access
    def index(self):
        person = current_person()
        session = self.appbuilder.session
        problem, status = None, 200
        try:
            team = parse_team(session, request.args.get("team"))
            if "team" not in request.args:
                team = self._own_team(person)
            since = parse_day("since", request.args.get("since"))
            until = parse_day("until", request.args.get("until"))
            figures = dashboard_summary(person, team, since, until, session=session)
        except ReportError as error:
            # A value that means nothing is named, and the page shows the default figures.
            problem, status = self._message(error), 400
            team = None
            figures = dashboard_summary(person, session=session)
        now = utcnow()
        today = local_today(now)
        return self.render_template(
            self.template,
            figures=figures,
            team=team,
            problem=problem,
            priorities=list(reversed(PRIORITIES)),
            priority_css=PRIORITY_CSS,
            quick_periods=[(days, (today - timedelta(days=days - 1)).isoformat(), today.isoformat())
                           for days in QUICK_PERIODS],
            age_label=age_label,
            minutes_words=minutes_words,
            hours=hours,
            since=figures["period"]["since"],
            until=figures["period"]["until"],
            week_label=_week_label,
            oldest=_oldest,
            as_of=_as_of(figures),
        ), status

    @staticmethod
    def _own_team(person) -> Optional[int]:
        """A lead of one team starts on that team (their dashboard is about their team; "All
        teams" adds their own tickets of other teams)."""
        if is_admin(person) or LEAD_ROLE not in role_names(person) or len(person.teams) != 1:
            return None
        return person.teams[0].id

    @staticmethod
    def _message(error: ReportError) -> str:
        labels = {"team": _("Team"), "since": _("First day"), "until": _("Last day")}
        if error.field == "team":
            reason = _("no such team.")
        elif "on or before" in error.message:
            reason = _("must be on or before the end of the period.")
        elif "at most" in error.message:
            reason = _("the period can be at most a year long.")
        else:
            reason = _("not a date (YYYY-MM-DD).")
        return _("%(field)s: %(reason)s The default period is shown.", field=labels[error.field], reason=reason)


def _week_label(monday: str) -> str:
    return date.fromisoformat(monday).strftime("%d %b")


def _as_of(figures: dict) -> str:
    """When a snapshot's figures were computed (live figures: empty)."""
    if not figures.get("snapshot"):
        return ""
    return display_time(datetime.fromisoformat(figures["generated_at"]).replace(tzinfo=None), "%H:%M")


def _oldest(iso: Optional[str]) -> str:
    if not iso:
        return ""
    return display_time(datetime.fromisoformat(iso).replace(tzinfo=None), "%d %b %Y")
