"""`flask demo seed`: realistic, deterministic, bulk — and the app works on what it made."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, or_, select

from app.demo.seed import DEMO_PASSWORD, seed
from app.extensions import db
from app.models import Comment, Notification, Person, Team, Ticket, ticket_assignee
from tests.conftest import _truncate, login

UNTIL = datetime(2026, 11, 1)


def _fingerprint():
    return list(db.session.execute(
        select(Ticket.subject, Ticket.booking_id, Ticket.team_id, Ticket.priority, Ticket.status, Ticket.created_at)
        .order_by(Ticket.id)
    ))


def test_seed_counts_and_shape(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed", "--tickets", "2000", "--people", "40",
                                                "--comments-per-ticket", "3", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "Seeded 2000 tickets" in result.output
    assert db.session.scalar(select(func.count(Ticket.id))) == 2000
    assert db.session.scalar(select(func.count(Comment.id))) == 6000
    assert db.session.scalar(select(func.count(Person.id))) == 40
    assert db.session.scalar(select(func.count(Team.id))) == 4
    assert db.session.scalar(select(func.count(Notification.id))) == 0  # seeding sends nothing
    statuses = dict(db.session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
    assert set(statuses) == {"Open", "In Progress", "Resolved"} and statuses["Resolved"] > statuses["Open"]
    multi = db.session.scalar(select(func.count()).select_from(
        select(ticket_assignee.c.ticket_id).group_by(ticket_assignee.c.ticket_id)
        .having(func.count() > 1).subquery()))
    assert multi > 200  # many tickets have several assignees
    first, last = db.session.execute(select(func.min(Ticket.created_at), func.max(Ticket.created_at))).one()
    assert (last - first).days > 900  # spread over about three years
    assert db.session.scalar(select(func.count(Ticket.id)).where(
        Ticket.status == "Resolved", Ticket.resolved_at.is_(None))) == 0
    assert all(re.fullmatch(r"[A-Z]{3}-\d{9}", b) for b in db.session.scalars(select(Ticket.booking_id).limit(50)))


def test_seed_is_deterministic(app):
    seed(db.session, 300, people=20, comments_per_ticket=1, rng_seed=3, until=UNTIL)
    first = _fingerprint()
    _truncate()
    from app.cli import ensure_default_teams

    ensure_default_teams()
    seed(db.session, 300, people=20, comments_per_ticket=1, rng_seed=3, until=UNTIL)
    assert _fingerprint() == first
    _truncate()
    ensure_default_teams()
    seed(db.session, 300, people=20, comments_per_ticket=1, rng_seed=4, until=UNTIL)
    assert _fingerprint() != first


def test_generated_people_see_what_the_rule_allows(app):
    seed(db.session, 1500, people=30, comments_per_ticket=0, rng_seed=11, until=UNTIL)
    agent = db.session.scalars(
        select(Person).where(Person.active.is_(True), Person.roles.any(name="Agent")).order_by(Person.id)
    ).first()
    expected = db.session.scalar(select(func.count(Ticket.id)).where(or_(
        Ticket.created_by_id == agent.id,
        Ticket.id.in_(select(ticket_assignee.c.ticket_id).where(ticket_assignee.c.user_id == agent.id)),
    )))
    client = app.test_client()
    assert "/login" not in login(client, agent.email, DEMO_PASSWORD).headers["Location"]
    page = client.get("/tickets/list/").data
    assert int(re.search(rb'data-record-count="(\d+)"', page).group(1)) == expected > 0
    # Ids continue after the seeded rows (PostgreSQL sequences were moved on).
    team = db.session.scalars(select(Team)).first()
    response = client.post("/tickets/add", data={"subject": "After seeding", "booking_id": "NEW-0001",
                                                  "team": team.id, "priority": "Low"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Ticket.id)).where(Ticket.booking_id == "NEW-0001")) == 1
