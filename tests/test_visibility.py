"""The visibility matrix: every ticket route × every kind of person.

Ticket: International Operations, created by agent_creator, assigned to agent_assigned.
"""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Comment, Ticket
from tests.conftest import CAST_ROLES, DOM, INTL, SEES, fresh

ROLES = CAST_ROLES


def record_count(html: bytes) -> int:
    match = re.search(rb'data-record-count="(\d+)"', html)
    return int(match.group(1)) if match else 0


@pytest.fixture
def world(cast, make_ticket):
    people, ticket = cast
    # A second ticket nobody of the cast but admin and the Domestic lead may see.
    other = make_ticket(people["lead_other_team"], DOM, subject="Train cancelled", booking_id="DOM-5550")
    comment = Comment(ticket=ticket, author=people["agent_creator"], body="Called the hotel manager")
    db.session.add(comment)
    db.session.commit()
    return people, ticket, other, comment


@pytest.mark.parametrize("who", ROLES)
def test_show_and_edit_pages(world, client_for, who):
    people, ticket, _, _ = world
    client = client_for(people[who])
    expected = 200 if SEES[who] else 404
    assert client.get(f"/tickets/show/{ticket.id}").status_code == expected
    assert client.get(f"/tickets/edit/{ticket.id}").status_code == expected
    # A missing ticket looks exactly like a hidden one.
    assert client.get("/tickets/show/999999").status_code == 404
    assert client.get("/tickets/show/not-a-number").status_code == 404


@pytest.mark.parametrize("who", ROLES)
def test_list_search_filter_and_count(world, client_for, who):
    people, ticket, other, _ = world
    client = client_for(people[who])
    listing = client.get("/tickets/list/").data
    assert (b"GOA-7781" in listing) == SEES[who]
    expected_count = SEES[who] + (who in ("admin", "lead_other_team"))
    assert record_count(listing) == expected_count
    assert (b"DOM-5550" in listing) == (who in ("admin", "lead_other_team"))

    for query in ("search=goa-7781", "search=PRIYA", "search=overbooked", "_flt_0_booking_id=GOA-7781"):
        answer = client.get(f"/tickets/list/?{query}")
        if query.startswith("_flt_"):  # a filter lists
            assert (b"Hotel overbooked in Goa" in answer.data) == SEES[who], query
            assert record_count(answer.data) == int(SEES[who]), query
        elif SEES[who]:  # a search with one hit opens it directly
            assert answer.headers["Location"].endswith(f"/tickets/show/{ticket.id}"), query
        else:
            assert b"Hotel overbooked in Goa" not in answer.data and record_count(answer.data) == 0, query


@pytest.mark.parametrize("who", ROLES)
def test_my_tickets_lists_only_assigned(world, client_for, who):
    people, ticket, _, _ = world
    page = client_for(people[who]).get("/tickets/mine/", follow_redirects=True).data
    assert (b"GOA-7781" in page) == (who == "agent_assigned")


@pytest.mark.parametrize("who", ROLES)
def test_comment_list_and_show(world, client_for, who):
    people, _, _, comment = world
    client = client_for(people[who])
    assert (b"Called the hotel manager" in client.get("/comments/list/").data) == SEES[who]
    assert (b"Called the hotel manager" in client.get("/comments/list/?_flt_2_body=hotel").data) == SEES[who]
    assert client.get(f"/comments/show/{comment.id}").status_code == (200 if SEES[who] else 404)


@pytest.mark.parametrize("who", ROLES)
def test_add_comment(world, client_for, who):
    people, ticket, _, _ = world
    response = client_for(people[who]).post(f"/tickets/comment/{ticket.id}", data={"body": f"note by {who}"})
    saved = db.session.query(Comment).filter_by(body=f"note by {who}").count()
    if SEES[who]:
        assert response.status_code == 302 and saved == 1
    else:
        assert response.status_code == 404 and saved == 0


@pytest.mark.parametrize("who", ROLES)
def test_status_change_and_edit_post(world, client_for, who):
    people, ticket, _, _ = world
    client = client_for(people[who])
    response = client.post(f"/tickets/status/{ticket.id}", data={"status": "In Progress", "version": ticket.version})
    assert response.status_code == (302 if SEES[who] else 404)
    assert fresh(ticket).status == ("In Progress" if SEES[who] else "Open")

    current = fresh(ticket)
    response = client.post(
        f"/tickets/edit/{ticket.id}",
        data={"subject": f"edited by {who}", "booking_id": "GOA-7781", "team": current.team_id,
              "priority": "Low", "expected_version": current.version,
              "assignees": [person.id for person in current.assignees]},
    )
    assert response.status_code == (302 if SEES[who] else 404)
    assert (fresh(ticket).subject == f"edited by {who}") == SEES[who]


@pytest.mark.parametrize(
    "who,expected",
    [
        ("admin", 302), ("lead_same_team", 302), ("lead_other_team", 404),
        # Agents never delete: refused for every ticket alike, visible or not.
        ("agent_assigned", 403), ("agent_creator", 403), ("agent_unrelated", 403),
    ],
)
def test_delete(world, client_for, who, expected):
    people, ticket, _, _ = world
    client = client_for(people[who])
    ticket_id = ticket.id
    assert client.post(f"/tickets/delete/{ticket_id}").status_code == expected
    db.session.expire_all()
    assert (db.session.get(Ticket, ticket_id) is None) == (expected == 302)
    if who.startswith("agent"):
        assert client.post("/tickets/delete/999999").status_code == 403


@pytest.mark.parametrize("who", ROLES)
def test_bulk_action_route(world, client_for, who):
    """FAB's action route loads rows by id; ours goes through the visibility rule."""
    people, ticket, _, _ = world
    client = client_for(people[who])
    assert client.post("/tickets/action_post", data={"action": "nope", "rowid": [ticket.id]}).status_code == 404
    assert client.post(f"/tickets/action/nope/{ticket.id}").status_code == 404
    assert client.get(f"/tickets/action/nope/{ticket.id}").status_code == 405


def test_get_never_deletes(world, client_for):
    people, ticket, _, _ = world
    ticket_id = ticket.id
    client_for(people["admin"]).get(f"/tickets/delete/{ticket_id}")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket_id) is not None


def test_lead_sees_whole_team_but_not_other_teams(make_person, make_ticket, client_for):
    lead = make_person("Lila Lead", "Lead", (INTL,))
    agent = make_person("Ari Agent", "Agent", (INTL,))
    dom_agent = make_person("Dev Agent", "Agent", (DOM,))
    make_ticket(agent, INTL, booking_id="INT-0001")
    make_ticket(dom_agent, DOM, booking_id="DOM-0001", assignees=[agent])
    page = client_for(lead).get("/tickets/list/").data
    assert b"INT-0001" in page and b"DOM-0001" not in page
    # The agent sees the Domestic ticket only because they are assigned to it.
    page = client_for(agent).get("/tickets/list/").data
    assert b"INT-0001" in page and b"DOM-0001" in page
    assert record_count(client_for(dom_agent).get("/tickets/list/").data) == 1


def test_deactivated_person_cannot_log_in_or_see(make_person, make_ticket, app):
    from tests.conftest import login

    agent = make_person("Gone Agent", "Agent", (INTL,), active=False)
    response = login(app.test_client(), agent.email)
    assert "/login" in response.headers["Location"]


def test_anonymous_is_sent_to_login(world, app):
    people, ticket, _, _ = world
    client = app.test_client()
    for url in ("/tickets/list/", f"/tickets/show/{ticket.id}", "/comments/list/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert client.post(f"/tickets/comment/{ticket.id}", data={"body": "x"}).status_code == 302
    assert db.session.query(Comment).filter_by(body="x").count() == 0


def test_assignee_choices_are_active_staff_only(make_person, client_for):
    agent = make_person("Ari Agent", "Agent", (INTL,))
    make_person("Old Timer", "Agent", (INTL,), active=False)
    make_person("Service Admin", "Admin")  # no team: not operations staff
    # The form's picker asks as one types (tests/test_forms.py): its choices are these.
    found = client_for(agent).get("/tickets/people/?assignable=1&q=").json
    names = [choice["text"] for choice in found]
    assert any(name.startswith("Ari Agent <") for name in names)
    assert not any(name.startswith(("Old Timer", "Service Admin")) for name in names)


def test_deactivation_ends_an_open_session(world, client_for):
    people, ticket, _, _ = world
    agent = people["agent_creator"]
    client = client_for(agent)
    assert client.get(f"/tickets/show/{ticket.id}").status_code == 200
    agent.active = False
    db.session.commit()
    response = client.get(f"/tickets/show/{ticket.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
