"""The REST API end to end, with real JWT logins: visibility, the agent's job, bad input,
server-set fields, authentication and the admin resources.

The visibility cast (tests.conftest.cast) plus a second ticket of Domestic Operations that
only the admin and the Domestic lead may see. Every person logs in once per test.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Optional

import jwt as pyjwt
import prison
import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import (
    Comment,
    Founder,
    Notification,
    Person,
    Team,
    Ticket,
    TicketEvent,
    utcnow,
)
from tests.conftest import CAST_ROLES, DOM, INTL, PASSWORD, SEES, fresh, team

SEES_OTHER = {who: who in ("admin", "lead_other_team") for who in SEES}
ROLES = CAST_ROLES
MISSING = 999999


# --- helpers -------------------------------------------------------------------------------
class Api:
    """A test client that sends `Authorization: Bearer <token>` (or nothing) with each call."""

    def __init__(self, client, token: Optional[str]) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _kwargs(self, q, kwargs) -> dict:
        if q is not None:
            kwargs["query_string"] = {"q": q if isinstance(q, str) else prison.dumps(q)}
        kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
        return kwargs

    def get(self, url: str, q: Any = None, **kwargs):
        return self.client.get(url, **self._kwargs(q, kwargs))

    def post(self, url: str, body: Any = None, **kwargs):
        if body is not None:
            kwargs["json"] = body
        return self.client.post(url, **self._kwargs(None, kwargs))

    def put(self, url: str, body: Any = None, **kwargs):
        if body is not None:
            kwargs["json"] = body
        return self.client.put(url, **self._kwargs(None, kwargs))

    def delete(self, url: str, **kwargs):
        return self.client.delete(url, **self._kwargs(None, kwargs))


def api_login(app, email: str, password: str = PASSWORD):
    return app.test_client().post(
        "/api/v1/security/login", json={"username": email, "password": password, "provider": "db"}
    )


@pytest.fixture
def token_for(app):
    """token_for(person) → a JWT access token, from one real login per person per test."""
    tokens: dict[str, str] = {}

    def _token(person: Person, password: str = PASSWORD) -> str:
        if person.email not in tokens:
            response = api_login(app, person.email, password)
            assert response.status_code == 200, response.get_data(as_text=True)
            tokens[person.email] = response.json["access_token"]
        return tokens[person.email]

    return _token


@pytest.fixture
def api_for(app, token_for):
    """api_for(person) → an Api authorised with that person's token."""

    def _api(person: Optional[Person]) -> Api:
        return Api(app.test_client(), token_for(person) if person is not None else None)

    return _api


@pytest.fixture
def world(cast, make_ticket):
    people, ticket = cast
    other = make_ticket(people["lead_other_team"], DOM, subject="Train cancelled", booking_id="DOM-5550")
    comment = Comment(ticket=ticket, author=people["agent_creator"], body="Called the hotel manager")
    other_comment = Comment(ticket=other, author=people["lead_other_team"], body="Rebooked on the next train")
    db.session.add_all([comment, other_comment])
    db.session.commit()
    return people, ticket, other, comment, other_comment


def row(model, pk: int):
    """The row as the database has it now (requests commit in their own sessions)."""
    db.session.expire_all()
    return db.session.get(model, pk)


def counts() -> dict[str, int]:
    """Rows per table: compare before and after a refused request."""
    db.session.rollback()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Ticket, Comment, TicketEvent, Notification, Team, Founder, Person)
    }


def ids(response) -> list[int]:
    return [row["id"] for row in response.json["result"]]


def rel(col: str, value: Any, opr: str = "rel_o_m") -> dict:
    return {"filters": [{"col": col, "opr": opr, "value": value}]}


def names_field(response, field: str) -> bool:
    """The error answer names `field` (422: a key of `message`; otherwise in its text)."""
    message = response.json.get("message") if response.is_json else None
    if isinstance(message, dict):
        return field in message
    return field in json.dumps(message)


def assert_refused(response, field: Optional[str] = None) -> None:
    assert response.status_code in (400, 422), (response.status_code, response.get_data(as_text=True)[:500])
    assert response.is_json, response.get_data(as_text=True)[:500]
    if field is not None:
        assert names_field(response, field), (field, response.json)


def same_answer(a, b) -> None:
    """Two responses a client cannot tell apart (hidden row vs missing row)."""
    assert a.status_code == b.status_code
    assert a.get_json(silent=True) == b.get_json(silent=True)


def role_id(app, name: str) -> int:
    return app.appbuilder.sm.find_role(name).id


# === 1. visibility matrix ===================================================================
@pytest.mark.parametrize("who", ROLES)
def test_ticket_list_count_and_get_one(world, api_for, who):
    people, ticket, other, _, _ = world
    api = api_for(people[who])
    response = api.get("/api/v1/ticket/")
    assert response.status_code == 200
    expected = {t.id for t, seen in ((ticket, SEES[who]), (other, SEES_OTHER[who])) if seen}
    assert set(ids(response)) == expected
    assert response.json["count"] == len(expected)
    assert ("GOA-7781" in response.get_data(as_text=True)) == SEES[who]
    assert ("DOM-5550" in response.get_data(as_text=True)) == SEES_OTHER[who]

    missing = api.get(f"/api/v1/ticket/{MISSING}")
    assert missing.status_code == 404
    for t, seen in ((ticket, SEES[who]), (other, SEES_OTHER[who])):
        response = api.get(f"/api/v1/ticket/{t.id}")
        if seen:
            assert response.status_code == 200
            assert response.json["result"]["booking_id"] == t.booking_id
        else:  # a hidden ticket answers exactly like a missing one
            same_answer(response, missing)
            assert t.booking_id not in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ROLES)
def test_ticket_put(world, api_for, who):
    people, ticket, other, _, _ = world
    api = api_for(people[who])
    missing = api.put(f"/api/v1/ticket/{MISSING}", {"subject": "edited"})
    assert missing.status_code == 404
    for t, seen in ((ticket, SEES[who]), (other, SEES_OTHER[who])):
        before = fresh(t)
        subject, version, status = before.subject, before.version, before.status
        response = api.put(f"/api/v1/ticket/{t.id}", {"subject": f"edited by {who}", "status": "In Progress"})
        after = fresh(t)
        if seen:
            assert response.status_code == 200, response.json
            assert (after.subject, after.status) == (f"edited by {who}", "In Progress")
            assert after.version == version + 1
        else:
            same_answer(response, missing)
            # visibility comes before validation: a bad body on a hidden ticket is still "missing"
            same_answer(api.put(f"/api/v1/ticket/{t.id}", {"team": False}),
                        api.put(f"/api/v1/ticket/{MISSING}", {"team": False}))
            after = fresh(t)
            assert (after.subject, after.version, after.status) == (subject, version, status)


@pytest.mark.parametrize(
    "who,expected",
    [
        ("admin", 200), ("lead_same_team", 200), ("lead_other_team", 404),
        # Agents never delete: refused for every ticket alike, visible, hidden or missing.
        ("agent_assigned", 403), ("agent_creator", 403), ("agent_unrelated", 403),
    ],
)
def test_ticket_delete(world, api_for, who, expected):
    people, ticket, other, _, _ = world
    api = api_for(people[who])
    ticket_id, other_id = ticket.id, other.id
    response = api.delete(f"/api/v1/ticket/{ticket_id}")
    assert response.status_code == expected
    db.session.expire_all()
    assert (db.session.get(Ticket, ticket_id) is None) == (expected == 200)
    missing = api.delete(f"/api/v1/ticket/{MISSING}")
    assert missing.status_code == (403 if who.startswith("agent") else 404)
    if who == "lead_same_team":  # the Domestic ticket is hidden from this lead: like a missing one
        same_answer(api.delete(f"/api/v1/ticket/{other_id}"), missing)
    if who.startswith("agent"):
        assert api.delete(f"/api/v1/ticket/{other_id}").status_code == 403
    db.session.expire_all()
    assert db.session.get(Ticket, other_id) is not None


@pytest.mark.parametrize("who", ROLES)
def test_comment_list_filter_and_get(world, api_for, who):
    people, ticket, other, comment, other_comment = world
    api = api_for(people[who])
    expected = {c.id for c, seen in ((comment, SEES[who]), (other_comment, SEES_OTHER[who])) if seen}

    listing = api.get("/api/v1/comment/")
    assert listing.status_code == 200
    assert set(ids(listing)) == expected and listing.json["count"] == len(expected)

    for t, c, seen in ((ticket, comment, SEES[who]), (other, other_comment, SEES_OTHER[who])):
        by_ticket = api.get("/api/v1/comment/", q=rel("ticket", t.id))
        assert by_ticket.status_code == 200, by_ticket.json
        assert ids(by_ticket) == ([c.id] if seen else [])
        assert by_ticket.json["count"] == int(seen)
        by_body = api.get("/api/v1/comment/", q={"filters": [{"col": "body", "opr": "ct", "value": c.body[:8]}]})
        assert by_body.status_code == 200 and ids(by_body) == ([c.id] if seen else [])

    missing = api.get(f"/api/v1/comment/{MISSING}")
    assert missing.status_code == 404
    for c, seen in ((comment, SEES[who]), (other_comment, SEES_OTHER[who])):
        response = api.get(f"/api/v1/comment/{c.id}")
        if seen:
            assert response.status_code == 200 and response.json["result"]["body"] == c.body
        else:
            same_answer(response, missing)


@pytest.mark.parametrize("who", ROLES)
def test_post_comment(world, api_for, who):
    people, ticket, other, _, _ = world
    api = api_for(people[who])
    before = counts()
    missing = api.post("/api/v1/comment/", {"ticket": MISSING, "body": "into the void"})
    assert missing.status_code == 404
    assert counts() == before
    for t, seen in ((ticket, SEES[who]), (other, SEES_OTHER[who])):
        body = f"note by {who} on {t.booking_id}"
        response = api.post("/api/v1/comment/", {"ticket": t.id, "body": body})
        saved = db.session.scalars(select(Comment).where(Comment.body == body)).all()
        if seen:
            assert response.status_code == 201, response.json
            assert len(saved) == 1 and saved[0].author_id == people[who].id and saved[0].ticket_id == t.id
        else:
            same_answer(response, missing)
            assert saved == []


ODD_IDS = ["abc", "-1", "0", "1.5", "0x1", "1e3", "%00", "1%00", "99999999999999999999999", "1;", "1 2"]


@pytest.mark.parametrize("who", ["admin", "lead_same_team"])
def test_odd_ids_answer_like_missing_ones(world, api_for, who):
    """Whatever stands where an id goes, the answer is the one for a missing row (404) for every
    method (one integer route for GET, PUT and DELETE); never a 500 or a 405, and nothing changes."""
    people, ticket, _, _, _ = world
    api = api_for(people[who])
    before = counts()
    failures = []
    for pk in ODD_IDS:
        for method, url, body in (
            ("get", f"/api/v1/ticket/{pk}", None), ("put", f"/api/v1/ticket/{pk}", {"subject": "odd"}),
            ("delete", f"/api/v1/ticket/{pk}", None), ("get", f"/api/v1/comment/{pk}", None),
        ):
            response = getattr(api, method)(url, body) if body else getattr(api, method)(url)
            if response.status_code != 404:
                failures.append((method, url, response.status_code))
    assert failures == []
    assert counts() == before and fresh(ticket).subject == "Hotel overbooked in Goa"


SEARCHES = [
    {"filters": [{"col": "subject", "opr": "search", "value": "goa"}]},
    {"filters": [{"col": "subject", "opr": "search", "value": "PRIYA"}]},
    {"filters": [{"col": "subject", "opr": "search", "value": "priya@example"}]},
    {"filters": [{"col": "subject", "opr": "search", "value": "no room"}]},
    {"filters": [{"col": "subject", "opr": "search", "value": "goa-7781"}]},
    {"filters": [{"col": "booking_id", "opr": "eq", "value": "GOA-7781"}]},
    {"filters": [{"col": "subject", "opr": "ct", "value": "overbooked"}]},
    {"filters": [{"col": "subject", "opr": "sw", "value": "Hotel"}]},
    {"filters": [{"col": "status", "opr": "eq", "value": "Open"}, {"col": "booking_id", "opr": "sw", "value": "GOA"}]},
]


@pytest.mark.parametrize("who", ROLES)
def test_search_and_filters_never_reveal(world, api_for, who):
    people, ticket, other, _, _ = world
    api = api_for(people[who])
    visible = {t.id for t, seen in ((ticket, SEES[who]), (other, SEES_OTHER[who])) if seen}

    for q in SEARCHES:
        response = api.get("/api/v1/ticket/", q=q)
        assert response.status_code == 200, (q, response.json)
        assert set(ids(response)) == ({ticket.id} & visible), q
        assert response.json["count"] == len({ticket.id} & visible), q

    intl, dom = team(INTL), team(DOM)
    relations = [
        (rel("team", intl.id), {ticket.id}),
        (rel("team", dom.id), {other.id}),
        (rel("assignees", people["agent_assigned"].id, "rel_m_m"), {ticket.id}),
        (rel("created_by", people["agent_creator"].id), {ticket.id}),
        (rel("created_by", people["lead_other_team"].id), {other.id}),
        (rel("team", intl.id, "nrel_o_m"), {other.id}),
        ({"filters": [{"col": "booking_id", "opr": "sw", "value": "DOM"}]}, {other.id}),
        ({"filters": [{"col": "created_at", "opr": "gt", "value": "2000-01-01T00:00:00"}]}, {ticket.id, other.id}),
        ({"order_column": "subject", "order_direction": "asc", "page": 0, "page_size": 1}, None),
    ]
    for q, matching in relations:
        response = api.get("/api/v1/ticket/", q=q)
        assert response.status_code == 200, (q, response.json)
        if matching is None:  # paging: the count is the visible total, the page a part of it
            assert set(ids(response)) <= visible and response.json["count"] == len(visible), q
        else:
            assert set(ids(response)) == matching & visible, q
            assert response.json["count"] == len(matching & visible), q


@pytest.mark.parametrize("who", ROLES)
def test_info_offers_active_staff_and_visible_tickets_only(world, api_for, make_person, who):
    people, ticket, other, _, _ = world
    gone = make_person("Old Timer", "Agent", (INTL,), active=False)
    api = api_for(people[who])
    staff = {p.id for key, p in people.items() if key != "admin"}  # the cast admin has no team

    response = api.get("/api/v1/ticket/_info")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for secret in ("GOA-7781", "DOM-5550", "Hotel overbooked", "Train cancelled", "Priya"):
        assert secret not in text
    for section in ("add_columns", "edit_columns"):
        fields = {f["name"]: f for f in response.json[section]}
        offered = {value["id"] for value in fields["assignees"]["values"]}
        assert offered == staff, section
        assert gone.id not in offered and people["admin"].id not in offered
        assert {value["id"] for value in fields["team"]["values"]} == {team(INTL).id, team(DOM).id}

    # The comment form offers the tickets one may comment on: the visible ones only
    # (in every section of `_info`, add and edit alike).
    response = api.get("/api/v1/comment/_info")
    assert response.status_code == 200
    visible = {t.id for t, seen in ((ticket, SEES[who]), (other, SEES_OTHER[who])) if seen}
    sections = [key for key in ("add_columns", "edit_columns") if key in response.json]
    assert "add_columns" in sections
    for section in sections:
        fields = {f["name"]: f for f in response.json[section]}
        if "ticket" in fields:
            offered = {value["id"] for value in fields["ticket"]["values"]}
            assert offered == visible, section
    text = response.get_data(as_text=True)
    assert ("Hotel overbooked" in text) == SEES[who]
    assert ("Train cancelled" in text) == SEES_OTHER[who]


# === 2. the agent's whole job ===============================================================
def test_agent_whole_job(world, api_for, app):
    people, _, _, _, _ = world
    agent, colleague, newcomer = people["agent_creator"], people["agent_assigned"], people["agent_unrelated"]
    api = api_for(agent)
    intl = team(INTL)

    # create
    response = api.post("/api/v1/ticket/", {
        "subject": "  Flight missed in Delhi  ", "booking_id": "  del-2024/15 ", "team": intl.id,
        "assignees": [colleague.id, people["lead_same_team"].id], "priority": "Urgent",
        "customer_name": "Ravi Kumar", "customer_contact": "+91 98765 43210",
        "notify_emails": "ops@deyor.test, OPS@deyor.test", "description": "Stuck at the airport",
    })
    assert response.status_code == 201, response.json
    ticket_id = response.json["id"]
    ticket = row(Ticket, ticket_id)
    assert ticket.booking_id == "DEL-2024/15" and ticket.subject == "Flight missed in Delhi"
    assert ticket.team_id == intl.id and ticket.status == "Open" and ticket.priority == "Urgent"
    assert {p.id for p in ticket.assignees} == {colleague.id, people["lead_same_team"].id}
    assert ticket.created_by_id == agent.id
    assert ticket.notify_emails == "ops@deyor.test"
    created = db.session.scalars(select(Notification).where(Notification.ticket_id == ticket_id)).all()
    assert [n.event for n in created] == ["created"]

    # list and search
    listing = api.get("/api/v1/ticket/")
    assert ticket_id in ids(listing)
    found = api.get("/api/v1/ticket/", q={"filters": [{"col": "subject", "opr": "search", "value": "RAVI"}]})
    assert ids(found) == [ticket_id]
    found = api.get("/api/v1/ticket/", q={"filters": [{"col": "subject", "opr": "search", "value": "del-2024"}]})
    assert ids(found) == [ticket_id]
    shown = api.get(f"/api/v1/ticket/{ticket_id}")
    assert shown.status_code == 200 and shown.json["result"]["booking_id"] == "DEL-2024/15"

    # comment
    response = api.post("/api/v1/comment/", {"ticket": ticket_id, "body": "Rebooked on the 18:40"})
    assert response.status_code == 201, response.json
    comments = api.get("/api/v1/comment/", q=rel("ticket", ticket_id))
    assert [c["body"] for c in comments.json["result"]] == ["Rebooked on the 18:40"]
    assert comments.json["result"][0]["author"]["id"] == agent.id

    # resolving needs notes
    before = counts()
    response = api.put(f"/api/v1/ticket/{ticket_id}", {"status": "Resolved"})
    assert_refused(response, "resolution_notes")
    assert counts() == before and fresh(ticket).status == "Open"

    # resolve (partial PUT)
    response = api.put(f"/api/v1/ticket/{ticket_id}", {"status": "Resolved", "resolution_notes": "Rebooked, refunded fee"})
    assert response.status_code == 200, response.json
    ticket = fresh(ticket)
    assert ticket.status == "Resolved" and ticket.resolution_notes == "Rebooked, refunded fee"
    assert ticket.resolved_by_id == agent.id
    assert ticket.resolved_at is not None and abs(utcnow() - ticket.resolved_at) < timedelta(minutes=5)
    assert ticket.subject == "Flight missed in Delhi" and ticket.priority == "Urgent"  # partial
    events = db.session.scalars(select(Notification.event).where(Notification.ticket_id == ticket_id)).all()
    # the comment emailed each assignee (one row per person), the resolution one email to all
    assert sorted(events) == ["comment", "comment", "created", "resolved"]

    # reopen needs a reason: refused without one, nothing changed
    response = api.put(f"/api/v1/ticket/{ticket_id}", {"status": "In Progress"})
    assert_refused(response, "reopen_reason")
    assert fresh(ticket).status == "Resolved" and fresh(ticket).resolution_notes == "Rebooked, refunded fee"

    # reopen clears the resolution; the reason is the reopener's comment
    response = api.put(f"/api/v1/ticket/{ticket_id}", {"status": "In Progress", "reopen_reason": "Fee not refunded"})
    assert response.status_code == 200, response.json
    assert [c.body for c in fresh(ticket).comments][-1:] == ["Reopened: Fee not refunded"]
    ticket = fresh(ticket)
    assert ticket.status == "In Progress"
    assert (ticket.resolved_at, ticket.resolved_by_id, ticket.resolution_notes) == (None, None, None)

    # stale version → 409, nothing changed
    stale = ticket.version - 1
    response = api.put(f"/api/v1/ticket/{ticket_id}", {"priority": "Low", "version": stale})
    assert response.status_code == 409
    assert fresh(ticket).priority == "Urgent"
    response = api.put(f"/api/v1/ticket/{ticket_id}", {"priority": "Low", "version": ticket.version})
    assert response.status_code == 200 and fresh(ticket).priority == "Low"

    # assignment: history and a notification for the newcomer only
    notified_before = db.session.scalar(select(func.count()).select_from(Notification))
    response = api.put(f"/api/v1/ticket/{ticket_id}", {"assignees": [colleague.id, newcomer.id]})
    assert response.status_code == 200, response.json
    assert {p.id for p in fresh(ticket).assignees} == {colleague.id, newcomer.id}
    new_rows = db.session.scalars(
        select(Notification).where(Notification.ticket_id == ticket_id).order_by(Notification.id)
    ).all()[-1:]
    assert db.session.scalar(select(func.count()).select_from(Notification)) == notified_before + 1
    assert new_rows[0].event == "assigned"
    assert new_rows[0].to_addrs.lower() == newcomer.email.lower() and new_rows[0].cc_addrs == ""

    # history: who did what, in order
    history = db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    ).all()
    trail = [(e.field, e.old_value, e.new_value) for e in history]
    assert trail[0] == ("created", None, "Open")
    assert ("assignees", "", "Asha Assigned, Lena Lead") in trail
    assert ("status", "Open", "Resolved") in trail
    assert ("status", "Resolved", "In Progress") in trail
    assert ("assignees", "Asha Assigned, Lena Lead", "Asha Assigned, Uma Unrelated") in trail
    assert {e.actor_id for e in history} == {agent.id}

    # the newcomer now sees the ticket
    assert api_for(newcomer).get(f"/api/v1/ticket/{ticket_id}").status_code == 200


# === 3. bad input corpus ====================================================================
# Each case: (label, body overrides or a whole body, the field the answer must name).
# "@TEAM", "@INACTIVE", "@ADMIN", "@AGENT" are replaced by ids in the test.
VALID = {"subject": "Valid subject", "booking_id": "VAL-001", "team": "@TEAM"}
DROP = object()
POST_CASES = [
    ("missing subject", {"subject": DROP}, "subject"),
    ("missing booking_id", {"booking_id": DROP}, "booking_id"),
    ("missing team", {"team": DROP}, "team"),
    ("blank subject", {"subject": "   "}, "subject"),
    ("team false", {"team": False}, "team"),
    ("team string", {"team": "1"}, "team"),
    ("team float", {"team": 1.5}, "team"),
    ("team null", {"team": None}, "team"),
    ("team list", {"team": ["@TEAM"]}, "team"),
    ("assignees string", {"assignees": "4"}, "assignees"),
    ("assignees int", {"assignees": "@AGENT"}, "assignees"),
    ("assignees bool", {"assignees": [True]}, "assignees"),
    ("assignees null", {"assignees": None}, "assignees"),
    ("assignees nested", {"assignees": [{"id": "@AGENT"}]}, "assignees"),
    ("subject int", {"subject": 5}, "subject"),
    ("subject list", {"subject": ["a"]}, "subject"),
    ("team nested", {"team": {"name": "Evil"}}, "team"),
    ("team nested id", {"team": {"id": "@TEAM"}}, "team"),
    ("unknown team", {"team": MISSING}, "team"),
    ("negative team", {"team": -1}, "team"),
    ("huge team", {"team": 2**70}, "team"),
    ("unknown assignee", {"assignees": [MISSING]}, "assignees"),
    ("inactive assignee", {"assignees": ["@INACTIVE"]}, "assignees"),
    ("admin without team as assignee", {"assignees": ["@ADMIN"]}, "assignees"),
    ("subject 201", {"subject": "s" * 201}, "subject"),
    ("description 5001", {"description": "d" * 5001}, "description"),
    ("customer_name 121", {"customer_name": "n" * 121}, "customer_name"),
    ("NUL in subject", {"subject": "bad\x00subject"}, "subject"),
    ("NUL in description", {"description": "bad\x00text"}, "description"),
    ("booking_id short", {"booking_id": "AB"}, "booking_id"),
    ("booking_id space", {"booking_id": "GOA 7781"}, "booking_id"),
    ("booking_id 41", {"booking_id": "B" * 41}, "booking_id"),
    ("booking_id script", {"booking_id": "<script>"}, "booking_id"),
    ("booking_id int", {"booking_id": 12345}, "booking_id"),
    ("notify_emails bad", {"notify_emails": "not-an-email"}, "notify_emails"),
    ("notify_emails one bad", {"notify_emails": "ok@deyor.test, nope@"}, "notify_emails"),
    ("customer_contact bad", {"customer_contact": "call me maybe"}, "customer_contact"),
    ("priority bad", {"priority": "Critical"}, "priority"),
    ("priority int", {"priority": 3}, "priority"),
    ("unknown field", {"evil": 1}, "evil"),
    ("unknown field team_id", {"team_id": "@TEAM"}, "team_id"),
]


def _materialise(value: Any, refs: dict) -> Any:
    if isinstance(value, str) and value in refs:
        return refs[value]
    if isinstance(value, list):
        return [_materialise(v, refs) for v in value]
    if isinstance(value, dict):
        return {k: _materialise(v, refs) for k, v in value.items()}
    return value


@pytest.fixture
def bad_input_world(world, make_person):
    people, ticket, other, comment, _ = world
    inactive = make_person("Old Timer", "Agent", (INTL,), active=False)
    refs = {
        "@TEAM": team(INTL).id, "@INACTIVE": inactive.id, "@ADMIN": people["admin"].id,
        "@AGENT": people["agent_assigned"].id,
    }
    return people, ticket, refs


def test_post_ticket_bad_input_corpus(bad_input_world, api_for):
    people, _, refs = bad_input_world
    api = api_for(people["agent_creator"])
    before = counts()
    for label, change, field in POST_CASES:
        body = _materialise(dict(VALID), refs)
        for key, value in change.items():
            if value is DROP:
                body.pop(key, None)
            else:
                body[key] = _materialise(value, refs)
        response = api.post("/api/v1/ticket/", body)
        assert response.status_code in (400, 422), (label, response.status_code, response.get_data(as_text=True)[:300])
        assert names_field(response, field), (label, response.json)
        assert counts() == before, label
    assert db.session.scalar(select(func.count()).where(func.lower(Team.name) == "evil")) == 0
    # the valid body itself is accepted: the corpus is refused for its one bad value
    ok = api.post("/api/v1/ticket/", _materialise(dict(VALID), refs))
    assert ok.status_code == 201, ok.json


PUT_CASES = [
    ("blank subject", {"subject": ""}, "subject"),
    ("subject null", {"subject": None}, "subject"),
    ("team false", {"team": False}, "team"),
    ("team string", {"team": "1"}, "team"),
    ("team nested", {"team": {"name": "Evil"}}, "team"),
    ("unknown team", {"team": MISSING}, "team"),
    ("assignees string", {"assignees": "4"}, "assignees"),
    ("assignees bool", {"assignees": [True]}, "assignees"),
    ("unknown assignee", {"assignees": [MISSING]}, "assignees"),
    ("inactive assignee", {"assignees": ["@INACTIVE"]}, "assignees"),
    ("admin as assignee", {"assignees": ["@AGENT", "@ADMIN"]}, "assignees"),
    ("subject 201", {"subject": "s" * 201}, "subject"),
    ("description 5001", {"description": "d" * 5001}, "description"),
    ("NUL in subject", {"subject": "a\x00b"}, "subject"),
    ("booking_id bad", {"booking_id": "no way"}, "booking_id"),
    ("notify_emails bad", {"notify_emails": "a@b@c"}, "notify_emails"),
    ("priority bad", {"priority": "urgent!"}, "priority"),
    ("status bad", {"status": "Closed"}, "status"),
    ("status int", {"status": 1}, "status"),
    ("resolve without notes", {"status": "Resolved"}, "resolution_notes"),
    ("resolve with blank notes", {"status": "Resolved", "resolution_notes": "   "}, "resolution_notes"),
    ("resolve with NUL notes", {"status": "Resolved", "resolution_notes": "a\x00"}, "resolution_notes"),
    ("resolve with long notes", {"status": "Resolved", "resolution_notes": "n" * 5001}, "resolution_notes"),
    ("notes on an open ticket", {"resolution_notes": "why"}, "resolution_notes"),
    ("notes not a string", {"status": "Resolved", "resolution_notes": 5}, "resolution_notes"),
    ("version string", {"version": "1"}, "version"),
    ("version bool", {"version": True}, "version"),
    ("unknown field", {"colour": "red"}, "colour"),
    ("valid change with a bad one", {"priority": "Low", "team": MISSING}, "team"),
]


def test_put_ticket_bad_input_corpus(bad_input_world, api_for):
    people, ticket, refs = bad_input_world
    api = api_for(people["agent_creator"])
    before = counts()
    snapshot = fresh(ticket)
    state = (snapshot.subject, snapshot.priority, snapshot.status, snapshot.team_id, snapshot.version,
             [p.id for p in snapshot.assignees])
    for label, change, field in PUT_CASES:
        response = api.put(f"/api/v1/ticket/{ticket.id}", _materialise(change, refs))
        assert response.status_code in (400, 422), (label, response.status_code, response.get_data(as_text=True)[:300])
        assert names_field(response, field), (label, response.json)
        assert counts() == before, label
        now = fresh(ticket)
        assert (now.subject, now.priority, now.status, now.team_id, now.version,
                [p.id for p in now.assignees]) == state, label
    assert db.session.scalar(select(func.count()).where(func.lower(Team.name) == "evil")) == 0


COMMENT_CASES = [
    ("missing body", {"ticket": "@TICKET"}, "body"),
    ("blank body", {"ticket": "@TICKET", "body": "  "}, "body"),
    ("body int", {"ticket": "@TICKET", "body": 7}, "body"),
    ("body 5001", {"ticket": "@TICKET", "body": "b" * 5001}, "body"),
    ("NUL in body", {"ticket": "@TICKET", "body": "a\x00b"}, "body"),
    ("missing ticket", {"body": "hello"}, "ticket"),
    ("ticket string", {"ticket": "1", "body": "hello"}, "ticket"),
    ("ticket bool", {"ticket": True, "body": "hello"}, "ticket"),
    ("ticket nested", {"ticket": {"subject": "Evil", "booking_id": "EVL-1", "team": 1}, "body": "hello"}, "ticket"),
    ("unknown field", {"ticket": "@TICKET", "body": "hello", "pinned": True}, "pinned"),
]


def test_post_comment_bad_input_corpus(bad_input_world, api_for):
    people, ticket, refs = bad_input_world
    refs = {**refs, "@TICKET": ticket.id}
    api = api_for(people["agent_creator"])
    before = counts()
    for label, body, field in COMMENT_CASES:
        response = api.post("/api/v1/comment/", _materialise(body, refs))
        assert response.status_code in (400, 422), (label, response.status_code, response.get_data(as_text=True)[:300])
        assert names_field(response, field), (label, response.json)
        assert counts() == before, label


def test_values_at_the_limits_are_accepted_whole(bad_input_world, api_for):
    people, _, refs = bad_input_world
    body = {"subject": "é" * 200, "booking_id": "B" * 40, "team": refs["@TEAM"], "description": "☃" * 5000,
            "customer_name": "ñ" * 120, "customer_contact": "+91 (22) 6600-1234"}
    response = api_for(people["agent_creator"]).post("/api/v1/ticket/", body)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    stored = row(Ticket, response.json["id"])
    assert (stored.subject, stored.booking_id, stored.description, stored.customer_name) == (
        "é" * 200, "B" * 40, "☃" * 5000, "ñ" * 120)


def test_a_repeated_assignee_is_one_assignee_or_refused_by_name(bad_input_world, api_for):
    """`assignees: [4, 4]` must not reach the link table twice (a primary-key violation that
    answers 'could not be saved' without naming the field)."""
    people, ticket, refs = bad_input_world
    api = api_for(people["agent_creator"])
    colleague, other = people["agent_assigned"].id, people["agent_unrelated"].id
    before = counts()
    response = api.post("/api/v1/ticket/", {"subject": "Twice", "booking_id": "TWC-001", "team": refs["@TEAM"],
                                            "assignees": [colleague, colleague]})
    assert response.status_code in (201, 422), response.get_data(as_text=True)[:300]
    if response.status_code == 422:
        assert names_field(response, "assignees"), response.json
        assert counts() == before
    else:
        assert [p.id for p in row(Ticket, response.json["id"]).assignees] == [colleague]

    before = counts()
    response = api.put(f"/api/v1/ticket/{ticket.id}", {"assignees": [colleague, colleague, other]})
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]
    if response.status_code == 422:
        assert names_field(response, "assignees"), response.json
        assert counts() == before
    else:
        assert sorted(p.id for p in fresh(ticket).assignees) == sorted([colleague, other])


def test_a_put_may_send_back_a_deactivated_assignee_but_not_newly_add_one(world, api_for):
    """A client that reads a ticket and PUTs it back whole repeats its assignees; one deactivated
    since stays (as the form keeps them); adding a deactivated person is refused by name."""
    people, ticket, *_ = world
    api = api_for(people["lead_same_team"])
    assigned, unrelated = people["agent_assigned"], people["agent_unrelated"]
    assigned.active = unrelated.active = False
    db.session.commit()

    response = api.put(f"/api/v1/ticket/{ticket.id}", {"assignees": [assigned.id], "priority": "Urgent"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    stored = fresh(ticket)
    assert ([p.id for p in stored.assignees], stored.priority) == ([assigned.id], "Urgent")

    before = counts()
    response = api.put(f"/api/v1/ticket/{ticket.id}", {"assignees": [assigned.id, unrelated.id]})
    assert response.status_code == 422 and names_field(response, "assignees"), response.get_data(as_text=True)[:300]
    assert counts() == before and [p.id for p in fresh(ticket).assignees] == [assigned.id]


def test_a_repeated_team_or_role_of_a_member_is_one_or_refused_by_name(world, api_for, app):
    people, _, _, _, _ = world
    api = api_for(people["admin"])
    agent_role, intl = role_id(app, "Agent"), team(INTL).id
    base = {"first_name": "Rita", "last_name": "Repeat", "password": "long-enough-123"}
    failures = []
    for n, (teams, roles, field) in enumerate((([intl, intl], [agent_role], "teams"),
                                               ([intl], [agent_role, agent_role], "roles"))):
        before = counts()
        response = api.post("/api/v1/member/", {**base, "email": f"rita{n}@deyor.test", "teams": teams, "roles": roles})
        if response.status_code == 422 and names_field(response, field):
            assert counts() == before
        elif response.status_code == 201:
            person = db.session.get(Person, response.json["id"])
            assert [t.id for t in person.teams] == [intl] and [r.id for r in person.roles] == [agent_role]
        else:
            failures.append((field, response.status_code, response.get_json(silent=True)))
    assert failures == []


def test_a_valid_email_too_long_for_its_column_is_refused_by_name(bad_input_world, api_for):
    """An address of 197 characters is valid (RFC 5321 allows 254): store it, or refuse it naming
    the field, the same on every database, never a bare database error."""
    people, ticket, _ = bad_input_world
    long_email = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + ".test"
    before = counts()
    response = api_for(people["agent_creator"]).put(f"/api/v1/ticket/{ticket.id}", {"customer_contact": long_email})
    if response.status_code == 200:
        assert fresh(ticket).customer_contact == long_email
    else:
        assert_refused(response, "customer_contact")
        assert counts() == before



def test_a_valid_member_email_too_long_for_the_login_name_is_refused_by_name(world, api_for, app):
    """The username is the email: a valid 197-character address must fit or be refused naming it."""
    people, _, _, _, _ = world
    long_email = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + ".test"
    before = counts()
    response = api_for(people["admin"]).post("/api/v1/member/", {
        "first_name": "Long", "last_name": "Address", "email": long_email, "roles": [role_id(app, "Agent")],
        "teams": [team(INTL).id], "password": "long-enough-123",
    })
    if response.status_code == 201:
        assert api_login(app, long_email, "long-enough-123").status_code == 200
    else:
        assert_refused(response, "email")
        assert counts() == before


BODIES = [
    ("form body", dict(data="subject=x&booking_id=ABC-1&team=1", content_type="application/x-www-form-urlencoded")),
    ("text body", dict(data="hello", content_type="text/plain")),
    ("broken JSON", dict(data='{"subject": ', content_type="application/json")),
    ("JSON array", dict(data='[{"subject": "x"}]', content_type="application/json")),
    ("JSON string", dict(data='"subject"', content_type="application/json")),
    ("JSON null", dict(data="null", content_type="application/json")),
    ("empty JSON body", dict(data="", content_type="application/json")),
    ("no body", dict()),
    ("invalid UTF-8", dict(data=b'{"subject": "\xff\xfe"}', content_type="application/json")),
]
DEEP_JSON = [
    ("deeply nested array", dict(data="[" * 100000 + "]" * 100000, content_type="application/json")),
    ("deeply nested object", dict(data='{"a":' * 100000 + "1" + "}" * 100000, content_type="application/json")),
]


@pytest.mark.parametrize("resource", ["ticket", "comment", "team-as-admin"])
def test_non_object_bodies(world, api_for, resource):
    people, ticket, _, _, _ = world
    api = api_for(people["admin" if resource == "team-as-admin" else "agent_creator"])
    url = {"ticket": "/api/v1/ticket/", "comment": "/api/v1/comment/", "team-as-admin": "/api/v1/team/"}[resource]
    before = counts()
    for label, kwargs in BODIES:
        response = api.post(url, **kwargs)
        assert response.status_code == 400, (label, response.status_code, response.get_data(as_text=True)[:300])
        assert response.is_json and response.json.get("message"), label
        if resource == "ticket":
            response = api.put(f"{url}{ticket.id}", **kwargs)
            assert response.status_code == 400, (label, response.status_code, response.get_data(as_text=True)[:300])
        assert counts() == before, label


def test_deeply_nested_json_is_a_bad_request(world, api_for, app):
    """A 200 kB body nested 100 000 deep makes the JSON parser raise RecursionError, which is not
    a ValueError: it must still answer 400 (the login included), never 500."""
    people, ticket, _, _, _ = world
    api = api_for(people["agent_creator"])
    before = counts()
    failures = []
    for label, kwargs in DEEP_JSON:
        for method, url in (("post", "/api/v1/ticket/"), ("put", f"/api/v1/ticket/{ticket.id}"),
                            ("post", "/api/v1/comment/"), ("post", "/api/v1/security/login")):
            response = getattr(api, method)(url, **kwargs)
            if response.status_code != 400:
                failures.append((label, method, url, response.status_code))
    assert failures == []
    assert counts() == before


BAD_Q = ["1e+5", "1e 5", "!(1,2)", "'text'", "42", "(page:-1)", "(page_size:-5)", "(page:'one')",
         "(filters:!((col:subject", "(filters:!((col:nope,opr:eq,value:x)))", "(((", ")",
         "(filters:!((col:subject,opr:nope,value:x)))", "(filters:(col:subject))",
         "(order_column:nope)", "(order_direction:sideways)", "(columns:!(password))",
         "(filters:!((col:created_at,opr:gt,value:'not a date')))",
         "(filters:!((col:team,opr:rel_o_m,value:'x')))"]


@pytest.mark.parametrize("resource", ["ticket", "comment"])
def test_bad_q_values(world, api_for, resource):
    people, _, _, _, _ = world
    api = api_for(people["agent_unrelated"])
    for q in BAD_Q:
        response = api.get(f"/api/v1/{resource}/", q=q)
        assert response.status_code in (200, 400, 422), (q, response.status_code, response.get_data(as_text=True)[:300])
        assert response.is_json, q
        if response.status_code == 200:  # a value FAB tolerates must still hide the hidden rows
            assert response.json["count"] == 0 and response.json["result"] == [], (q, response.json)
    # what is plainly wrong is refused, not guessed
    for q in ["1e+5", "1e 5", "!(1,2)", "(filters:!((col:subject", "(((", "(page:'one')", "(page:-1)"]:
        response = api.get(f"/api/v1/{resource}/", q=q)
        assert response.status_code == 400, (q, response.status_code, response.get_data(as_text=True)[:300])


# Filter values of the wrong type, per column kind: each must be refused (400) or match nothing
# that should stay hidden; never a 500 (PostgreSQL is strict about types where SQLite is not).
# resource: (who asks, [(column, operator)], most rows the answer may count or None for any).
TYPED_Q = {
    "ticket": ("agent_unrelated", [
        ("team", "rel_o_m"), ("team", "nrel_o_m"), ("created_by", "rel_o_m"), ("assignees", "rel_m_m"),
        ("status", "eq"), ("status", "ct"), ("priority", "neq"), ("subject", "search"), ("subject", "sw"),
        ("booking_id", "eq"), ("created_at", "gt"), ("resolved_at", "lt"),
    ], 0),
    "comment": ("agent_unrelated", [
        ("ticket", "rel_o_m"), ("ticket", "nrel_o_m"), ("author", "rel_o_m"), ("body", "ct"), ("created_at", "gt"),
    ], 0),
    "team": ("agent_unrelated", [("name", "eq"), ("name", "ct")], 2),
    "member": ("admin", [("email", "eq"), ("first_name", "ct"), ("active", "eq"), ("teams", "rel_m_m"),
                         ("roles", "rel_m_m")], None),
    "founder": ("admin", [("email", "eq"), ("name", "sw"), ("active", "eq")], None),
    "notification": ("admin", [("state", "eq"), ("event", "ct"), ("ticket_id", "eq"), ("created_at", "gt")], None),
}
ODD_VALUES = ["'x'", "!t", "1.5", "-1", "!(1,2)", "'a\x00b'", "'%'", "'2024-13-45'", "''"]


@pytest.mark.parametrize("resource", list(TYPED_Q))
def test_filter_values_of_any_type_never_fail(world, api_for, resource):
    people, _, _, _, _ = world
    who, columns, most = TYPED_Q[resource]
    api = api_for(people[who])
    failures = []
    for col, opr in columns:
        for value in ODD_VALUES:
            q = f"(filters:!((col:{col},opr:{opr},value:{value})))"
            response = api.get(f"/api/v1/{resource}/", q=q)
            if response.status_code not in (200, 400, 422) or not response.is_json:
                failures.append((q, response.status_code))
            elif response.status_code == 200 and most is not None and response.json["count"] > most:
                failures.append((q, "reveals", response.json["count"]))
    assert failures == [], f"{len(failures)} failures:\n" + "\n".join(map(str, failures))


def test_selected_and_ordered_columns_stay_within_the_listed_ones(world, api_for):
    people, ticket, _, _, _ = world
    agent, admin = api_for(people["agent_unrelated"]), api_for(people["admin"])
    for q in ("(columns:!(id,created_by.password))", "(columns:!(created_by.email))",
              "(order_column:created_by.password,order_direction:asc)", "(keys:!(password))"):
        response = agent.get("/api/v1/ticket/", q=q)
        assert response.status_code in (200, 400), (q, response.status_code)
        assert "GOA-7781" not in response.get_data(as_text=True) and "deyor.test" not in response.get_data(as_text=True)
    hashes = [p.password for p in db.session.scalars(select(Person))]
    for url, q in (("/api/v1/member/", "(columns:!(id,password))"), ("/api/v1/member/", "(columns:!(password))"),
                   ("/api/v1/member/", "(order_column:password)"),
                   (f"/api/v1/member/{people['admin'].id}", "(columns:!(password))")):
        response = admin.get(url, q=q)
        assert response.status_code in (200, 400), (q, response.status_code)
        text = response.get_data(as_text=True)
        assert not any(h in text for h in hashes), q


def test_page_size_is_capped(world, api_for):
    people, ticket, _, _, _ = world
    creator = people["agent_creator"]
    now = utcnow()
    db.session.execute(insert(Ticket), [
        {"subject": f"Bulk {n}", "booking_id": f"BLK-{n:04d}", "team_id": ticket.team_id, "priority": "Low",
         "status": "Open", "created_by_id": creator.id, "created_at": now, "updated_at": now, "version": 1}
        for n in range(120)
    ])
    db.session.commit()
    api = api_for(creator)
    response = api.get("/api/v1/ticket/", q="(page_size:100000)")
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    if response.status_code == 200:
        assert len(response.json["result"]) <= 100
        assert response.json["count"] == 121
    response = api.get("/api/v1/ticket/", q="(page:0,page_size:100)")
    assert response.status_code == 200 and len(response.json["result"]) == 100
    response = api.get("/api/v1/ticket/", q="(page:1,page_size:100)")
    assert response.status_code == 200 and len(response.json["result"]) == 21
    response = api.get("/api/v1/ticket/")
    assert len(response.json["result"]) == 25 and response.json["count"] == 121


def test_markup_and_sql_are_stored_verbatim_and_rendered_escaped(world, api_for, client_for):
    people, _, _, _, _ = world
    agent = people["agent_creator"]
    script, sql, attr = "<script>alert(1)</script>", "'; DROP TABLE ticket; --", '"><img src=x onerror=alert(2)>'
    response = api_for(agent).post("/api/v1/ticket/", {
        "subject": script, "booking_id": "XSS-001", "team": team(INTL).id, "description": sql,
        "customer_name": attr,
    })
    assert response.status_code == 201, response.json
    ticket_id = response.json["id"]
    comment = api_for(agent).post("/api/v1/comment/", {"ticket": ticket_id, "body": f"{script} {sql}"})
    assert comment.status_code == 201

    stored = row(Ticket, ticket_id)
    assert (stored.subject, stored.description, stored.customer_name) == (script, sql, attr)
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 3  # the table is still there
    searched = api_for(agent).get("/api/v1/ticket/", q={"filters": [{"col": "subject", "opr": "search", "value": sql}]})
    assert ids(searched) == [ticket_id]
    assert api_for(agent).get(f"/api/v1/ticket/{ticket_id}").json["result"]["subject"] == script

    page = client_for(agent).get(f"/tickets/show/{ticket_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x onerror=alert(2)>" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


# === 4. server-set fields ===================================================================
SERVER_SET = {
    "id": 424242, "created_by": "@ADMIN", "created_at": "2000-01-01T00:00:00",
    "updated_at": "2000-01-01T00:00:00", "resolved_by": "@ADMIN", "resolved_at": "2000-01-01T00:00:00",
}


def test_server_set_fields_are_ignored(world, api_for):
    people, ticket, _, _, _ = world
    agent, admin = people["agent_creator"], people["admin"]
    refs = {"@ADMIN": admin.id}
    api = api_for(agent)
    body = {"subject": "Forged", "booking_id": "FRG-001", "team": team(INTL).id, **_materialise(SERVER_SET, refs)}
    response = api.post("/api/v1/ticket/", body)
    assert response.status_code == 201, response.json
    created = row(Ticket, response.json["id"])
    assert created.id != 424242 and db.session.get(Ticket, 424242) is None
    assert created.created_by_id == agent.id
    assert abs(utcnow() - created.created_at) < timedelta(minutes=5)
    assert created.resolved_by_id is None and created.resolved_at is None and created.status == "Open"

    # the same forged values on a status change: the server's clock and the token's person
    before = fresh(ticket)
    created_at = before.created_at
    response = api.put(f"/api/v1/ticket/{ticket.id}", {
        "status": "Resolved", "resolution_notes": "Done", **_materialise(SERVER_SET, refs),
        "created_by": {"id": admin.id},
    })
    assert response.status_code == 200, response.json
    after = fresh(ticket)
    assert after.id == ticket.id and db.session.get(Ticket, 424242) is None
    assert after.created_by_id == agent.id and after.created_at == created_at
    assert after.resolved_by_id == agent.id
    assert abs(utcnow() - after.resolved_at) < timedelta(minutes=5)
    assert abs(utcnow() - after.updated_at) < timedelta(minutes=5)

    # a comment's author is the token's person
    response = api.post("/api/v1/comment/", {
        "ticket": ticket.id, "body": "Signed by someone else?", "author": admin.id, "created_at": "2000-01-01T00:00:00",
        "id": 424242,
    })
    assert response.status_code == 201, response.json
    comment = db.session.scalars(select(Comment).where(Comment.body == "Signed by someone else?")).one()
    assert comment.author_id == agent.id and comment.id != 424242
    assert abs(utcnow() - comment.created_at) < timedelta(minutes=5)


# === 5. authentication ======================================================================
def test_no_or_malformed_token_is_401(world, app):
    people, ticket, _, _, _ = world
    before = counts()
    client = app.test_client()
    headers_list = [
        {}, {"Authorization": "Bearer garbage"}, {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Bearer "}, {"Authorization": "Basic YWRhOnB3"}, {"Authorization": "garbage"},
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."},
    ]
    for headers in headers_list:
        calls = [
            client.get("/api/v1/ticket/", headers=headers),
            client.get(f"/api/v1/ticket/{ticket.id}", headers=headers),
            client.get("/api/v1/ticket/_info", headers=headers),
            client.post("/api/v1/ticket/", json={"subject": "x", "booking_id": "ABC-1", "team": 1}, headers=headers),
            client.put(f"/api/v1/ticket/{ticket.id}", json={"subject": "x"}, headers=headers),
            client.delete(f"/api/v1/ticket/{ticket.id}", headers=headers),
            client.get("/api/v1/comment/", headers=headers),
            client.post("/api/v1/comment/", json={"ticket": ticket.id, "body": "x"}, headers=headers),
            client.get("/api/v1/member/", headers=headers),
        ]
        for response in calls:
            assert response.status_code == 401, (headers, response.request.path, response.status_code)
            assert "GOA-7781" not in response.get_data(as_text=True)
    assert counts() == before


LOGIN_BODIES = [
    ("form body", dict(data="username=a&password=b", content_type="application/x-www-form-urlencoded")),
    ("JSON array", dict(json=["a", "b"])),
    ("empty object", dict(json={})),
    ("no password", dict(json={"username": "@EMAIL", "provider": "db"})),
    ("wrong provider", dict(json={"username": "@EMAIL", "password": PASSWORD, "provider": "ldap"})),
    ("password not a string", dict(json={"username": "@EMAIL", "password": 12345, "provider": "db"})),
    ("username not a string", dict(json={"username": ["@EMAIL"], "password": PASSWORD, "provider": "db"})),
    ("NUL in username", dict(json={"username": "carl\x00@deyor.test", "password": PASSWORD, "provider": "db"})),
    ("NUL in password", dict(json={"username": "@EMAIL", "password": "pw\x00", "provider": "db"})),
    ("long username", dict(json={"username": "u" * 5000, "password": PASSWORD, "provider": "db"})),
]


def test_login_refuses_bad_bodies_without_failing(world, app):
    people, _, _, _, _ = world
    email = people["agent_creator"].email
    failures = []
    for label, kwargs in LOGIN_BODIES:
        kwargs = json.loads(json.dumps(kwargs).replace("@EMAIL", email)) if "json" in kwargs else kwargs
        response = app.test_client().post("/api/v1/security/login", **kwargs)
        if response.status_code not in (400, 401, 422) or "access_token" in response.get_data(as_text=True):
            failures.append((label, response.status_code))
    assert failures == []
    assert api_login(app, f"  {email.upper()} ").status_code == 200  # pasted with spaces, any case


def test_tampered_token_is_401(world, token_for, app):
    people, ticket, _, _, _ = world
    token = token_for(people["agent_creator"])
    header, payload, signature = token.split(".")
    forged = [f"{header}.{payload}.{signature[:-4]}AAAA"]
    # the same claims, made the admin's, signed with another key or not signed at all
    claims = pyjwt.decode(token, options={"verify_signature": False})
    claims["sub"] = str(people["admin"].id) if isinstance(claims["sub"], str) else people["admin"].id
    forged.append(pyjwt.encode(claims, "not-the-secret-key-of-this-app-at-all", algorithm="HS256"))
    forged.append(pyjwt.encode(claims, None, algorithm="none"))
    for bad in forged:
        api = Api(app.test_client(), bad)
        assert api.get(f"/api/v1/ticket/{ticket.id}").status_code == 401
        assert api.get("/api/v1/member/").status_code == 401


def test_deactivated_person_token_is_refused(world, api_for, app):
    people, ticket, _, _, _ = world
    agent = people["agent_creator"]
    api = api_for(agent)
    assert api.get(f"/api/v1/ticket/{ticket.id}").status_code == 200
    login = app.test_client().post("/api/v1/security/login", json={
        "username": agent.email, "password": PASSWORD, "provider": "db", "refresh": True})
    refresh = login.json["refresh_token"]
    person = fresh(agent)
    person.active = False
    db.session.commit()
    before = counts()
    assert api.get(f"/api/v1/ticket/{ticket.id}").status_code == 401
    assert api.get("/api/v1/ticket/").status_code == 401
    assert api.post("/api/v1/comment/", {"ticket": ticket.id, "body": "still here?"}).status_code == 401
    assert api.put(f"/api/v1/ticket/{ticket.id}", {"subject": "ghost"}).status_code == 401
    assert counts() == before and fresh(ticket).subject == "Hotel overbooked in Goa"
    assert api_login(app, agent.email).status_code == 401
    # nor can a refresh token issued before the deactivation mint new access tokens
    refreshed = app.test_client().post("/api/v1/security/refresh", headers={"Authorization": f"Bearer {refresh}"})
    assert refreshed.status_code == 401 and "access_token" not in refreshed.get_data(as_text=True)


def test_session_cookie_alone_is_refused(world, client_for, app):
    """The API is CSRF-safe: a browser session cookie never authorises it (Bearer only)."""
    people, ticket, _, _, _ = world
    client = client_for(people["agent_creator"])
    assert client.get(f"/tickets/show/{ticket.id}").status_code == 200  # the session works
    before = counts()
    body = {"subject": "Cross-site", "booking_id": "CSRF-01", "team": team(INTL).id}
    assert client.post("/api/v1/ticket/", json=body).status_code == 401
    assert client.post("/api/v1/ticket/", data="subject=x", content_type="text/plain").status_code == 401
    assert client.put(f"/api/v1/ticket/{ticket.id}", json={"subject": "Cross-site"}).status_code == 401
    assert client.post("/api/v1/comment/", json={"ticket": ticket.id, "body": "Cross-site"}).status_code == 401
    assert client.get("/api/v1/ticket/").status_code == 401
    assert counts() == before and fresh(ticket).subject == "Hotel overbooked in Goa"
    admin_client = client_for(people["admin"])
    assert admin_client.delete(f"/api/v1/ticket/{ticket.id}").status_code == 401
    assert admin_client.post("/api/v1/team/", json={"name": "Cookie Team"}).status_code == 401
    assert counts() == before
    # FAB's security APIs too: an admin's session cookie reads and writes no role
    sm = app.appbuilder.sm
    roles_before = sorted(role.name for role in sm.get_all_roles())
    assert admin_client.get("/api/v1/security/roles/").status_code == 401
    assert admin_client.post("/api/v1/security/roles/", json={"name": "Cookie Role"}).status_code == 401
    agent_role = sm.find_role("Agent").id
    assert admin_client.put(f"/api/v1/security/roles/{agent_role}", json={"name": "Renamed"}).status_code == 401
    assert admin_client.get("/api/v1/menu/").status_code == 404  # FAB's menu API is off
    db.session.expire_all()
    assert sorted(role.name for role in sm.get_all_roles()) == roles_before


@pytest.mark.parametrize("who", ["agent_creator", "lead_same_team"])
def test_staff_are_refused_admin_resources(world, api_for, who):
    people, _, _, _, _ = world
    api = api_for(people[who])
    before = counts()
    for url in ("/api/v1/member/", "/api/v1/founder/", "/api/v1/notification/",
                f"/api/v1/member/{people['admin'].id}", "/api/v1/member/_info", "/api/v1/notification/_info"):
        assert api.get(url).status_code == 403, url
    assert api.post("/api/v1/team/", {"name": "Agents Only"}).status_code == 403
    assert api.put(f"/api/v1/team/{team(INTL).id}", {"name": "Renamed"}).status_code == 403
    assert api.delete(f"/api/v1/team/{team(DOM).id}").status_code == 403
    assert api.post("/api/v1/founder/", {"name": "F", "email": "f@deyor.test"}).status_code == 403
    assert api.post("/api/v1/member/", {
        "first_name": "Sneaky", "last_name": "Admin", "email": "sneaky@deyor.test", "roles": [1],
        "password": "long-enough-1",
    }).status_code == 403
    assert api.put(f"/api/v1/member/{people[who].id}", {"roles": [1]}).status_code == 403
    assert counts() == before
    # what they may read
    teams = api.get("/api/v1/team/")
    assert teams.status_code == 200 and {t["name"] for t in teams.json["result"]} == {INTL, DOM}


# === 6. admin resources =====================================================================
def test_admin_teams(world, api_for):
    people, _, _, _, _ = world
    api = api_for(people["admin"])
    response = api.post("/api/v1/team/", {"name": "  Visa Desk ", "default_emails": "visa@deyor.test"})
    assert response.status_code == 201, response.json
    visa_id = response.json["id"]
    assert db.session.get(Team, visa_id).name == "Visa Desk"

    before = counts()
    for name in ("visa desk", "VISA DESK", "international operations"):
        assert_refused(api.post("/api/v1/team/", {"name": name}), "name")
    assert_refused(api.post("/api/v1/team/", {"name": ""}), "name")
    assert_refused(api.post("/api/v1/team/", {"name": "N" * 81}), "name")
    assert_refused(api.post("/api/v1/team/", {"name": "Mail", "default_emails": "nope"}), "default_emails")
    assert_refused(api.put(f"/api/v1/team/{visa_id}", {"name": "DOMESTIC operations"}), "name")
    assert_refused(api.post("/api/v1/team/", {"name": "Ops", "members": [1]}), "members")
    assert counts() == before

    response = api.put(f"/api/v1/team/{visa_id}", {"name": "VISA desk"})  # its own name, new case
    assert response.status_code == 200, response.json
    response = api.put(f"/api/v1/team/{visa_id}", {"name": "Visa & Passport Desk"})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Team, visa_id).name == "Visa & Passport Desk"
    assert api.put(f"/api/v1/team/{MISSING}", {"name": "Ghost"}).status_code == 404


def test_admin_founders(world, api_for):
    people, _, _, _, _ = world
    api = api_for(people["admin"])
    response = api.post("/api/v1/founder/", {"name": "Farah Founder", "email": "farah@deyor.test"})
    assert response.status_code == 201, response.json
    founder_id = response.json["id"]
    assert db.session.get(Founder, founder_id).active is True

    before = counts()
    assert_refused(api.post("/api/v1/founder/", {"name": "Copy", "email": "FARAH@deyor.test"}), "email")
    assert_refused(api.post("/api/v1/founder/", {"name": "Bad", "email": "not-an-email"}), "email")
    assert_refused(api.post("/api/v1/founder/", {"name": "Bad", "email": "a@b"}), "email")
    assert_refused(api.post("/api/v1/founder/", {"name": "Bad", "email": "x\x00@deyor.test"}), "email")
    assert_refused(api.post("/api/v1/founder/", {"name": "No mail"}), "email")
    assert_refused(api.post("/api/v1/founder/", {"email": "no.name@deyor.test"}), "name")
    assert_refused(api.post("/api/v1/founder/", {"name": "Bad", "email": "b@deyor.test", "active": "maybe"}), "active")
    assert counts() == before

    response = api.put(f"/api/v1/founder/{founder_id}", {"active": False})
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Founder, founder_id).active is False
    listing = api.get("/api/v1/founder/")
    assert [f["email"] for f in listing.json["result"]] == ["farah@deyor.test"]


def test_admin_members(world, api_for, app):
    people, ticket, _, _, _ = world
    api = api_for(people["admin"])
    secret = "Tr0ub4dor&3-long"
    body = {
        "first_name": "Nina", "last_name": "New", "email": "Nina.New@Deyor.test", "phone": "+91 98200 00000",
        "teams": [team(INTL).id, team(DOM).id], "roles": [role_id(app, "Lead")], "password": secret,
    }
    response = api.post("/api/v1/member/", body)
    assert response.status_code == 201, response.json
    member_id = response.json["id"]
    texts = [response.get_data(as_text=True)]
    nina = db.session.get(Person, member_id)
    assert nina.username == nina.email == "nina.new@deyor.test"
    assert {t.name for t in nina.teams} == {INTL, DOM} and [r.name for r in nina.roles] == ["Lead"]
    assert nina.password != secret

    # the new member logs in with the email and works as a Lead of both teams
    login = api_login(app, "nina.new@deyor.test", secret)
    assert login.status_code == 200
    texts.append(login.get_data(as_text=True))
    nina_api = Api(app.test_client(), login.json["access_token"])
    assert nina_api.get(f"/api/v1/ticket/{ticket.id}").status_code == 200

    texts.append(api.get(f"/api/v1/member/{member_id}").get_data(as_text=True))
    texts.append(api.get("/api/v1/member/").get_data(as_text=True))
    texts.append(api.get("/api/v1/member/_info").get_data(as_text=True))
    texts.append(api.put(f"/api/v1/member/{member_id}", {"phone": "+91 98200 11111"}).get_data(as_text=True))
    for text in texts:
        assert secret not in text
        assert nina.password not in text and "pbkdf2:" not in text and "scrypt:" not in text
    for response in (api.get(f"/api/v1/member/{member_id}"), api.get("/api/v1/member/")):
        rows = response.json["result"]
        for row in rows if isinstance(rows, list) else [rows]:
            assert "password" not in row and row["email"]

    # refused: duplicate email (any case), unknown role, unknown team, short password, no role
    before = counts()
    cases = [
        ({**body, "email": "NINA.NEW@deyor.test"}, "email"),
        ({**body, "email": "other@deyor.test", "roles": [MISSING]}, "roles"),
        ({**body, "email": "other@deyor.test", "roles": ["1"]}, "roles"),
        ({**body, "email": "other@deyor.test", "roles": [True]}, "roles"),
        ({**body, "email": "other@deyor.test", "roles": [2 ** 70]}, "roles"),
        ({**body, "email": "other@deyor.test", "roles": []}, "roles"),
        ({**body, "email": "other@deyor.test", "teams": [MISSING]}, "teams"),
        ({**body, "email": "other@deyor.test", "teams": [{"name": "Evil"}]}, "teams"),
        ({**body, "email": "other@deyor.test", "password": "short"}, "password"),
        ({**body, "email": "other@deyor.test", "password": 12345678}, "password"),
        ({**body, "email": "not-an-email"}, "email"),
        ({**body, "email": "other@deyor.test", "phone": "call me"}, "phone"),
        ({**body, "email": "other@deyor.test", "username": "other"}, "username"),
        ({key: value for key, value in body.items() if key != "password"} | {"email": "other@deyor.test"}, "password"),
    ]
    for case, field in cases:
        assert_refused(api.post("/api/v1/member/", case), field)
    assert_refused(api.put(f"/api/v1/member/{member_id}", {"email": people["agent_creator"].email.upper()}), "email")
    assert_refused(api.put(f"/api/v1/member/{member_id}", {"roles": [MISSING]}), "roles")
    assert counts() == before
    assert db.session.scalar(select(func.count()).where(func.lower(Team.name) == "evil")) == 0

    # deactivate: no more login, and the token already issued stops working
    response = api.put(f"/api/v1/member/{member_id}", {"active": False})
    assert response.status_code == 200, response.json
    assert api_login(app, "nina.new@deyor.test", secret).status_code == 401
    assert nina_api.get(f"/api/v1/ticket/{ticket.id}").status_code == 401
    assert api.delete(f"/api/v1/member/{member_id}").status_code in (404, 405)
    db.session.expire_all()
    assert db.session.get(Person, member_id) is not None


def test_notifications_are_admin_only_reading(world, api_for):
    people, _, _, _, _ = world
    agent, admin = people["agent_creator"], people["admin"]
    response = api_for(agent).post("/api/v1/ticket/", {
        "subject": "Visa rejected", "booking_id": "VIS-100", "team": team(INTL).id,
        "assignees": [people["agent_assigned"].id],
    })
    assert response.status_code == 201
    ticket_id = response.json["id"]
    listing = api_for(admin).get("/api/v1/notification/")
    assert listing.status_code == 200
    rows = [row for row in listing.json["result"] if row["ticket_id"] == ticket_id]
    assert [row["event"] for row in rows] == ["created"]
    assert people["agent_assigned"].email in rows[0]["to_addrs"]
    one = api_for(admin).get(f"/api/v1/notification/{rows[0]['id']}")
    assert one.status_code == 200 and one.json["result"]["event"] == "created"
    # read only, for the admin too
    before = counts()
    assert api_for(admin).post("/api/v1/notification/", {"event": "created"}).status_code in (404, 405)
    assert api_for(admin).put(f"/api/v1/notification/{rows[0]['id']}", {"state": "sent"}).status_code in (404, 405)
    assert api_for(admin).delete(f"/api/v1/notification/{rows[0]['id']}").status_code in (404, 405)
    assert counts() == before
    for who in ("lead_same_team", "agent_creator", "agent_assigned"):
        assert api_for(people[who]).get("/api/v1/notification/").status_code == 403
        assert api_for(people[who]).get(f"/api/v1/notification/{rows[0]['id']}").status_code == 403
