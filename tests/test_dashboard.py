"""The dashboard's figures against a small dataset computed by hand, per role (an agent's own work,
a lead's teams, the admin's everything), on SQLite and PostgreSQL; every figure's link lists
exactly the tickets it counts; a bounded number of SQL statements per dashboard."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Person, Ticket, utcnow
from app.reports.figures import ReportError, summary
from tests.conftest import DOM, INTL, team
from tests.test_queries import count_statements

DASHBOARD_BUDGET = 12  # the bound; today: person, permissions, teams and at most five figure statements
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


@dataclass
class Floor:
    admin: Person
    lead: Person  # Lead of International Operations
    asha: Person  # Agent, International
    bala: Person  # Agent, International
    dev: Person  # Agent, Domestic
    now: datetime
    tickets: dict[str, Ticket]


def _set(ticket: Ticket, **values: Any) -> None:
    """Exact SLA and time fields, past the ORM's clocks (the figures read the stored columns)."""
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))


@pytest.fixture
def floor(make_person, make_ticket) -> Floor:
    """Eleven tickets. Who sees what (the one visibility rule):
    admin all; lead (International) T1–T7 and T11; Asha (created or assigned) T1, T2, T5, T7, T9."""
    admin = make_person("Ada Admin", "Admin")
    lead = make_person("Lena Lead", "Lead", (INTL,))
    asha = make_person("Asha Agent", "Agent", (INTL,))
    bala = make_person("Bala Agent", "Agent", (INTL,))
    dev = make_person("Dev Domestic", "Agent", (DOM,))
    now = utcnow()
    spec = {
        # name: (creator, team, assignees, priority, status, created ago, booking, extra columns)
        "T1": (asha, INTL, [asha], "Urgent", "Open", 2 * HOUR, "BK-0001", dict(sla_state="due_soon")),
        "T2": (bala, INTL, [asha], "High", "In Progress", 2 * DAY, "BK-0002", dict(sla_state="breached")),
        "T3": (bala, INTL, [], "Medium", "Open", 5 * DAY, "BK-0003", dict(sla_state="on_track")),
        "T4": (bala, INTL, [bala], "Low", "Waiting", 10 * DAY, "BK-0004", dict(sla_state="paused")),
        "T5": (asha, INTL, [bala], "High", "Resolved", 20 * DAY, "BK-REPEAT", dict(
            sla_state="met", resolved_at=now - 3 * DAY, first_responded_at=now - 19 * DAY,
            first_response_minutes=30, resolution_minutes=600)),
        "T6": (bala, INTL, [bala], "High", "Resolved", 15 * DAY, "BK-REPEAT", dict(
            sla_state="breached", resolved_at=now - 4 * DAY, first_responded_at=now - 14 * DAY,
            first_response_minutes=90, resolution_minutes=1200)),
        "T7": (asha, INTL, [asha], "Medium", "Resolved", 12 * DAY, "BK-REPEAT", dict(
            sla_state="met", resolved_at=now - 2 * DAY, first_responded_at=now - 11 * DAY,
            first_response_minutes=60, resolution_minutes=300)),
        "T8": (dev, DOM, [dev], "Urgent", "Open", 40 * DAY, "BK-DOM", dict(sla_state="breached")),
        "T9": (dev, DOM, [asha], "High", "Resolved", 8 * DAY, "BK-DOM", dict(
            sla_state="met", resolved_at=now - 1 * DAY, first_responded_at=now - 7 * DAY,
            first_response_minutes=45, resolution_minutes=480)),
        "T10": (dev, DOM, [], "Medium", "Open", 6 * DAY, "BK-0010", dict(sla_state="due_soon")),
        "T11": (bala, INTL, [bala], "Low", "Resolved", 70 * DAY, "BK-0011", dict(
            sla_state="met", resolved_at=now - 60 * DAY, first_responded_at=now - 69 * DAY,
            first_response_minutes=10, resolution_minutes=100)),
    }
    tickets = {}
    for name, (creator, team_name, assignees, priority, status, ago, booking, extra) in spec.items():
        ticket = make_ticket(creator, team_name, assignees=assignees, subject=f"Dashboard {name}",
                             booking_id=booking, priority=priority)
        _set(ticket, status=status, created_at=now - ago, **{"resolved_at": None, "first_responded_at": None,
                                                              "first_response_minutes": None,
                                                              "resolution_minutes": None, **extra})
        tickets[name] = ticket
    db.session.commit()
    db.session.expire_all()
    return Floor(admin, lead, asha, bala, dev, now, tickets)


# --- reading the summary ---------------------------------------------------------------------------
def open_matrix(figures: dict) -> dict:
    return {row["team"]["name"]: {p: f["count"] for p, f in row["priorities"].items() if f["count"]}
            for row in figures["open"]["by_team"]}


def tiles(figures: dict) -> dict:
    return {"open": figures["open"]["total"]["count"],
            **{key: figures[key]["count"] for key in ("unassigned", "overdue", "due_soon", "waiting")}}


def ages(figures: dict) -> dict:
    return {bucket["bucket"]: bucket["count"] for bucket in figures["age"]}


def timings(figures: dict) -> dict:
    return {row["team"]["name"]: (
        row["first_response"]["tickets"]["count"], row["first_response"]["median_minutes"],
        row["first_response"]["p90_minutes"], row["resolution"]["tickets"]["count"],
        row["resolution"]["median_minutes"], row["resolution"]["p90_minutes"],
    ) for row in figures["response_times"]}


def sla(figures: dict) -> dict:
    return {row["team"]["name"]: (row["met"]["count"], row["with_sla"]["count"], row["rate"])
            for row in figures["sla_met"]}


def workload(figures: dict):
    if figures["workload"] is None:
        return None
    return [(row["person"]["name"], row["open"]["count"]) for row in figures["workload"]]


def repeats(figures: dict) -> tuple:
    return figures["repeat_bookings"]["count"], {b["booking_id"]: b["count"] for b in figures["repeat_bookings"]["bookings"]}


def weekly(figures: dict, kind: str) -> int:
    return sum(week[kind]["count"] for week in figures["weekly"])


def expected_weekly(floor: Floor, names: list[str], kind: str) -> dict[str, int]:
    """Which Monday-to-Sunday week (India's days) each counted instant falls in, computed apart."""
    zone = ZoneInfo("Asia/Kolkata")
    weeks: dict[str, int] = {}
    today = floor.now.replace(tzinfo=timezone.utc).astimezone(zone).date()
    first_monday = today - timedelta(days=today.weekday()) - timedelta(weeks=11)
    for name in names:
        ticket = db.session.get(Ticket, floor.tickets[name].id)
        at = ticket.created_at if kind == "created" else ticket.resolved_at
        if at is None:
            continue
        day = at.replace(tzinfo=timezone.utc).astimezone(zone).date()
        monday = day - timedelta(days=day.weekday())
        if monday >= first_monday:
            weeks[monday.isoformat()] = weeks.get(monday.isoformat(), 0) + 1
    return weeks


def weekly_map(figures: dict, kind: str) -> dict[str, int]:
    return {week["week"]: week[kind]["count"] for week in figures["weekly"] if week[kind]["count"]}


def figures_with_links(node: Any, where: str = "") -> Iterator[tuple[str, int, str]]:
    """Every (place, count, link) in a summary."""
    if isinstance(node, dict):
        if "count" in node and "link" in node:
            yield where, node["count"], node["link"]
        for key, value in node.items():
            yield from figures_with_links(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from figures_with_links(value, f"{where}[{index}]")


def listed_count(client, link: str) -> int:
    page = client.get(link)
    assert page.status_code == 200, (link, page.status_code)
    html = page.get_data(as_text=True)
    assert "is not a valid choice" not in html, (link, re.findall(r"[^>]*is not a valid choice[^<]*", html))
    return int(re.search(r'data-record-count="(\d+)"', html).group(1))


# --- the figures, per role ---------------------------------------------------------------------------
def test_agent_sees_own_work_only(app, floor):
    figures = summary(floor.asha, now=floor.now)
    # T1 (created, assigned), T2 (assigned) open; T5, T7 (created), T9 (assigned) resolved.
    assert open_matrix(figures) == {INTL: {"Urgent": 1, "High": 1}}
    assert tiles(figures) == {"open": 2, "unassigned": 0, "overdue": 1, "due_soon": 1, "waiting": 0}
    assert ages(figures) == {"0-1": 1, "1-3": 1, "3-7": 0, "7-30": 0, "30-": 0}
    # first response: T5 30, T7 60 → median 45, p90 30 + 0.9·30 = 57; resolution 600, 300 → 450, 570
    assert timings(figures) == {INTL: (2, 45.0, 57.0, 2, 450.0, 570.0), DOM: (1, 45.0, 45.0, 1, 480.0, 480.0)}
    assert sla(figures) == {INTL: (2, 2, 1.0), DOM: (1, 1, 1.0)}
    assert workload(figures) is None  # leads and admins only
    assert repeats(figures) == (1, {"BK-REPEAT": 2})  # T5 and T7; T6 is Bala's, hidden from Asha
    assert weekly_map(figures, "created") == expected_weekly(floor, ["T1", "T2", "T5", "T7", "T9"], "created")
    assert weekly_map(figures, "resolved") == expected_weekly(floor, ["T5", "T7", "T9"], "resolved")
    assert weekly(figures, "created") == 5 and len(figures["weekly"]) == 12


def test_lead_sees_their_teams(app, floor):
    figures = summary(floor.lead, now=floor.now)
    assert open_matrix(figures) == {INTL: {"Urgent": 1, "High": 1, "Medium": 1, "Low": 1}}
    assert tiles(figures) == {"open": 4, "unassigned": 1, "overdue": 1, "due_soon": 1, "waiting": 1}
    assert ages(figures) == {"0-1": 1, "1-3": 1, "3-7": 1, "7-30": 1, "30-": 0}
    # first response [30, 60, 90]: median 60, p90 at 1.8 → 60 + 0.8·30 = 84; resolution [300, 600, 1200]
    assert timings(figures) == {INTL: (3, 60.0, 84.0, 3, 600.0, 1080.0)}
    assert sla(figures) == {INTL: (2, 3, 0.667)}
    assert workload(figures) == [("Asha Agent", 2), ("Bala Agent", 1)]  # T1, T2; T4
    assert repeats(figures) == (1, {"BK-REPEAT": 3})
    assert weekly(figures, "created") == 8  # T1–T7 and T11 (70 days ago: within 12 weeks)
    assert weekly(figures, "resolved") == 4  # T5, T6, T7, T11


def test_admin_sees_everything_and_can_narrow_to_a_team(app, floor):
    figures = summary(floor.admin, now=floor.now)
    assert open_matrix(figures) == {DOM: {"Urgent": 1, "Medium": 1}, INTL: {"Urgent": 1, "High": 1, "Medium": 1, "Low": 1}}
    assert tiles(figures) == {"open": 6, "unassigned": 2, "overdue": 2, "due_soon": 2, "waiting": 1}
    assert ages(figures) == {"0-1": 1, "1-3": 1, "3-7": 2, "7-30": 1, "30-": 1}
    assert timings(figures) == {DOM: (1, 45.0, 45.0, 1, 480.0, 480.0), INTL: (3, 60.0, 84.0, 3, 600.0, 1080.0)}
    assert sla(figures) == {DOM: (1, 1, 1.0), INTL: (2, 3, 0.667)}
    assert workload(figures) == [("Asha Agent", 2), ("Bala Agent", 1), ("Dev Domestic", 1)]
    assert repeats(figures) == (1, {"BK-REPEAT": 3})  # BK-DOM's first ticket is older than the period
    assert weekly(figures, "created") == 11  # all: T11, 70 days ago, is within the 12 weeks
    assert weekly_map(figures, "created") == expected_weekly(floor, list(floor.tickets), "created")

    domestic = summary(floor.admin, team=team(DOM).id, now=floor.now)
    assert open_matrix(domestic) == {DOM: {"Urgent": 1, "Medium": 1}}
    assert tiles(domestic) == {"open": 2, "unassigned": 1, "overdue": 1, "due_soon": 1, "waiting": 0}
    assert workload(domestic) == [("Dev Domestic", 1)]
    assert domestic["team"] == {"id": team(DOM).id, "name": DOM}


def test_the_period_moves_the_period_figures(app, floor):
    today = floor.now.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Asia/Kolkata")).date()
    wide = summary(floor.admin, since=today - timedelta(days=90), until=today, now=floor.now)
    # T11 (first response 69 days ago, resolved 60 days ago) joins International's figures.
    assert timings(wide)[INTL] == (4, 45.0, 81.0, 4, 450.0, 1020.0)
    assert repeats(wide) == (2, {"BK-REPEAT": 3, "BK-DOM": 2})
    old = summary(floor.admin, since=today - timedelta(days=75), until=today - timedelta(days=50), now=floor.now)
    assert timings(old) == {INTL: (1, 10.0, 10.0, 1, 100.0, 100.0)}
    assert tiles(old) == tiles(wide)  # what is open now does not depend on the period


def test_a_hidden_ticket_is_never_counted(app, floor):
    hidden = floor.tickets["T10"]  # Domestic, nobody's but Dev's: hidden from Asha and the lead
    before = {who: summary(getattr(floor, who), now=floor.now) for who in ("asha", "lead")}
    _set(hidden, priority="Urgent", sla_state="breached", booking_id="BK-REPEAT",
         created_at=floor.now - 3 * HOUR)
    db.session.commit()
    for who, figures in before.items():
        again = summary(getattr(floor, who), now=floor.now)
        assert again == {**figures, "generated_at": again["generated_at"]}, who


def test_bad_parameters_name_the_field(app, floor):
    with pytest.raises(ReportError) as error:
        summary(floor.admin, since=date(2026, 5, 2), until=date(2026, 5, 1))
    assert error.value.field == "since"
    with pytest.raises(ReportError) as error:
        summary(floor.admin, since=date(2024, 1, 1), until=date(2026, 1, 1))
    assert error.value.field == "since"


# --- the page ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["asha", "lead", "admin"])
def test_every_figure_links_to_exactly_its_tickets(app, floor, client_for, who):
    person = getattr(floor, who)
    client = client_for(person)
    figures = summary(person, now=floor.now)
    checked = 0
    for where, count, link in figures_with_links(figures):
        assert listed_count(client, link) == count, (where, link)
        checked += 1
    assert checked >= 40, checked  # tiles, team × priority, ages, 12 weeks × 2, timings, SLA, bookings
    # and the page (all teams) shows those very links and numbers
    page = client.get("/dashboard/?team=").get_data(as_text=True)
    for where, count, link in figures_with_links(figures):
        assert f'href="{link.replace("&", "&amp;")}"' in page, where


def test_home_page_after_login_is_the_dashboard(app, floor, client_for):
    client = client_for(floor.asha)
    answer = client.get("/")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/dashboard/")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="open-chart"' in page and "vendor/chartjs/chart.umd.min.js" in page
    assert 'id="workload-table"' not in page  # an agent's dashboard has no workload table
    assert "/tickets/list/" in page  # the menu keeps the tickets
    lead_page = client_for(floor.lead).get("/dashboard/").get_data(as_text=True)
    assert 'id="workload-table"' in lead_page and "Asha Agent" in lead_page
    assert app.test_client().get("/dashboard/").status_code == 302  # not logged in: to the login page


def test_dashboard_filters_and_bad_values(app, floor, client_for):
    client = client_for(floor.admin)
    page = client.get(f"/dashboard/?team={team(DOM).id}").get_data(as_text=True)
    assert re.search(r'id="tile-open"[^>]*data-figure-count="2"', page)
    refused = client.get("/dashboard/?since=yesterday")
    assert refused.status_code == 400
    assert 'id="dashboard-problem"' in refused.get_data(as_text=True)
    assert "First day: not a date" in refused.get_data(as_text=True)
    unknown = client.get("/dashboard/?team=999999")
    assert unknown.status_code == 400 and "Team" in unknown.get_data(as_text=True)


@pytest.mark.parametrize("who", ["asha", "lead", "admin"])
def test_dashboard_statements_are_bounded(app, floor, client_for, make_ticket, who):
    client = client_for(getattr(floor, who))
    with count_statements() as few:
        assert client.get("/dashboard/").status_code == 200
    for n in range(15):  # more tickets, people and bookings: not more statements
        make_ticket(floor.asha, INTL, assignees=[floor.asha, floor.bala], booking_id=f"BK-MORE-{n % 3}")
    with count_statements() as many:
        assert client.get("/dashboard/").status_code == 200
    assert len(many) == len(few) <= DASHBOARD_BUDGET, (len(few), len(many))


def test_an_agents_figures_read_their_tickets_once(app, floor):
    """An agent's figures are one statement over one CTE of their tickets (fetched from the table
    once, not once per figure); a lead's, who sees a large share of the table, a statement each."""
    with count_statements() as agent:
        figures = summary(floor.asha, now=floor.now)
    over_tickets = [statement for statement in agent if "FROM ticket" in statement]
    assert len(over_tickets) == 1 and "visible_ticket" in over_tickets[0], agent
    if db.engine.dialect.name == "postgresql":  # computed once however many figures read it
        assert "visible_ticket AS MATERIALIZED" in over_tickets[0]
    assert tiles(figures)["open"] == 2 and repeats(figures) == (1, {"BK-REPEAT": 2})
    with count_statements() as lead:
        summary(floor.lead, now=floor.now)
    over_tickets = [statement for statement in lead if "FROM ticket" in statement]
    assert len(over_tickets) == 5 and not any("visible_ticket" in statement for statement in lead), lead


# --- the admin's snapshots (app/reports/snapshots.py) -------------------------------------------------
def test_the_admin_reads_the_schedulers_snapshot(app, floor, client_for, make_ticket, monkeypatch):
    from app.models import ReportSnapshot
    from app.reports import snapshots
    from app.worker import refresh_reports

    refresh_reports(app)  # what the worker does every REPORT_SNAPSHOT_SECONDS
    assert db.session.query(ReportSnapshot).count() == 3  # all teams, and each of the two
    admin, lead = client_for(floor.admin), client_for(floor.lead)
    with count_statements() as statements:
        page = admin.get("/dashboard/").get_data(as_text=True)
    assert 'id="dashboard-as-of"' in page
    assert re.search(r'id="tile-open"[^>]*data-figure-count="6"', page)
    assert len(statements) <= 4, statements  # person, permissions, the snapshot
    live = summary(floor.admin)
    cached = snapshots.read(db.session, None)
    assert cached["snapshot"] is True and {**cached, "generated_at": "", "snapshot": False} == {
        **live, "generated_at": ""}
    domestic = admin.get(f"/dashboard/?team={team(DOM).id}").get_data(as_text=True)
    assert re.search(r'id="tile-open"[^>]*data-figure-count="2"', domestic) and "dashboard-as-of" in domestic

    make_ticket(floor.bala, INTL, priority="Urgent", booking_id="BK-NEW")  # after the snapshot
    assert re.search(r'id="tile-open"[^>]*data-figure-count="6"', admin.get("/dashboard/").get_data(as_text=True))
    assert re.search(r'id="tile-open"[^>]*data-figure-count="5"',  # the lead's all teams: live
                     lead.get("/dashboard/?team=").get_data(as_text=True))
    other = admin.get("/dashboard/?since=2026-01-01&until=2026-01-31").get_data(as_text=True)  # another period: live
    assert "dashboard-as-of" not in other and re.search(r'id="tile-open"[^>]*data-figure-count="7"', other)
    refresh_reports(app)
    assert re.search(r'id="tile-open"[^>]*data-figure-count="7"', admin.get("/dashboard/").get_data(as_text=True))

    # too old (twice the interval): live again
    db.session.execute(update(ReportSnapshot).values(computed_at=utcnow() - timedelta(minutes=11)))
    db.session.commit()
    assert "dashboard-as-of" not in admin.get("/dashboard/").get_data(as_text=True)
    # snapshots off: live
    refresh_reports(app)
    monkeypatch.setitem(app.config, "REPORT_SNAPSHOT_SECONDS", 0)
    assert "dashboard-as-of" not in admin.get("/dashboard/").get_data(as_text=True)


def test_a_snapshot_of_another_day_is_not_used(app, floor):
    from app.models import ReportSnapshot
    from app.reports import snapshots

    yesterday = floor.now - timedelta(days=1)
    snapshots.refresh(db.session, now=yesterday)
    db.session.execute(update(ReportSnapshot).values(computed_at=utcnow()))  # fresh, but yesterday's period
    db.session.commit()
    assert snapshots.read(db.session, None) is None


def test_a_lead_of_one_team_starts_on_it_and_reads_its_snapshot(app, floor, client_for, make_ticket):
    from app.worker import refresh_reports

    client = client_for(floor.lead)
    page = client.get("/dashboard/").get_data(as_text=True)
    assert f'<option value="{team(INTL).id}" selected>' in page and "Team: International Operations" in page
    assert "dashboard-as-of" not in page  # no snapshot yet: live
    refresh_reports(app)
    make_ticket(floor.lead, DOM, booking_id="BK-LEADS-OWN")  # the lead's own ticket of another team
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "dashboard-as-of" in page and re.search(r'id="tile-open"[^>]*data-figure-count="4"', page)
    everything = client.get("/dashboard/?team=").get_data(as_text=True)  # All teams: their own ticket too, live
    assert "dashboard-as-of" not in everything
    assert re.search(r'id="tile-open"[^>]*data-figure-count="5"', everything)
    other = client.get(f"/dashboard/?team={team(DOM).id}").get_data(as_text=True)  # not their team: live
    assert "dashboard-as-of" not in other and re.search(r'id="tile-open"[^>]*data-figure-count="1"', other)


def test_the_worker_refreshes_the_snapshots_in_a_thread_of_its_own(app, floor):
    import threading

    from app import worker
    from app.models import ReportSnapshot

    class OneRound(threading.Event):
        def wait(self, timeout=None):  # the loop's pause ends the loop: one refresh, no waiting
            self.set()
            return True

    worker._reports_loop(app, OneRound(), 300)
    assert {row.key for row in db.session.query(ReportSnapshot)} == {"all", f"team:{team(INTL).id}", f"team:{team(DOM).id}"}
