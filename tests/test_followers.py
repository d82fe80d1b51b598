"""Following a ticket: anyone who may see it may follow and unfollow it, on the ticket page and
over the API; a ticket one may not see is 404 for both; the page lists the followers; following
changes nothing of the ticket itself. And the visibility rule read the other way (who may see a
ticket: viewers_clause) agrees with the rule itself for the whole cast."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Person, Ticket, TicketEvent, ticket_follower
from app.tickets.visibility import viewers_clause, visible_tickets_clause
from tests.conftest import CAST_ROLES, SEES, fresh
from tests.test_api import api_for, token_for  # noqa: F401  (fixtures)


def followers_of(ticket: Ticket) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(ticket_follower.c.user_id).where(ticket_follower.c.ticket_id == ticket.id)))


@pytest.mark.parametrize("who", CAST_ROLES)
def test_who_may_follow_on_the_page(cast, client_for, who):
    people, ticket = cast
    client = client_for(people[who])
    response = client.post(f"/tickets/follow/{ticket.id}", data={"follow": "1"})
    if not SEES[who]:
        assert response.status_code == 404
        assert followers_of(ticket) == set()
        return
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/tickets/show/{ticket.id}#followers")
    assert followers_of(ticket) == {people[who].id}
    page = client.get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    assert people[who].full_name in page.split('id="follower-names"', 1)[1].split("</p>", 1)[0]
    assert 'id="follow-button" aria-pressed="true"' in page

    # twice is still one follow; unfollow removes it
    client.post(f"/tickets/follow/{ticket.id}", data={"follow": "1"})
    assert followers_of(ticket) == {people[who].id}
    client.post(f"/tickets/follow/{ticket.id}", data={"follow": "0"})
    assert followers_of(ticket) == set()
    page = client.get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    assert 'id="follow-button" aria-pressed="false"' in page


def test_following_is_not_a_change_of_the_ticket(cast, client_for):
    people, ticket = cast
    version, updated = ticket.version, ticket.updated_at
    events = db.session.scalar(select(func.count()).select_from(TicketEvent))
    client_for(people["lead_same_team"]).post(f"/tickets/follow/{ticket.id}", data={"follow": "1"})
    ticket = fresh(ticket)
    assert (ticket.version, ticket.updated_at) == (version, updated)
    assert db.session.scalar(select(func.count()).select_from(TicketEvent)) == events


def test_page_lists_every_follower_and_says_when_nobody_follows(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_creator"])
    assert "Nobody follows this ticket yet." in client.get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    for who in ("lead_same_team", "agent_assigned"):
        client_for(people[who]).post(f"/tickets/follow/{ticket.id}", data={"follow": "1"})
    page = client.get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    names = page.split('id="follower-names"', 1)[1].split("</p>", 1)[0]
    assert "Asha Assigned" in names and "Lena Lead" in names
    assert 'id="follow-button" aria-pressed="false"' in page  # the creator does not follow


def test_following_with_comment_emails_off_says_so(cast, client_for):
    people, ticket = cast
    people["agent_assigned"].comment_emails = False
    db.session.commit()
    client = client_for(people["agent_assigned"])
    page = client.post(f"/tickets/follow/{ticket.id}", data={"follow": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "Comment emails are turned off in your profile" in page


@pytest.mark.parametrize("who", CAST_ROLES)
def test_follow_over_the_api(cast, api_for, who):
    people, ticket = cast
    api = api_for(people[who])
    response = api.post(f"/api/v1/ticket/{ticket.id}/follow")
    if not SEES[who]:
        assert response.status_code == 404
        assert api.delete(f"/api/v1/ticket/{ticket.id}/follow").status_code == 404
        assert followers_of(ticket) == set()
        return
    assert response.status_code == 200 and response.json == {"following": True}
    assert api.post(f"/api/v1/ticket/{ticket.id}/follow").json == {"following": True}
    assert followers_of(ticket) == {people[who].id}
    response = api.delete(f"/api/v1/ticket/{ticket.id}/follow")
    assert response.status_code == 200 and response.json == {"following": False}
    assert followers_of(ticket) == set()
    assert api.delete(f"/api/v1/ticket/{ticket.id}/follow").json == {"following": False}


def test_follow_api_needs_a_token_and_answers_404_for_a_missing_ticket(cast, api_for, app):
    people, ticket = cast
    assert app.test_client().post(f"/api/v1/ticket/{ticket.id}/follow").status_code == 401
    assert api_for(people["admin"]).post("/api/v1/ticket/999999/follow").status_code == 404


def test_a_follower_row_goes_with_its_ticket_and_its_person(cast, client_for, make_ticket):
    people, ticket = cast
    client_for(people["agent_creator"]).post(f"/tickets/follow/{ticket.id}", data={"follow": "1"})
    db.session.delete(fresh(ticket))
    db.session.commit()
    assert followers_of(ticket) == set()


def test_viewers_clause_agrees_with_the_visibility_rule(cast, make_person, make_ticket):
    people, ticket = cast
    gone = make_person("Gita Gone", "Admin", active=False)
    other = make_ticket(people["lead_other_team"], "Domestic Operations", assignees=[people["agent_unrelated"]])
    everyone = list(people.values()) + [gone]
    for t in (ticket, other):
        viewers = set(db.session.scalars(select(Person.id).where(viewers_clause(t))))
        expected = {
            p.id for p in everyone
            if db.session.scalar(select(Ticket.id).where(Ticket.id == t.id, visible_tickets_clause(p))) is not None
        }
        assert viewers == expected, t
    assert {p.id for p in everyone if SEES.get(next((k for k, v in people.items() if v is p), ""), False)} == set(
        db.session.scalars(select(Person.id).where(viewers_clause(ticket))))


def test_ticket_page_statements_do_not_grow_with_followers(cast, client_for, make_person):
    from tests.test_queries import DETAIL_PAGE_BUDGET, count_statements

    people, ticket = cast
    client = client_for(people["admin"])
    client.get(f"/tickets/show/{ticket.id}")  # the process's caches (calendars) warm
    with count_statements() as few:
        client.get(f"/tickets/show/{ticket.id}")
    leads = [make_person(f"Lead {n}", "Lead", ("International Operations",)) for n in range(12)]
    db.session.execute(ticket_follower.insert(), [{"ticket_id": ticket.id, "user_id": p.id} for p in leads])
    names = [p.full_name for p in leads]
    ticket_id = ticket.id
    db.session.commit()
    with count_statements() as many:
        page = client.get(f"/tickets/show/{ticket_id}").get_data(as_text=True)
    assert all(name in page for name in names)
    assert len(many) == len(few) <= DETAIL_PAGE_BUDGET, (len(few), len(many))
