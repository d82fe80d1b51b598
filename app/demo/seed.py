"""Generate teams, people, founders, tickets, assignees and comments in bulk.

Rows go in with Core bulk INSERTs in batches (no ORM events): seeding writes no
notifications and no history, and a million tickets load in minutes. The same
`seed` and `until` give the same data.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

from flask import current_app
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..models import (
    PRIORITIES,
    STATUS_IN_PROGRESS,
    STATUS_OPEN,
    STATUS_RESOLVED,
    Comment,
    Founder,
    Person,
    Team,
    Ticket,
    person_team,
    ticket_assignee,
)

DEMO_PASSWORD = "demo-password-1"
EXTRA_TEAMS = ["Visa Services", "Corporate Travel"]
FIRST = ["Aarav", "Diya", "Kabir", "Meera", "Rohan", "Ananya", "Vikram", "Isha", "Arjun", "Priya", "Sanjay",
         "Neha", "Rahul", "Kavya", "Aditya", "Pooja", "Farhan", "Sara", "Nikhil", "Tara"]
LAST = ["Sharma", "Iyer", "Khan", "Nair", "Gupta", "Reddy", "Singh", "Das", "Mehta", "Kapoor", "Joshi", "Bose"]
PROBLEMS = [
    ("Refund not received", "The customer cancelled and is still waiting for the refund."),
    ("Hotel overbooked", "The guest arrived and the hotel had no room."),
    ("Flight rescheduled", "The airline moved the flight; the customer needs a new connection."),
    ("Visa documents missing", "The embassy asked for more documents before the appointment."),
    ("Transfer did not show up", "Nobody was at the airport for the pick-up."),
    ("Wrong name on ticket", "The passenger name does not match the passport."),
    ("Tour cancelled by operator", "The local operator cancelled the excursion."),
    ("Double charge on card", "The card was charged twice for the booking."),
]
PRIORITY_WEIGHTS = [0.3, 0.4, 0.2, 0.1]
STATUS_WEIGHTS = [(STATUS_RESOLVED, 0.6), (STATUS_OPEN, 0.25), (STATUS_IN_PROGRESS, 0.15)]
BATCH = 5000


@dataclass
class SeedResult:
    teams: int = 0
    people: int = 0
    founders: int = 0
    tickets: int = 0
    assignments: int = 0
    comments: int = 0


def _next_id(session: Session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _bulk(session: Session, table, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(table), rows[start:start + BATCH])


def _sync_sequences(session: Session) -> None:
    """Explicit ids bypass PostgreSQL's sequences: move them past the rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table, sequence in (("ticket", None), ("comment", None), ("founder", None), ("team", None),
                            ("ab_user", "ab_user_id_seq"), ("ab_user_role", "ab_user_role_id_seq")):
        seq = sequence or session.scalar(text(f"SELECT pg_get_serial_sequence('{table}', 'id')"))
        if seq:
            session.execute(text(f"SELECT setval('{seq}', GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"))


def _teams(session: Session) -> list[int]:
    names = current_app.config["DEFAULT_TEAMS"] + EXTRA_TEAMS
    existing = set(session.scalars(select(Team.name)))
    for name in names:
        if name not in existing:
            session.add(Team(name=name))
    session.flush()
    return list(session.scalars(select(Team.id).where(Team.name.in_(names)).order_by(Team.id)))


def _people(session: Session, rng: random.Random, count: int, team_ids: list[int]) -> dict[int, list[int]]:
    """Returns team id → member ids. About one person in ten is a Lead."""
    sm = current_app.appbuilder.sm
    lead, agent = sm.find_role("Lead"), sm.find_role("Agent")
    password = generate_password_hash(DEMO_PASSWORD)
    first_id = _next_id(session, Person)
    role_id = (session.scalar(text("SELECT MAX(id) FROM ab_user_role")) or 0) + 1
    people, memberships, roles = [], [], []
    members: dict[int, list[int]] = {team: [] for team in team_ids}
    for n in range(count):
        pid = first_id + n
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}.{pid}@demo.deyor.test".lower()
        people.append(dict(id=pid, first_name=first, last_name=last, username=email, email=email,
                           password=password, active=rng.random() > 0.03, phone=f"+91 9{rng.randrange(10**9):09d}"))
        for team in rng.sample(team_ids, 2 if rng.random() < 0.2 else 1):
            memberships.append(dict(user_id=pid, team_id=team))
            members[team].append(pid)
        roles.append(dict(id=role_id + n, user_id=pid, role_id=(lead if n % 10 == 0 else agent).id))
    _bulk(session, Person.__table__, people)
    _bulk(session, person_team, memberships)
    _bulk(session, sm.user_model.roles.property.secondary, roles)
    return members


def _founders(session: Session) -> int:
    if session.scalar(select(func.count(Founder.id))):
        return 0
    session.add_all([Founder(name=n, email=f"{n.split()[0].lower()}@demo.deyor.test", active=a)
                     for n, a in (("Devika Rao", True), ("Yash Malhotra", True), ("Old Partner", False))])
    return 3


def _tickets(rng: random.Random, count: int, first_id: int, until: datetime,
             members: dict[int, list[int]]) -> Iterator[tuple[dict, list[int]]]:
    teams = [team for team, people in members.items() if people]
    span = int(timedelta(days=3 * 365).total_seconds())
    statuses, weights = zip(*STATUS_WEIGHTS)
    for n in range(count):
        team = rng.choice(teams)
        staff = members[team]
        created = until - timedelta(seconds=rng.randrange(span))
        status = rng.choices(statuses, weights)[0]
        updated = min(until, created + timedelta(minutes=rng.randrange(1, 60 * 24 * 14)))
        subject, description = rng.choice(PROBLEMS)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        creator = rng.choice(staff)
        assignees = rng.sample(staff, min(len(staff), rng.choice((1, 1, 2, 3))))
        contact = (f"{first}.{last}@example.com".lower() if rng.random() < 0.6
                   else f"+91 {rng.randrange(7, 10)}{rng.randrange(10**9):09d}")
        yield dict(
            id=first_id + n, subject=f"{subject} – {first} {last}",
            booking_id=f"{rng.choice(('DEY', 'INT', 'DOM', 'VIS'))}-{created.year % 100:02d}{first_id + n:07d}",
            team_id=team, priority=rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0], status=status,
            description=description, customer_name=f"{first} {last}", customer_contact=contact,
            notify_emails="", created_by_id=creator, created_at=created, updated_at=updated,
            resolved_at=updated if status == STATUS_RESOLVED else None,
            resolved_by_id=rng.choice(assignees) if status == STATUS_RESOLVED else None,
            resolution_notes="Sorted with the supplier; customer informed." if status == STATUS_RESOLVED else None,
            version=1,
        ), assignees


def seed(session: Session, tickets: int, people: int = 50, comments_per_ticket: int = 2,
         rng_seed: int = 1, until: datetime | None = None) -> SeedResult:
    rng = random.Random(rng_seed)
    until = until or datetime.utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    result = SeedResult()
    team_ids = _teams(session)
    result.teams = len(team_ids)
    members = _people(session, rng, people, team_ids)
    result.people = people
    result.founders = _founders(session)
    ticket_id, comment_id = _next_id(session, Ticket), _next_id(session, Comment)
    batch, links, comments = [], [], []

    def flush_batch() -> None:
        _bulk(session, Ticket.__table__, batch)
        _bulk(session, ticket_assignee, links)
        _bulk(session, Comment.__table__, comments)
        result.tickets += len(batch)
        result.assignments += len(links)
        result.comments += len(comments)
        batch.clear(), links.clear(), comments.clear()

    for row, assignees in _tickets(rng, tickets, ticket_id, until, members):
        batch.append(row)
        links.extend(dict(ticket_id=row["id"], user_id=person) for person in assignees)
        for k in range(comments_per_ticket):
            comments.append(dict(id=comment_id, ticket_id=row["id"], author_id=rng.choice(assignees + [row["created_by_id"]]),
                                 body=f"Update {k + 1}: spoke to the supplier.", created_at=row["created_at"] + timedelta(minutes=10 * (k + 1))))
            comment_id += 1
        if len(batch) >= BATCH:
            flush_batch()
    flush_batch()
    _sync_sequences(session)
    session.commit()
    return result
