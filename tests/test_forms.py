"""The create and edit ticket forms over HTTP: the team default, the assignee picker (labels with
email, the team's people first, search as one types, active staff only, a light page), a
deactivated assignee kept until removed, and the duplicate warning's endpoint and the API's
`duplicates` (the visibility rule, the booking ID normalised as validation does)."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import STATUS_RESOLVED, Ticket
from tests.conftest import DOM, INTL, fresh, team
from tests.test_api_contract import fetch_spec, jwt_for
from tests.test_validation import edit_form, field_errors, flashes, form_values, new_ticket_form


def _assignee_select(page: str) -> str:
    return re.search(r'<select[^>]*name="assignees".*?</select>', page, re.S).group(0)


def _people(client, **args) -> list[dict]:
    response = client.get("/tickets/people/", query_string=args)
    assert response.status_code == 200
    return response.json


def _duplicates(client, booking_id: str) -> list[dict]:
    response = client.get("/tickets/duplicates/", query_string={"booking_id": booking_id})
    assert response.status_code == 200
    assert response.is_json
    return response.json["tickets"]


# --- the team default ---------------------------------------------------------------------
def test_new_ticket_starts_in_the_creators_team(make_person, client_for):
    domestic = make_person("Dev Domestic", "Agent", (DOM,))
    page = client_for(domestic).get("/tickets/add").get_data(as_text=True)
    assert form_values(page)["team"] == [str(team(DOM).id)]


def test_a_person_in_several_teams_starts_in_the_first_by_name(make_person, client_for):
    both = make_person("Bo Both", "Agent", (INTL, DOM))  # "Domestic…" sorts before "International…"
    page = client_for(both).get("/tickets/add").get_data(as_text=True)
    assert form_values(page)["team"] == [str(team(DOM).id)]


def test_someone_without_a_team_chooses_one(make_person, client_for):
    admin = make_person("Ada Admin", "Admin")
    page = client_for(admin).get("/tickets/add").get_data(as_text=True)
    assert form_values(page)["team"] == ["__None"]  # "Choose a team", not the first one unnoticed
    assert re.search(r'<option selected value="__None">Choose a team</option>', page)
    response = client_for(admin).post("/tickets/add", data=new_ticket_form(team="__None"))
    assert "required" in field_errors(response, "team")[0]
    assert db.session.query(Ticket).count() == 0


def test_teams_are_offered_by_name(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    page = client_for(agent).get("/tickets/add").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="team".*?</select>', page, re.S).group(0)
    assert re.findall(r">([^<]+)</option>", select) == ["Choose a team", DOM, INTL]


def test_a_refused_save_keeps_the_team_that_was_chosen(make_person, client_for):
    domestic = make_person("Dev Domestic", "Agent", (DOM,))
    response = client_for(domestic).post("/tickets/add", data=new_ticket_form(subject="", team=str(team(INTL).id)))
    assert response.status_code == 200 and field_errors(response, "subject")
    assert form_values(response.get_data(as_text=True))["team"] == [str(team(INTL).id)]


# --- the assignee picker ------------------------------------------------------------------------
def test_picker_labels_people_with_their_email(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    found = _people(client_for(agent), q="asha", assignable=1)
    assert found == [{"id": agent.id, "text": "Asha Agent <asha.agent@deyor.test>"}]


def test_picker_offers_the_chosen_teams_people_first(make_person, client_for):
    agent = make_person("Zoe Zeta", "Agent", (INTL,))
    domestic = [make_person(f"Anu Dom{i}", "Agent", (DOM,)) for i in range(3)]
    international = make_person("Yash Intl", "Agent", (INTL,))
    client = client_for(agent)
    everyone = [choice["id"] for choice in _people(client, assignable=1)]
    assert everyone[:3] == [person.id for person in domestic]  # by name
    intl_first = [choice["id"] for choice in _people(client, assignable=1, team=team(INTL).id)]
    assert intl_first[:2] == [international.id, agent.id]  # the team's people, by name
    assert intl_first[2:] == [person.id for person in domestic]
    dom_first = [choice["id"] for choice in _people(client, assignable=1, team=team(DOM).id)]
    assert dom_first == [*(person.id for person in domestic), international.id, agent.id]


def test_picker_searches_name_and_email_as_one_types(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    meera = make_person("Meera Krishnan", "Agent", (DOM,))
    client = client_for(agent)
    assert [c["id"] for c in _people(client, q="krish", assignable=1, team=team(INTL).id)] == [meera.id]
    assert [c["id"] for c in _people(client, q="MEERA.K", assignable=1)] == [meera.id]
    assert _people(client, q="nobody-like-this", assignable=1) == []


def test_picker_offers_only_active_staff_when_assigning(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    gone = make_person("Gita Gone", "Agent", (INTL,), active=False)
    admin = make_person("Ada Admin", "Admin")  # no team: not operations staff
    client = client_for(agent)
    offered = {choice["id"] for choice in _people(client, assignable=1)}
    assert agent.id in offered and gone.id not in offered and admin.id not in offered
    # The list's filters still find a deactivated colleague's old tickets.
    assert gone.id in {choice["id"] for choice in _people(client, q="gita")}


@pytest.mark.parametrize("bad_team", ["abc", "-1", "99999999999999999999", ""])
def test_picker_ignores_a_team_argument_that_is_not_a_team(make_person, client_for, bad_team):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    assert [c["id"] for c in _people(client_for(agent), assignable=1, team=bad_team)] == [agent.id]


def test_the_add_form_does_not_list_the_staff(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    for i in range(30):
        make_person(f"Staff{i:02d} Member", "Agent", (INTL if i % 2 else DOM,))
    response = client_for(agent).get("/tickets/add")
    page = response.get_data(as_text=True)
    select = _assignee_select(page)
    assert "<option" not in select, "no person is rendered into the picker"
    assert "staff07.member@deyor.test" not in page and "Staff07" not in page
    assert 'data-endpoint="/tickets/people/"' in select
    assert len(response.data) < 25_000, len(response.data)  # about 15 kB; a thousand people would be 80 kB more


def test_assignees_chosen_in_the_picker_are_saved(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    colleague = make_person("Bina Colleague", "Agent", (DOM,))
    client = client_for(agent)
    response = client.post("/tickets/add", data=new_ticket_form(assignees=[str(agent.id), str(colleague.id)]))
    assert response.status_code == 302, flashes(response)
    ticket = db.session.query(Ticket).one()
    assert sorted(p.id for p in ticket.assignees) == sorted([agent.id, colleague.id])
    # The edit form shows them, with their emails, as its only options.
    select = _assignee_select(client.get(f"/tickets/edit/{ticket.id}").get_data(as_text=True))
    assert "Asha Agent &lt;asha.agent@deyor.test&gt;" in select
    assert "Bina Colleague &lt;bina.colleague@deyor.test&gt;" in select
    assert select.count("<option") == 2


@pytest.mark.parametrize("who", ["deactivated", "no_team", "unknown", "not_a_number"])
def test_only_active_staff_can_be_assigned(make_person, client_for, who):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    ids = {
        "deactivated": lambda: make_person("Gita Gone", "Agent", (INTL,), active=False).id,
        "no_team": lambda: make_person("Ada Admin", "Admin").id,
        "unknown": lambda: 999999,
        "not_a_number": lambda: "abc",
    }
    response = client_for(agent).post("/tickets/add", data=new_ticket_form(assignees=[str(agent.id), str(ids[who]())]))
    assert response.status_code == 200
    errors = field_errors(response, "assignees")
    assert errors, flashes(response)
    if who == "deactivated":
        assert "Gita Gone is deactivated" in errors[0]
    else:  # nobody outside the staff is named
        assert "Ada" not in errors[0]
    assert db.session.query(Ticket).count() == 0


def test_at_most_the_limit_of_assignees(make_person, client_for):
    from app.tickets.validation import MAX_ASSIGNEES

    agent = make_person("Asha Agent", "Agent", (INTL,))
    people = [make_person(f"Pat{i:02d} Person", "Agent", (INTL,)) for i in range(MAX_ASSIGNEES)]
    response = client_for(agent).post(
        "/tickets/add", data=new_ticket_form(assignees=[str(agent.id)] + [str(p.id) for p in people]))
    assert response.status_code == 200
    assert any(f"at most {MAX_ASSIGNEES}" in error for error in field_errors(response, "assignees"))
    assert db.session.query(Ticket).count() == 0


# --- a deactivated assignee on the edit form ---------------------------------------------------
@pytest.fixture
def ticket_with_a_deactivated_assignee(make_person, make_ticket):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    gone = make_person("Gita Gone", "Agent", (INTL,))
    ticket = make_ticket(agent, INTL, assignees=[agent, gone])
    gone.active = False
    db.session.commit()
    return agent, gone, ticket


def test_the_edit_form_shows_a_deactivated_assignee_as_such(ticket_with_a_deactivated_assignee, client_for):
    agent, gone, ticket = ticket_with_a_deactivated_assignee
    page = client_for(agent).get(f"/tickets/edit/{ticket.id}").get_data(as_text=True)
    select = _assignee_select(page)
    assert f'<option value="{gone.id}" selected>Gita Gone &lt;gita.gone@deyor.test&gt; (deactivated)</option>' in select
    assert "Asha Agent &lt;asha.agent@deyor.test&gt;</option>" in select


def test_saving_unchanged_keeps_a_deactivated_assignee(ticket_with_a_deactivated_assignee, client_for):
    agent, gone, ticket = ticket_with_a_deactivated_assignee
    client = client_for(agent)
    data = edit_form(client, ticket.id)
    assert sorted(data["assignees"]) == sorted([str(agent.id), str(gone.id)])
    data["subject"] = ["Refund still not received"]
    response = client.post(f"/tickets/edit/{ticket.id}", data=data)
    assert response.status_code == 302, flashes(response)
    saved = fresh(ticket)
    assert saved.subject == "Refund still not received"
    assert sorted(p.id for p in saved.assignees) == sorted([agent.id, gone.id])
    assert not [event for event in saved.events if event.field == "assignees" and event.old_value]


def test_the_editor_can_remove_a_deactivated_assignee(ticket_with_a_deactivated_assignee, client_for):
    agent, gone, ticket = ticket_with_a_deactivated_assignee
    client = client_for(agent)
    data = edit_form(client, ticket.id)
    data["assignees"] = [str(agent.id)]
    response = client.post(f"/tickets/edit/{ticket.id}", data=data)
    assert response.status_code == 302, flashes(response)
    assert [p.id for p in fresh(ticket).assignees] == [agent.id]


def test_a_deactivated_person_cannot_be_newly_added_on_edit(make_person, make_ticket, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    gone = make_person("Gita Gone", "Agent", (INTL,), active=False)
    ticket = make_ticket(agent, INTL, assignees=[agent])
    client = client_for(agent)
    data = edit_form(client, ticket.id)
    data["assignees"] = [str(agent.id), str(gone.id)]
    response = client.post(f"/tickets/edit/{ticket.id}", data=data)
    assert response.status_code == 200
    assert any("Gita Gone is deactivated" in error for error in field_errors(response, "assignees"))
    assert [p.id for p in fresh(ticket).assignees] == [agent.id]


def test_a_deactivated_assignee_of_another_ticket_is_not_kept_here(make_person, make_ticket, client_for):
    """Staying is per ticket: being on some ticket the editor sees does not make someone assignable."""
    agent = make_person("Asha Agent", "Agent", (INTL,))
    gone = make_person("Gita Gone", "Agent", (INTL,))
    make_ticket(agent, INTL, assignees=[gone], booking_id="OLD-0001")
    ticket = make_ticket(agent, INTL, assignees=[agent], booking_id="NEW-0001")
    gone.active = False
    db.session.commit()
    client = client_for(agent)
    data = edit_form(client, ticket.id)
    data["assignees"] = [str(agent.id), str(gone.id)]
    assert client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 200
    assert [p.id for p in fresh(ticket).assignees] == [agent.id]


# --- the duplicate warning -----------------------------------------------------------------
@pytest.fixture
def booking(make_person, make_ticket):
    """Open and resolved tickets on GOA-7781, some visible to the agent, one not."""
    agent = make_person("Asha Agent", "Agent", (INTL,))
    colleague = make_person("Bina Colleague", "Agent", (INTL,))
    mine = make_ticket(agent, INTL, assignees=[colleague], subject="Hotel overbooked", booking_id="GOA-7781")
    assigned = make_ticket(colleague, INTL, assignees=[agent], subject="Room upgrade", booking_id="GOA-7781",
                           status="Waiting")
    hidden = make_ticket(colleague, INTL, subject="Colleague's own", booking_id="GOA-7781")
    resolved = make_ticket(agent, INTL, subject="Old complaint", booking_id="GOA-7781", status=STATUS_RESOLVED)
    other = make_ticket(agent, INTL, subject="Other booking", booking_id="GOA-7782")
    return agent, colleague, {"mine": mine, "assigned": assigned, "hidden": hidden, "resolved": resolved,
                              "other": other}


def test_duplicates_lists_the_open_tickets_the_person_may_see(booking, client_for):
    agent, colleague, tickets = booking
    found = _duplicates(client_for(agent), "GOA-7781")
    assert {t["id"] for t in found} == {tickets["mine"].id, tickets["assigned"].id}
    first = next(t for t in found if t["id"] == tickets["mine"].id)
    assert first == {
        "id": tickets["mine"].id, "ref": f"ESC-{tickets['mine'].id}", "url": f"/tickets/show/{tickets['mine'].id}",
        "subject": "Hotel overbooked", "status": "Open", "status_code": "Open", "assignees": ["Bina Colleague"],
    }
    # The colleague sees their own too: what one may see, nothing else.
    assert {t["id"] for t in _duplicates(client_for(colleague), "GOA-7781")} == {
        tickets["mine"].id, tickets["assigned"].id, tickets["hidden"].id}


def test_duplicates_reveals_nothing_of_a_hidden_ticket(booking, client_for, make_person):
    _, _, tickets = booking
    outsider = make_person("Uma Unrelated", "Agent", (INTL,))
    response = client_for(outsider).get("/tickets/duplicates/", query_string={"booking_id": "GOA-7781"})
    assert response.json == {"booking_id": "GOA-7781", "tickets": []}
    assert "Colleague" not in response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["goa-7781", "  GOA-7781 ", "Goa-7781"])
def test_duplicates_reads_the_booking_id_as_validation_does(booking, client_for, typed):
    agent, _, tickets = booking
    response = client_for(agent).get("/tickets/duplicates/", query_string={"booking_id": typed})
    assert response.json["booking_id"] == "GOA-7781"
    assert len(response.json["tickets"]) == 2


@pytest.mark.parametrize("typed", ["", "GO", "GOA 7781", "GOA-7781%", "GOA\x00-7781", "G" * 41, "GOA-778"])
def test_duplicates_of_what_is_no_booking_id_are_none(booking, client_for, typed):
    agent, _, _ = booking
    response = client_for(agent).get("/tickets/duplicates/", query_string={"booking_id": typed})
    assert response.status_code == 200
    assert response.json["tickets"] == []


def test_duplicates_needs_a_login(booking, app):
    response = app.test_client().get("/tickets/duplicates/?booking_id=GOA-7781")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_add_form_carries_the_warning_box(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    page = client_for(agent).get("/tickets/add").get_data(as_text=True)
    assert 'id="duplicate-warning"' in page and 'data-endpoint="/tickets/duplicates/"' in page
    assert "js/ticket_form.js" in page and "<script>" not in page


# --- the API's create answer ---------------------------------------------------------------
def test_api_create_answers_with_the_open_duplicates_the_caller_may_see(app, booking):
    agent, _, tickets = booking
    token = jwt_for(app, agent.email)
    response = app.test_client().post("/api/v1/ticket/", headers={"Authorization": f"Bearer {token}"}, json={
        "subject": "Guest asks again", "booking_id": " goa-7781 ", "team": team(INTL).id,
    })
    assert response.status_code == 201, response.json
    assert sorted(response.json["duplicates"]) == sorted([tickets["mine"].id, tickets["assigned"].id])
    assert response.json["id"] not in response.json["duplicates"]


def test_api_create_on_a_new_booking_has_no_duplicates(app, booking):
    agent, _, _ = booking
    token = jwt_for(app, agent.email)
    response = app.test_client().post("/api/v1/ticket/", headers={"Authorization": f"Bearer {token}"}, json={
        "subject": "New trip", "booking_id": "NEW-0001", "team": team(INTL).id,
    })
    assert response.status_code == 201 and response.json["duplicates"] == []


def test_the_openapi_document_describes_duplicates(app, make_person):
    admin = make_person("Ada Admin", "Admin")
    spec = fetch_spec(app, jwt_for(app, admin.email))
    created = spec["paths"]["/api/v1/ticket/"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["properties"]["duplicates"]["type"] == "array"
    assert created["properties"]["duplicates"]["items"] == {"type": "integer"}
    assert "duplicates" in created["required"]
