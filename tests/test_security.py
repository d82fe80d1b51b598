"""Holes found by probing the running app as an attacker would, each reproduced here: unbounded
and malformed list arguments, the person picker naming any account, control characters in
one-line fields, unbounded assignee lists, FAB's security API leaking SQL, and the smaller
rules (who may delete, moving a ticket out of one's own sight, history of notes, GET delete).
Passwords, sessions and tokens: tests/test_credentials.py."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, insert, select

from app.extensions import db
from app.models import Comment, Notification, Person, Ticket, TicketEvent, ticket_assignee
from app.views.base import MAX_PAGE_SIZE
from tests.conftest import DOM, INTL, PASSWORD, fresh
from tests.test_validation import field_errors, flashes, form_values, new_ticket_form

LISTS = {
    "/tickets/list/": "TicketModelView",
    "/comments/list/": "CommentModelView",
    "/users/list/": "TeamMemberView",
    "/teams/list/": "TeamModelView",
    "/founders/list/": "FounderModelView",
    "/notifications/list/": "NotificationModelView",
    "/roles/list/": "RoleModelView",
    "/permissions/list/": "PermissionModelView",
    "/viewmenus/list/": "ViewMenuModelView",
    "/permissionviews/list/": "PermissionViewModelView",
}


def bearer(app, email: str) -> dict:
    response = app.test_client().post(
        "/api/v1/security/login", json={"username": email, "password": PASSWORD, "provider": "db"})
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def rows_on_page(html: bytes) -> int:
    """Rows of the list: distinct records the rows link to (each row has a show link)."""
    return len(set(re.findall(rb'/[a-z]+/show/(\d+)', html)))


@pytest.fixture
def admin(make_person):
    return make_person("Ada Admin", "Admin")


@pytest.fixture
def many_tickets(make_person):
    """130 tickets of International Operations and a comment on each, inserted in bulk."""
    lead = make_person("Lena Lead", "Lead", (INTL,))
    team_id = lead.teams[0].id
    db.session.execute(insert(Ticket), [
        dict(subject=f"Refund {n}", booking_id=f"BULK-{n:04d}", team_id=team_id, priority="High", status="Open",
             created_by_id=lead.id, version=1)
        for n in range(130)
    ])
    db.session.commit()
    ids = db.session.scalars(select(Ticket.id)).all()
    db.session.execute(insert(Comment), [dict(ticket_id=pk, author_id=lead.id, body="Called") for pk in ids])
    db.session.commit()
    return lead


# --- 1. page size is capped on every list --------------------------------------------------
def test_a_huge_page_size_is_capped_at_the_api_cap(many_tickets, client_for, admin):
    for client in (client_for(many_tickets), client_for(admin)):
        for path, view in (("/tickets/list/", "TicketModelView"), ("/comments/list/", "CommentModelView")):
            response = client.get(f"{path}?psize_{view}=1000000")
            assert response.status_code == 200
            assert rows_on_page(response.data) == MAX_PAGE_SIZE, path


def test_a_page_size_within_the_cap_is_kept(many_tickets, client_for):
    response = client_for(many_tickets).get("/tickets/list/?psize_TicketModelView=50")
    assert rows_on_page(response.data) == 50


@pytest.mark.parametrize("path", list(LISTS))
def test_every_list_caps_the_page_size(client_for, admin, path):
    view = LISTS[path]
    response = client_for(admin).get(f"{path}?psize_{view}=1000000")
    assert response.status_code == 200
    assert rows_on_page(response.data) <= MAX_PAGE_SIZE


# --- 2. malformed paging and sorting never answer 500 ----------------------------------------
BAD_LIST_ARGS = [
    "page_{view}=abc", "page_{view}=-1", "page_{view}=99999999999999999999999", "page_{view}=1e9",
    "psize_{view}=-5", "psize_{view}=abc", "psize_{view}=0",
    "_oc_{view}=no_such_column&_od_{view}=asc", "_oc_{view}=id&_od_{view}=sideways",
    "xpage_{view}=abc",  # FAB reads any key containing page_
]


@pytest.mark.parametrize("path", list(LISTS))
def test_malformed_paging_answers_the_default_page(many_tickets, client_for, admin, path):
    client = client_for(admin)
    for template in BAD_LIST_ARGS:
        query = template.format(view=LISTS[path])
        response = client.get(f"{path}?{query}")
        assert response.status_code == 200, query


def test_a_negative_or_garbage_page_shows_the_first_page(many_tickets, client_for):
    client = client_for(many_tickets)
    first = client.get("/tickets/list/").data
    for query in ("page_TicketModelView=-1", "page_TicketModelView=abc"):
        assert rows_on_page(client.get(f"/tickets/list/?{query}").data) == rows_on_page(first) == 25


def test_sorting_only_by_listed_columns(client_for, make_person, admin):
    """FAB sorted people by their password hash when asked: an oracle on the hashes."""
    make_person("Zed Last", "Agent", (INTL,))
    client = client_for(admin)
    by_name = client.get("/users/list/").data
    by_hash = client.get("/users/list/?_oc_TeamMemberView=password&_od_TeamMemberView=asc").data
    assert by_hash == by_name or rows_on_page(by_hash) == rows_on_page(by_name)
    names = lambda page: re.findall(rb"(Ada|Zed)", page)  # noqa: E731
    assert names(by_hash) == names(by_name)


@pytest.mark.parametrize("url", ["/tickets/show/{big}", "/tickets/edit/{big}", "/users/show/{big}",
                                 "/teams/show/{big}", "/api/v1/ticket/{big}"])
def test_an_id_beyond_64_bits_is_not_found(client_for, admin, url):
    response = client_for(admin).get(url.format(big=10 ** 22))
    assert response.status_code in (401, 404)


@pytest.mark.parametrize("term", ["\x00", "a\x00b", "\x01\x02", "%" * 50])
def test_person_picker_takes_any_term(make_person, client_for, term):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    response = client_for(agent).get("/tickets/people/", query_string={"q": term})
    assert response.status_code == 200 and isinstance(response.json, list)


# --- 5. the person filters name staff only -------------------------------------------------
@pytest.mark.parametrize("path, column", [
    ("/tickets/list/", "assignees"), ("/tickets/list/", "created_by"), ("/comments/list/", "author"),
])
def test_person_filter_does_not_name_accounts_outside_the_staff(make_person, client_for, admin, path, column):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    service = make_person("Service Robot", "Admin")  # no team: not staff
    colleague = make_person("Carl Colleague", "Agent", (DOM,))
    query = f"_flt_0_{column}={admin.id}&_flt_0_{column}={service.id}&_flt_0_{column}={colleague.id}"
    page = client_for(agent).get(f"{path}?{query}").get_data(as_text=True)
    assert "Carl Colleague" in page  # staff, as the picker offers them
    for outsider in (admin, service):
        assert outsider.email not in page and outsider.first_name not in page


def test_self_service_actions_answer_alike_for_every_id(make_person, client_for, admin):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    client = client_for(agent)
    answers = {
        pk: client.post(f"/users/action/userinfoedit/{pk}")
        for pk in (admin.id, agent.id, 999999)
    }
    assert {(r.status_code, r.headers.get("Location")) for r in answers.values()} == {(302, "/userinfoeditview/form")}


# --- 7. control characters in one-line fields -----------------------------------------------
@pytest.mark.parametrize("field, value", [
    ("subject", "Refund\r\nBcc: everyone@deyor.test"), ("subject", "Refund\u2028later"),
    ("customer_name", "Priya\nNair"), ("booking_id", "DEY\t100"),
])
def test_api_refuses_control_characters_in_one_line_fields(app, make_person, field, value):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    body = {"subject": "Refund", "booking_id": "DEY-100", "team": fresh(agent).teams[0].id, field: value}
    before = db.session.query(Ticket).count()
    response = app.test_client().post("/api/v1/ticket/", json=body, headers=bearer(app, agent.email))
    assert response.status_code == 422 and field in response.json["message"], response.json
    assert db.session.query(Ticket).count() == before


def test_multi_line_fields_keep_their_line_breaks(app, make_person):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    body = {"subject": "Refund", "booking_id": "DEY-100", "team": fresh(agent).teams[0].id,
            "description": "Line one\r\n\tLine two"}
    response = app.test_client().post("/api/v1/ticket/", json=body, headers=bearer(app, agent.email))
    assert response.status_code == 201
    assert db.session.get(Ticket, response.json["id"]).description == "Line one\r\n\tLine two"


def test_a_stored_subject_with_line_breaks_still_sends_its_emails(app, make_person, make_ticket, mail_to_smtp):
    """Rows written before the rule (or by a script) are folded to one line when mailed."""
    from app.notifications import sender

    agent = make_person("Asha Agent", "Agent", (INTL,))
    make_ticket(agent, INTL, subject="Refund\r\nBcc: everyone@deyor.test\x07", notify_emails="ops@deyor.test")
    outcome = sender.flush()
    assert outcome.get("sent") == 1, outcome
    [mail] = mail_to_smtp.wait_for(1)
    assert "Refund Bcc: everyone@deyor.test" in mail.message["Subject"]
    assert "everyone@deyor.test" not in mail.rcpt_tos and mail.message["Bcc"] is None


# --- 8. assignees: capped, resolved in one query ----------------------------------------------
def _count_statements(app):
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    return statements, lambda: event.remove(db.engine, "before_cursor_execute", record)


def test_api_refuses_more_than_twenty_assignees_without_a_query_each(app, make_person):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    headers = bearer(app, agent.email)
    base = {"subject": "Refund", "booking_id": "DEY-100", "team": fresh(agent).teams[0].id}
    statements, stop = _count_statements(app)
    try:
        response = app.test_client().post("/api/v1/ticket/", json={**base, "assignees": list(range(1, 10_001))},
                                          headers=headers)
    finally:
        stop()
    assert response.status_code == 422 and "assignees" in response.json["message"]
    assert "20" in str(response.json["message"]["assignees"])
    assert len(statements) < 10, len(statements)
    assert db.session.query(Ticket).count() == 0


def test_twenty_assignees_cost_no_more_queries_than_one(app, make_person):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    people = [make_person(f"Staff Member{n}", "Agent", (INTL,)) for n in range(19)] + [agent]
    headers = bearer(app, agent.email)
    base = {"subject": "Refund", "booking_id": "DEY-100", "team": fresh(agent).teams[0].id}
    counts = []
    for assignees in ([agent.id], [p.id for p in people]):
        statements, stop = _count_statements(app)
        try:
            response = app.test_client().post("/api/v1/ticket/", json={**base, "assignees": assignees}, headers=headers)
        finally:
            stop()
        assert response.status_code == 201, response.json
        counts.append(len([s for s in statements if "FROM ab_user" in s and "person_team" in s]))
    assert counts[0] == counts[1], counts


def test_form_refuses_more_than_twenty_assignees(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    people = [make_person(f"Staff Member{n}", "Agent", (INTL,)) for n in range(21)]
    data = new_ticket_form(assignees=[str(p.id) for p in people])
    response = client_for(agent).post("/tickets/add", data=data)
    assert response.status_code == 200
    assert any("at most 20" in error for error in field_errors(response, "assignees"))
    assert db.session.query(Ticket).count() == 0


# --- 10. FAB's security API never answers with SQL --------------------------------------------
def test_role_api_refusal_carries_no_sql(app, admin):
    headers = bearer(app, admin.email)
    response = app.test_client().post("/api/v1/security/roles/", json={"name": "Agent"}, headers=headers)
    assert response.status_code == 422
    text = response.get_data(as_text=True).lower()
    for leak in ("insert", "unique", "duplicate", "ab_role", "constraint", "psycopg2", "sqlite", "sql"):
        assert leak not in text, text


# --- 12. decided rules ------------------------------------------------------------------------
@pytest.fixture
def crossed(make_person, make_ticket):
    """A Domestic lead assigned to an International ticket, and the International lead."""
    dom_lead = make_person("Dora Lead", "Lead", (DOM,))
    intl_lead = make_person("Ian Lead", "Lead", (INTL,))
    creator = make_person("Carl Creator", "Agent", (INTL,))
    ticket = make_ticket(creator, INTL, assignees=[dom_lead], booking_id="CROSS-1")
    return dom_lead, intl_lead, ticket


def test_a_lead_may_not_delete_another_teams_ticket_they_are_assigned_to(app, client_for, crossed):
    dom_lead, intl_lead, ticket = crossed
    response = client_for(dom_lead).post(f"/tickets/delete/{ticket.id}", follow_redirects=True)
    assert "lead of the ticket's team" in " ".join(flashes(response, "danger"))
    assert fresh(ticket) is not None
    api = app.test_client().delete(f"/api/v1/ticket/{ticket.id}", headers=bearer(app, dom_lead.email))
    assert api.status_code == 403 and fresh(ticket) is not None


def test_the_lead_of_the_tickets_team_may_delete_it(app, client_for, crossed):
    _, intl_lead, ticket = crossed
    ticket_id = ticket.id
    assert client_for(intl_lead).post(f"/tickets/delete/{ticket_id}").status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket_id) is None


def test_get_delete_is_405_for_every_id(client_for, crossed, admin):
    _, _, ticket = crossed
    client = client_for(admin)
    for pk in (ticket.id, 999999):
        response = client.get(f"/tickets/delete/{pk}")
        assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert fresh(ticket) is not None
    assert client.get("/teams/delete/1").status_code == 405


def _edit(client, ticket_id: int, **changes) -> tuple:
    data = form_values(client.get(f"/tickets/edit/{ticket_id}").get_data(as_text=True))
    data.update(changes)
    return client.post(f"/tickets/edit/{ticket_id}", data=data, follow_redirects=True)


def test_moving_a_ticket_out_of_ones_sight_asks_first(make_person, make_ticket, client_for):
    lead = make_person("Ian Lead", "Lead", (INTL,))
    ticket = make_ticket(make_person("Carl Creator", "Agent", (INTL,)), INTL)
    client = client_for(lead)
    dom_id = str(db.session.scalar(select(Ticket.team_id).where(Ticket.id != ticket.id)) or "")
    from tests.conftest import team

    dom_id = str(team(DOM).id)
    refused = _edit(client, ticket.id, team=[dom_id], subject=["Moved"])
    assert "no longer see this ticket" in " ".join(flashes(refused, "danger"))
    stored = fresh(ticket)
    assert (stored.team.name, stored.subject) == (INTL, "Refund not received")
    moved = _edit(client, ticket.id, team=[dom_id], move_out_of_sight=["y"])
    assert fresh(ticket).team.name == DOM
    assert moved.request.path == "/tickets/list/"
    assert client.get(f"/tickets/show/{ticket.id}").status_code == 404


def test_an_agent_unassigning_themselves_is_asked_too(make_person, make_ticket, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    ticket = make_ticket(make_person("Carl Creator", "Agent", (INTL,)), INTL, assignees=[agent])
    refused = _edit(client_for(agent), ticket.id, assignees=[])
    assert "no longer see this ticket" in " ".join(flashes(refused, "danger"))
    assert [p.id for p in fresh(ticket).assignees] == [agent.id]


def test_an_edit_that_keeps_sight_needs_no_confirmation(make_person, make_ticket, client_for):
    lead = make_person("Ian Lead", "Lead", (INTL, DOM))
    ticket = make_ticket(lead, INTL)
    from tests.conftest import team

    _edit(client_for(lead), ticket.id, team=[str(team(DOM).id)])
    assert fresh(ticket).team.name == DOM


def test_api_move_out_of_sight_needs_the_flag(app, make_person, make_ticket):
    from tests.conftest import team

    lead = make_person("Ian Lead", "Lead", (INTL,))
    ticket = make_ticket(make_person("Carl Creator", "Agent", (INTL,)), INTL)
    headers = bearer(app, lead.email)
    response = app.test_client().put(f"/api/v1/ticket/{ticket.id}", json={"team": team(DOM).id}, headers=headers)
    assert response.status_code == 422 and "move_out_of_sight" in response.json["message"]
    assert fresh(ticket).team.name == INTL
    response = app.test_client().put(f"/api/v1/ticket/{ticket.id}", json={"team": team(DOM).id,
                                                                         "move_out_of_sight": True}, headers=headers)
    assert response.status_code == 200 and fresh(ticket).team.name == DOM


def test_team_changes_and_notes_edits_are_in_the_history(app, make_person, make_ticket):
    from tests.conftest import team

    lead = make_person("Ian Lead", "Lead", (INTL, DOM))
    ticket = make_ticket(lead, INTL)
    headers = bearer(app, lead.email)
    client = app.test_client()
    assert client.put(f"/api/v1/ticket/{ticket.id}", json={"status": "Resolved", "resolution_notes": "Refunded"},
                      headers=headers).status_code == 200
    assert client.put(f"/api/v1/ticket/{ticket.id}", json={"resolution_notes": "Refunded in full"},
                      headers=headers).status_code == 200
    assert client.put(f"/api/v1/ticket/{ticket.id}", json={"team": team(DOM).id}, headers=headers).status_code == 200
    assert client.put(f"/api/v1/ticket/{ticket.id}", json={"status": "Open", "reopen_reason": "Charged twice"},
                      headers=headers).status_code == 200
    events = [(e.field, e.old_value, e.new_value) for e in db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))]
    assert ("resolution_notes", "Refunded", "Refunded in full") in events
    assert ("team", INTL, DOM) in events
    # Reopening clears the notes; the history keeps what they said.
    assert ("resolution_notes", "Refunded in full", None) in events
