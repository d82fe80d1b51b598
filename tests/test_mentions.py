"""@mentions: parsing (pure), the picker's suggestions (only people who may see the ticket; 404
for a ticket one may not see), a comment mentioning anyone else refused with a message naming
them and the typed text kept, the same rule over the API and for a reopen reason."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import STATUS_RESOLVED, Comment
from app.tickets.mentions import (
    HIDDEN,
    INACTIVE,
    UNKNOWN,
    Refusal,
    mentioned_emails,
    refusals,
)
from tests.conftest import CAST_ROLES, SEES, fresh
from tests.test_api import api_for, token_for  # noqa: F401  (fixtures)


# --- parsing -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("@asha@deyor.test please call", ["asha@deyor.test"]),
    ("cc @Asha.Assigned@Deyor.Test, @lena.lead@deyor.test.", ["asha.assigned@deyor.test", "lena.lead@deyor.test"]),
    ("(@a.b+ops@mail.deyor.co.in)", ["a.b+ops@mail.deyor.co.in"]),
    ("@asha@deyor.test and again @ASHA@deyor.test", ["asha@deyor.test"]),
    ("line one\n@asha@deyor.test: see above", ["asha@deyor.test"]),
    # not mentions: a plain address, an @ inside a word or address, no domain dot, a handle
    ("write to priya@example.com", []),
    ("foo@@asha@deyor.test", []),
    ("x@asha@deyor.test", []),
    ("@asha@localhost", []),
    ("@asha please", []),
    ("", []),
    (None, []),
])
def test_mentions_are_parsed(text, expected):
    assert mentioned_emails(text) == expected


class P:
    def __init__(self, pk, email, active=True, name="Some One"):
        self.id, self.email, self.active, self.full_name = pk, email, active, name


def test_refusals_name_each_mention_that_may_not_stand():
    people = {"a@x.test": P(1, "a@x.test"), "b@x.test": P(2, "b@x.test", active=False, name="Bo"),
              "c@x.test": P(3, "c@x.test", name="Cy")}
    emails = ["a@x.test", "b@x.test", "c@x.test", "d@x.test"]
    assert refusals(emails, people, viewer_ids={1}) == [
        Refusal("b@x.test", "Bo", INACTIVE), Refusal("c@x.test", "Cy", HIDDEN), Refusal("d@x.test", "", UNKNOWN)]
    assert refusals(emails[:1], people, viewer_ids={1}) == []


# --- the picker's suggestions ----------------------------------------------------------------
@pytest.mark.parametrize("who", CAST_ROLES)
def test_picker_offers_only_people_who_may_see_the_ticket(cast, client_for, make_person, who):
    people, ticket = cast
    make_person("Gita Gone", "Admin", active=False)
    response = client_for(people[who]).get(f"/tickets/mentions/{ticket.id}")
    if not SEES[who]:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    offered = {row["email"] for row in response.json}
    assert offered == {people[w].email for w in CAST_ROLES if SEES[w]}
    row = next(r for r in response.json if r["email"] == people["agent_assigned"].email)
    assert row == {"id": people["agent_assigned"].id, "name": "Asha Assigned",
                   "email": people["agent_assigned"].email, "insert": "@" + people["agent_assigned"].email}


def test_picker_finds_by_name_or_email_as_one_types(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_creator"])
    assert [r["name"] for r in client.get(f"/tickets/mentions/{ticket.id}?q=len").json] == ["Lena Lead"]
    assert [r["name"] for r in client.get(f"/tickets/mentions/{ticket.id}?q=ASHA.ass").json] == ["Asha Assigned"]
    # Uma may not see the ticket: never offered, whatever is typed
    assert client.get(f"/tickets/mentions/{ticket.id}?q=uma").json == []
    assert client.get(f"/tickets/mentions/{ticket.id}?q=%25").json == []  # a LIKE wildcard is literal
    assert client.get("/tickets/mentions/999999").status_code == 404
    assert client.get("/tickets/mentions/abc").status_code == 404


# --- posting -----------------------------------------------------------------------------------
def comments(ticket) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Comment.body).where(Comment.ticket_id == ticket.id)))


def test_a_comment_mentioning_someone_who_may_see_the_ticket_is_posted(cast, client_for):
    people, ticket = cast
    body = f"@{people['lead_same_team'].email} please approve the refund"
    response = client_for(people["agent_assigned"]).post(f"/tickets/comment/{ticket.id}", data={"body": body})
    assert response.status_code == 302
    assert comments(ticket) == [body]


@pytest.mark.parametrize("mention, says", [
    ("uma.unrelated@deyor.test", "Uma Unrelated (uma.unrelated@deyor.test) may not see this ticket"),
    ("otto.lead@deyor.test", "Otto Lead (otto.lead@deyor.test) may not see this ticket"),
    ("gita.gone@deyor.test", "Gita Gone (gita.gone@deyor.test) is no longer active"),
    ("nobody@deyor.test", "nobody here has the address nobody@deyor.test"),
])
def test_a_comment_mentioning_anyone_else_is_refused_keeping_the_text(cast, client_for, make_person, mention, says):
    people, ticket = cast
    make_person("Gita Gone", "Admin", active=False)
    body = f"Refund approved?\n@{people['lead_same_team'].email} and @{mention} — please check"
    response = client_for(people["agent_assigned"]).post(f"/tickets/comment/{ticket.id}", data={"body": body})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert says in page and "Not posted" in page
    assert "Lena Lead" not in page.split("Not posted", 1)[1].split("</div>", 1)[0]  # only the refused are named
    typed = page.split('id="comment-body"', 1)[1].split("</textarea>", 1)[0]
    assert f"@{mention} — please check" in typed and "Refund approved?" in typed
    assert comments(ticket) == []


def test_every_refused_mention_is_named_at_once(cast, client_for):
    people, ticket = cast
    body = "@uma.unrelated@deyor.test @ghost@deyor.test"
    page = client_for(people["admin"]).post(f"/tickets/comment/{ticket.id}", data={"body": body}).get_data(as_text=True)
    assert "Uma Unrelated (uma.unrelated@deyor.test) may not see this ticket" in page
    assert "nobody here has the address ghost@deyor.test" in page


@pytest.mark.parametrize("who", ["agent_assigned", "admin"])
def test_the_api_refuses_the_same_mentions(cast, api_for, who):
    people, ticket = cast
    api = api_for(people[who])
    response = api.post("/api/v1/comment/", {"ticket": ticket.id, "body": "ping @uma.unrelated@deyor.test"})
    assert response.status_code == 422
    assert "Uma Unrelated (uma.unrelated@deyor.test) may not see this ticket" in response.json["message"]["body"][0]
    assert comments(ticket) == []
    ok = api.post("/api/v1/comment/", {"ticket": ticket.id, "body": f"ping @{people['agent_creator'].email}"})
    assert ok.status_code == 201
    assert comments(ticket) == [f"ping @{people['agent_creator'].email}"]


def test_a_reopen_reason_mentioning_an_outsider_is_refused(cast, client_for, api_for):
    people, ticket = cast
    ticket.status, ticket.resolution_notes = STATUS_RESOLVED, "Refunded"
    db.session.commit()
    ticket = fresh(ticket)
    client = client_for(people["agent_assigned"])
    response = client.post(f"/tickets/status/{ticket.id}", data={
        "status": "Open", "version": ticket.version, "reopen_reason": "@uma.unrelated@deyor.test says not refunded"})
    assert response.status_code == 422
    assert "Uma Unrelated (uma.unrelated@deyor.test) may not see this ticket" in response.get_data(as_text=True)
    assert fresh(ticket).status == STATUS_RESOLVED
    response = api_for(people["agent_assigned"]).put(f"/api/v1/ticket/{ticket.id}", {
        "status": "Open", "reopen_reason": "@uma.unrelated@deyor.test says not refunded"})
    assert response.status_code == 422 and "reopen_reason" in response.json["message"]
    assert fresh(ticket).status == STATUS_RESOLVED
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0
