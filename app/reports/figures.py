"""The dashboard's figures, as SQL aggregates over the tickets a person may see.

`summary(person, team, since, until)` is the one entry point: the dashboard (app/views/dashboard.py),
`GET /api/v1/report/summary` (app/api/reports.py) and the weekly digest read the same dict (the
first two through app/reports/snapshots.py, which serves an admin's default period from the
scheduler's snapshot, computed by `summary_of_everything`). Each
figure that counts tickets carries `link`, the ticket list filtered to exactly those tickets
(app/tickets/filters.py), so a click lands on what was counted.

Every statement aggregates in the database (GROUP BY, conditional counts, percentiles) and
returns a handful of rows: no ticket row is ever read into Python. Six statements at most:
open tickets (by team and priority, with the unassigned, overdue, due soon, Waiting and age
counts alongside), created and resolved per week, time to first response and to resolution
with the SLA outcome per team, workload per assignee (leads and admins), repeat bookings, and
the teams' names.

An agent's figures (someone who sees only the tickets they created or are assigned to) are one
statement besides the teams: the figures read a MATERIALIZED CTE of those tickets (the columns
the figures need), so each of their few thousand tickets is fetched from the table once, where
separate statements probed it six times (the weekly and timing figures are two passes each),
and PostgreSQL started two parallel workers for each of those two, which cost more than the
passes themselves on a busy host; the one statement starts none (a CTE is not scanned in
parallel workers). Leads and admins see a large share of the table: materialising it would
cost more than the separate passes it saves, so their figures stay separate statements.

Days and weeks are the company's (DISPLAY_TIMEZONE): their boundaries are computed here as the
stored naive UTC and compared in SQL, exactly as the list's date filters do, so a week's count
and its link agree even across a daylight-saving change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import JSON, Integer, and_, case, cast, exists, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from ..models import (
    PRIORITIES,
    STATUS_IN_PROGRESS,
    STATUS_OPEN,
    STATUS_RESOLVED,
    STATUS_WAITING,
    Person,
    Team,
    Ticket,
    ticket_assignee,
    utcnow,
)
from ..tickets.filters import AGE_BUCKETS, NONE, age_clause, local_day_start  # the list's own day boundaries
from ..tickets.queues import LIST_PATH
from ..tickets.visibility import LEAD_ROLE, is_admin, role_names, sees_own_tickets_only, visible_tickets_clause

DEFAULT_DAYS = 30  # the period when none is given: the last 30 days, today included
MAX_DAYS = 366
WEEKS = 12
WORKLOAD_ROWS = 50  # the busiest assignees shown
REPEAT_ROWS = 20  # the bookings with most escalations shown
REPEAT_MIN = 2
PERCENTILES = (0.5, 0.9)
NOT_RESOLVED = (STATUS_OPEN, STATUS_IN_PROGRESS, STATUS_WAITING)


class ReportError(ValueError):
    """A parameter that means nothing; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # included

    def start(self) -> datetime:
        return local_day_start(self.since)

    def end(self) -> datetime:
        return local_day_start(self.until + timedelta(days=1))


# --- days in the company's time zone ----------------------------------------------------------
def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def local_today(now: datetime) -> date:
    return now.replace(tzinfo=timezone.utc).astimezone(_zone()).date()


# --- parameters ----------------------------------------------------------------------------------
def parse_day(field: str, text: Optional[str]) -> Optional[date]:
    if text is None or not str(text).strip():
        return None
    try:
        day = date.fromisoformat(str(text).strip())
    except ValueError:
        raise ReportError(field, f"{field}: not a date; write it as YYYY-MM-DD (e.g. 2026-12-03).") from None
    if not 2000 <= day.year <= 2100:
        raise ReportError(field, f"{field}: must be a date between the years 2000 and 2100.")
    return day


def parse_team(session: Session, text: Optional[str]) -> Optional[int]:
    """A team's id, checked against the teams that exist; None for all teams."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    if not text.isdigit() or len(text) > 18 or session.get(Team, int(text)) is None:
        raise ReportError("team", "team: no such team; give a team's id (see /api/v1/team/).")
    return int(text)


def period_of(since: Optional[date], until: Optional[date], now: datetime) -> Period:
    until = until or local_today(now)
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise ReportError("since", "since: must be on or before until.")
    if (until - since).days + 1 > MAX_DAYS:
        raise ReportError("since", f"since: the period can be at most {MAX_DAYS} days long.")
    return Period(since, until)


# --- links to the list ------------------------------------------------------------------------------
def list_link(*args: tuple[str, Any], team: Optional[int] = None, open_only: bool = False) -> str:
    """The ticket list filtered by `args` (the list's own `_flt_` form)."""
    pairs = [(key, str(value)) for key, value in args]
    if open_only:
        pairs += [("_flt_0_status", status) for status in NOT_RESOLVED]
    if team is not None and not any(key == "_flt_0_team" for key, _value in pairs):
        pairs.append(("_flt_0_team", str(team)))
    return f"{LIST_PATH}?{urlencode(pairs)}"


def _dates(column: str, first: date, last: date) -> list[tuple[str, str]]:
    return [(f"_flt_0_{column}", first.isoformat()), (f"_flt_1_{column}", last.isoformat())]


def _figure(count: Optional[int], link: str) -> dict:
    return {"count": int(count or 0), "link": link}


# --- SQL building blocks ------------------------------------------------------------------------------
Statement = Any  # a Select or a UNION ALL of them (CompoundSelect)

# The ticket columns the figures read: what a CTE of a person's tickets holds.
FIGURE_COLUMNS = ("id", "team_id", "priority", "status", "sla_state", "booking_id", "created_at", "resolved_at",
                  "first_responded_at", "first_response_minutes", "resolution_minutes")


def _count_if(condition) -> Any:
    return func.count(case((condition, 1)))


def _scope(person: Person, team: Optional[int]) -> list:
    clauses = [visible_tickets_clause(person)]
    if team is not None:
        clauses.append(Ticket.team_id == team)
    return clauses


def _fetched_once(scope: list) -> Any:
    """The tickets of `scope` as a MATERIALIZED CTE of the figures' columns, mapped as Ticket so
    that the figures' statements read it as they read the table. PostgreSQL computes it once
    however many parts of the statement read it (SQLite materialises a CTE read more than once
    by itself)."""
    fetched = (select(*(getattr(Ticket, name) for name in FIGURE_COLUMNS)).where(*scope)
               .cte("visible_ticket").prefix_with("MATERIALIZED", dialect="postgresql"))
    return aliased(Ticket, fetched)


def _bucketed(column, bounds: list[datetime]):
    """The index of the interval [bounds[i], bounds[i+1]) holding `column` (rows outside are
    filtered out by the caller)."""
    return case(*[(column < bounds[i + 1], i) for i in range(len(bounds) - 1)], else_=len(bounds) - 1)


def _percentiles_postgresql(minutes) -> list:
    return [func.percentile_cont(p).within_group(minutes) for p in PERCENTILES]


def _ranked_percentiles(kind: str, t: Any, minutes, in_period, scope: list, sla: bool):
    """Percentile_cont's interpolation (as PostgreSQL computes it) written with window functions,
    for SQLite: rank each team's values, then weight the one or two values around p·(n−1).
    NULL minutes rank last and weigh nothing; the statement's count is the whole population."""
    ranked = select(
        t.team_id.label("team_id"),
        minutes.label("m"),
        t.sla_state.label("sla_state"),
        (func.row_number().over(partition_by=t.team_id, order_by=(minutes.is_(None), minutes)) - 1).label("rn"),
        func.count(minutes).over(partition_by=t.team_id).label("n"),
    ).where(in_period, *scope).subquery()
    values = []
    for p in PERCENTILES:
        position = p * (ranked.c.n - 1)
        low = cast(position, Integer)  # SQLite truncates toward zero: the floor of a position ≥ 0
        fraction = position - low
        weight = case((ranked.c.rn == low, 1 - fraction), else_=0) + case((ranked.c.rn == low + 1, fraction), else_=0)
        values.append(func.sum(ranked.c.m * weight))
    return select(
        literal(kind).label("kind"), ranked.c.team_id, func.count(),
        *values,
        func.count(case((ranked.c.sla_state == "met", 1))) if sla else literal(None),
        func.count(case((ranked.c.sla_state == "breached", 1))) if sla else literal(None),
    ).group_by(ranked.c.team_id)


# Each figure's statement reads the tickets `t` (Ticket, or an agent's CTE mapped as Ticket)
# under the clauses `scope` (the visibility rule and the team; none over the CTE, which holds them).
def _open_statement(t: Any, scope: list, now: datetime) -> Statement:
    """Open tickets by team × priority, with the unassigned, overdue, due soon, Waiting and age
    counts of each cell alongside: one pass over the open tickets."""
    unassigned = ~exists().where(ticket_assignee.c.ticket_id == t.id)
    return select(
        t.team_id, t.priority, func.count(),
        _count_if(unassigned),
        _count_if(t.sla_state == "breached"),
        _count_if(t.sla_state == "due_soon"),
        _count_if(t.status == STATUS_WAITING),
        *[_count_if(age_clause(low, high, now, t.created_at)) for _key, low, high in AGE_BUCKETS],
    ).where(t.status != STATUS_RESOLVED, *scope).group_by(t.team_id, t.priority)


def _weekly_statement(t: Any, scope: list, bounds: list[datetime]) -> Statement:
    """Tickets created and tickets resolved per week, the weeks' bounds given."""
    parts = []
    for kind, column in (("created", t.created_at), ("resolved", t.resolved_at)):
        inner = select(literal(kind).label("kind"), _bucketed(column, bounds).label("week")).where(
            column >= bounds[0], column < bounds[-1], *scope).subquery()
        parts.append(select(inner.c.kind, inner.c.week, func.count()).group_by(inner.c.kind, inner.c.week))
    return union_all(*parts)


def _timing_statement(dialect: str, t: Any, scope: list, period: Period) -> Statement:
    """First response (tickets first answered in the period) and resolution (tickets resolved
    in the period, with how many met or breached their SLA), per team, one statement."""
    start, end = period.start(), period.end()
    responded = and_(t.first_responded_at >= start, t.first_responded_at < end)
    resolved = and_(t.resolved_at >= start, t.resolved_at < end)
    if dialect == "postgresql":
        first = select(
            literal("first_response").label("kind"), t.team_id, func.count(),
            *_percentiles_postgresql(t.first_response_minutes), literal(None), literal(None),
        ).where(responded, *scope).group_by(t.team_id)
        resolution = select(
            literal("resolution").label("kind"), t.team_id, func.count(),
            *_percentiles_postgresql(t.resolution_minutes),
            _count_if(t.sla_state == "met"), _count_if(t.sla_state == "breached"),
        ).where(resolved, *scope).group_by(t.team_id)
    else:
        first = _ranked_percentiles("first_response", t, t.first_response_minutes, responded, scope, sla=False)
        resolution = _ranked_percentiles("resolution", t, t.resolution_minutes, resolved, scope, sla=True)
    return union_all(first, resolution)


def _repeat_statement(t: Any, scope: list, period: Period) -> Statement:
    """Bookings with two or more tickets created in the period, most first, with how many such
    bookings in all and each one's rank (the one-statement form keeps no subquery's order)."""
    count = func.count()
    order = (count.desc(), t.booking_id)
    return (
        select(t.booking_id, count, func.count().over(), func.row_number().over(order_by=order))
        .where(t.created_at >= period.start(), t.created_at < period.end(), *scope)
        .group_by(t.booking_id)
        .having(count >= REPEAT_MIN)
        .order_by(*order)
        .limit(REPEAT_ROWS)
    )


def _workload_statement(scope: list) -> Statement:
    """Open tickets per assignee and their oldest, busiest first (leads and admins)."""
    open_count = func.count()
    return (
        select(Person.id, Person.first_name, Person.last_name, open_count, func.min(Ticket.created_at))
        .select_from(ticket_assignee)
        .join(Ticket, Ticket.id == ticket_assignee.c.ticket_id)
        .join(Person, Person.id == ticket_assignee.c.user_id)
        .where(Ticket.status != STATUS_RESOLVED, *scope)
        .group_by(Person.id, Person.first_name, Person.last_name)
        .order_by(open_count.desc(), Person.first_name, Person.id)
        .limit(WORKLOAD_ROWS)
    )


def _in_one_statement(session: Session, dialect: str, statements: dict[str, Statement]) -> dict[str, list]:
    """The rows of `statements`, run as one statement: each row comes back as its statement's
    name and its columns as a JSON array, so that statements of different columns can share
    one UNION ALL (and so one CTE). JSON carries their counts, minutes and names as they are;
    none of them returns a date."""
    array = func.json_build_array if dialect == "postgresql" else func.json_array
    parts = []
    for name, statement in statements.items():
        rows = statement.subquery()
        parts.append(select(literal(name).label("figure"), array(*rows.c, type_=JSON).label("row")))
    by_name: dict[str, list] = {name: [] for name in statements}
    for name, row in session.execute(union_all(*parts)):
        by_name[name].append(row)
    return by_name


def _week_starts(until: date) -> list[date]:
    """The Mondays of the WEEKS weeks ending with the one holding `until`, and the Monday after."""
    last_monday = until - timedelta(days=until.weekday())
    return [last_monday - timedelta(weeks=WEEKS - 1 - n) for n in range(WEEKS + 1)]


def _rounded(value: Any) -> Optional[float]:
    return None if value is None else round(float(value), 1)


# --- the summary ------------------------------------------------------------------------------
def summary(person: Person, team: Optional[int] = None, since: Optional[date] = None,
            until: Optional[date] = None, now: Optional[datetime] = None,
            session: Optional[Session] = None) -> dict:
    """Every figure of the dashboard for `person` (the one visibility rule), optionally for one
    team, over the period [since, until] (the company's days; default: the last 30 days), computed
    now. Raises ReportError for a period that means nothing."""
    sees_workload = is_admin(person) or LEAD_ROLE in role_names(person)
    return compute(_scope(person, team), team, since, until, now, session, sees_workload,
                   fetch_once=sees_own_tickets_only(person))


def summary_of_everything(team: Optional[int] = None, now: Optional[datetime] = None,
                          session: Optional[Session] = None) -> dict:
    """The default period's figures over every ticket (what an admin sees), for the snapshots."""
    scope = [Ticket.team_id == team] if team is not None else []
    return compute(scope, team, None, None, now, session, workload=True)


def compute(scope: list, team: Optional[int], since: Optional[date], until: Optional[date],
            now: Optional[datetime], session: Optional[Session], workload: bool,
            fetch_once: bool = False) -> dict:
    """The figures over the tickets of `scope`. `fetch_once`: the scope holds a few thousand
    tickets at most (an agent's), to be fetched once into a CTE that one statement reads for
    every figure (workload excepted: it is not an agent's figure)."""
    session = session or current_app.appbuilder.session
    now = now or utcnow()
    period = period_of(since, until, now)
    dialect = session.get_bind().dialect.name
    teams = dict(session.execute(select(Team.id, Team.name).order_by(Team.name)).all())

    def named_team(team_id: int) -> dict:
        return {"id": team_id, "name": teams.get(team_id, "")}

    mondays = _week_starts(period.until)
    tickets, where = (_fetched_once(scope), []) if fetch_once else (Ticket, scope)
    statements = {
        "open": _open_statement(tickets, where, now),
        "weekly": _weekly_statement(tickets, where, [local_day_start(day) for day in mondays]),
        "timings": _timing_statement(dialect, tickets, where, period),
        "repeat_bookings": _repeat_statement(tickets, where, period),
    }
    if fetch_once:
        rows = _in_one_statement(session, dialect, statements)
    else:
        rows = {name: session.execute(statement).all() for name, statement in statements.items()}
    result: dict[str, Any] = {
        "period": {"since": period.since.isoformat(), "until": period.until.isoformat(),
                   "timezone": current_app.config["DISPLAY_TIMEZONE"]},
        "team": named_team(team) if team is not None else None,
        "generated_at": now.replace(tzinfo=timezone.utc).isoformat(),
        "snapshot": False,
    }
    result.update(_open_figures(rows["open"], team, named_team))
    result["weekly"] = _weekly(rows["weekly"], team, mondays)
    result.update(_timings(rows["timings"], period, named_team))
    result["workload"] = _workload(session.execute(_workload_statement(scope)).all(), team) if workload else None
    result["repeat_bookings"] = _repeat_bookings(rows["repeat_bookings"], team, period)
    result["teams"] = [named_team(team_id) for team_id in teams]
    return result


# --- the figures from their rows ------------------------------------------------------------------------
def _open_figures(rows: list, team: Optional[int], named_team) -> dict:
    by_team: dict[int, dict] = {}
    totals = [0] * (5 + len(AGE_BUCKETS))
    for team_id, priority, *counts in rows:
        entry = by_team.setdefault(team_id, {"team": named_team(team_id), "total": 0, "priorities": {}})
        entry["total"] += counts[0]
        entry["priorities"][priority] = counts[0]
        totals = [a + b for a, b in zip(totals, counts)]
    open_teams = []
    for team_id, entry in sorted(by_team.items(), key=lambda item: item[1]["team"]["name"]):
        open_teams.append({
            "team": entry["team"],
            "total": _figure(entry["total"], list_link(team=team_id, open_only=True)),
            "priorities": {
                priority: _figure(entry["priorities"].get(priority, 0),
                                  list_link(("_flt_0_priority", priority), team=team_id, open_only=True))
                for priority in reversed(PRIORITIES)
            },
        })
    total, unassigned_n, overdue, due_soon, waiting, *age_n = totals
    return {
        "open": {"total": _figure(total, list_link(team=team, open_only=True)), "by_team": open_teams},
        "unassigned": _figure(unassigned_n, list_link(("_flt_0_assignees", NONE), team=team, open_only=True)),
        "overdue": _figure(overdue, list_link(("_flt_0_sla_state", "breached"), team=team, open_only=True)),
        "due_soon": _figure(due_soon, list_link(("_flt_0_sla_state", "due_soon"), team=team, open_only=True)),
        "waiting": _figure(waiting, list_link(("_flt_0_status", STATUS_WAITING), team=team)),
        "age": [
            {"bucket": key, "min_days": low, "max_days": high,
             **_figure(count, list_link(("_flt_0_age", key), team=team, open_only=True))}
            for (key, low, high), count in zip(AGE_BUCKETS, age_n)
        ],
    }


def _weekly(rows: list, team: Optional[int], mondays: list[date]) -> list[dict]:
    """The WEEKS weeks (Monday to Sunday, the company's days), each week's two counts."""
    counts = {(kind, int(week)): n for kind, week, n in rows}
    weeks = []
    for index, monday in enumerate(mondays[:-1]):
        sunday = monday + timedelta(days=6)
        weeks.append({
            "week": monday.isoformat(),
            "created": _figure(counts.get(("created", index)), list_link(*_dates("created_at", monday, sunday), team=team)),
            "resolved": _figure(counts.get(("resolved", index)),
                                list_link(*_dates("resolved_at", monday, sunday), team=team)),
        })
    return weeks


def _timings(rows: list, period: Period, named_team) -> dict:
    response_times: dict[int, dict] = {}
    sla_met = []
    responded = _dates("first_responded_at", period.since, period.until)
    resolved = _dates("resolved_at", period.since, period.until)
    for kind, team_id, count, p50, p90, met, breached in sorted(rows, key=lambda r: named_team(r[1])["name"]):
        entry = response_times.setdefault(team_id, {
            "team": named_team(team_id),
            "first_response": {"tickets": _figure(0, list_link(*responded, team=team_id)),
                               "median_minutes": None, "p90_minutes": None},
            "resolution": {"tickets": _figure(0, list_link(*resolved, team=team_id)),
                           "median_minutes": None, "p90_minutes": None},
        })
        entry[kind]["tickets"]["count"] = int(count)
        entry[kind]["median_minutes"], entry[kind]["p90_minutes"] = _rounded(p50), _rounded(p90)
        if kind == "resolution":
            met, breached = int(met or 0), int(breached or 0)
            sla_met.append({
                "team": named_team(team_id),
                "met": _figure(met, list_link(*resolved, ("_flt_0_sla_state", "met"), team=team_id)),
                "with_sla": _figure(met + breached, list_link(
                    *resolved, ("_flt_0_sla_state", "met"), ("_flt_0_sla_state", "breached"), team=team_id)),
                "rate": round(met / (met + breached), 3) if met + breached else None,
            })
    return {"response_times": list(response_times.values()), "sla_met": sla_met}


def _workload(rows: list, team: Optional[int]) -> list[dict]:
    return [
        {"person": {"id": pid, "name": f"{first} {last}".strip()},
         "open": _figure(count, list_link(("_flt_0_assignees", pid), team=team, open_only=True)),
         "oldest_created_at": oldest.replace(tzinfo=timezone.utc).isoformat() if oldest else None}
        for pid, first, last, count, oldest in rows
    ]


def _repeat_bookings(rows: list, team: Optional[int], period: Period) -> dict:
    rows = sorted(rows, key=lambda row: row[3])  # by their rank: most tickets first
    created = _dates("created_at", period.since, period.until)
    return {
        "count": int(rows[0][2]) if rows else 0,
        "bookings": [
            {"booking_id": booking, **_figure(n, list_link(("_flt_0_booking_id", booking), *created, team=team))}
            for booking, n, _total, _rank in rows
        ],
    }
