"""Handing over a leaver's open tickets: found at deactivation, given to one or several people
through the workspace's bulk path (history and an email per ticket, on a real SMTP server), or
left for the leads, who see them in Unassigned marked "assignee deactivated"."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, Person, Ticket, TicketEvent
from app.notifications import sender
from tests.conftest import DOM, INTL, fresh
from tests.test_queries import count_statements


@pytest.fixture
def office(make_person, make_ticket):
    admin = make_person("Ada Admin", "Admin")
    leaver = make_person("Lee Leaver", "Agent", (INTL,))
    asha = make_person("Asha Agent", "Agent", (INTL,))
    bo = make_person("Bo Agent", "Agent", (DOM,))
    lead = make_person("Lena Lead", "Lead", (INTL,))
    creator = make_person("Carl Creator", "Agent", (INTL,))
    tickets = [make_ticket(creator, INTL, assignees=[leaver], subject=f"Open {n}", booking_id=f"HO-{n}")
               for n in range(3)]
    resolved = make_ticket(creator, INTL, assignees=[leaver], subject="Done", booking_id="HO-9",
                           status="Resolved")
    db.session.query(Notification).delete()  # the creation emails: not what these tests read
    db.session.commit()
    return {"admin": admin, "leaver": leaver, "asha": asha, "bo": bo, "lead": lead, "creator": creator,
            "tickets": tickets, "resolved": resolved}


def _edit_form(person: Person, **changes) -> dict:
    form = {"first_name": person.first_name, "last_name": person.last_name, "email": person.email,
            "phone": person.phone or "", "teams": [str(t.id) for t in person.teams],
            "roles": [str(r.id) for r in person.roles], "active": "y"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def _versions(tickets) -> dict:
    return {f"version_{t.id}": str(fresh(t).version) for t in tickets}


def test_deactivating_someone_with_open_tickets_leads_to_their_handover(office, client_for):
    client = client_for(office["admin"])
    leaver = office["leaver"]
    response = client.post(f"/users/edit/{leaver.id}", data=_edit_form(leaver, active=None))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/users/handover/{leaver.id}"
    assert fresh(leaver).active is False
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    for ticket in office["tickets"]:
        assert f"ESC-{ticket.id}" in page
    assert f"ESC-{office['resolved'].id}<" not in page  # resolved tickets stay as they are
    options = re.search(r'<select multiple[^>]*name="people".*?</select>', page, re.S).group(0)
    assert office["asha"].email in options and office["bo"].email in options
    assert leaver.email not in options  # nor anyone who cannot be assigned
    assert office["admin"].email not in options


def test_deactivating_someone_without_open_tickets_returns_to_the_list(office, client_for):
    asha = office["asha"]
    response = client_for(office["admin"]).post(f"/users/edit/{asha.id}", data=_edit_form(asha, active=None))
    assert response.headers["Location"] == "/users/list/"


def test_the_deactivate_action_also_offers_the_handover(office, client_for):
    leaver = office["leaver"]
    response = client_for(office["admin"]).post(
        "/users/action_post", data={"action": "deactivate", "rowid": [str(leaver.id), str(office["asha"].id)]})
    assert response.headers["Location"] == f"/users/handover/{leaver.id}"


def test_handover_to_one_person_writes_history_and_emails_each_ticket(office, client_for, mail_to_smtp):
    leaver, asha, tickets = office["leaver"], office["asha"], office["tickets"]
    leaver.active = False
    db.session.commit()
    client = client_for(office["admin"])
    response = client.post(f"/users/handover/{leaver.id}",
                           data={"do": "reassign", "people": [str(asha.id)], "mode": "all", **_versions(tickets)})
    assert response.status_code == 302 and response.headers["Location"] == "/users/list/"
    for ticket in tickets:
        assert [p.id for p in fresh(ticket).assignees] == [asha.id]
        events = db.session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.field == "assignees")).all()
        assert [(e.old_value, e.new_value, e.actor_id) for e in events][-1] == (
            "Lee Leaver", "Asha Agent", office["admin"].id)
    assert [p.id for p in fresh(office["resolved"]).assignees] == [leaver.id]
    assert sender.flush() == {"sent": 3}
    mails = mail_to_smtp.wait_for(3)
    assert len(mails) == 3 and all(m.rcpt_tos == [asha.email] for m in mails)
    subjects = sorted(m.message["Subject"] for m in mails)
    assert all(f"ESC-{t.id}" in " ".join(subjects) for t in tickets)


def test_handover_shared_out_among_several_people(office, client_for, mail_to_smtp):
    leaver, asha, bo, tickets = office["leaver"], office["asha"], office["bo"], office["tickets"]
    client = client_for(office["admin"])
    response = client.post(f"/users/handover/{leaver.id}", data={
        "do": "reassign", "people": [str(asha.id), str(bo.id)], "mode": "share", **_versions(tickets)})
    assert response.status_code == 302
    owners = [[p.id for p in fresh(t).assignees] for t in tickets]
    assert owners == [[asha.id], [bo.id], [asha.id]]
    assert sender.flush() == {"sent": 3}
    rcpts = sorted(m.rcpt_tos[0] for m in mail_to_smtp.wait_for(3))
    assert rcpts == sorted([asha.email, bo.email, asha.email])


def test_handover_to_everyone_chosen(office, client_for):
    leaver, asha, bo, tickets = office["leaver"], office["asha"], office["bo"], office["tickets"]
    client_for(office["admin"]).post(f"/users/handover/{leaver.id}", data={
        "do": "reassign", "people": [str(asha.id), str(bo.id)], "mode": "all", **_versions(tickets)})
    for ticket in tickets:
        assert {p.id for p in fresh(ticket).assignees} == {asha.id, bo.id}


@pytest.mark.parametrize("people, message", [
    ([], "choose at least one person"),
    (["leaver"], "cannot be assigned"),
    (["admin"], "cannot be assigned"),  # no team: not staff
    (["x"], "at most"),
])
def test_bad_choices_change_nothing_and_say_why(office, client_for, people, message):
    leaver, tickets = office["leaver"], office["tickets"]
    ids = [str(office[p].id) if p in office else p for p in people]
    response = client_for(office["admin"]).post(f"/users/handover/{leaver.id}",
                                                data={"do": "reassign", "people": ids, **_versions(tickets)})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert all([p.id for p in fresh(t).assignees] == [leaver.id] for t in tickets)
    assert db.session.query(TicketEvent).filter(TicketEvent.field == "assignees",
                                                TicketEvent.new_value == "").count() == 0


def test_a_ticket_changed_meanwhile_refuses_everything(office, client_for):
    leaver, asha, tickets = office["leaver"], office["asha"], office["tickets"]
    versions = _versions(tickets)
    fresh(tickets[1]).priority = "Urgent"
    db.session.commit()
    response = client_for(office["admin"]).post(f"/users/handover/{leaver.id}",
                                                data={"do": "reassign", "people": [str(asha.id)], **versions})
    assert response.status_code == 422 and f"ESC-{tickets[1].id}" in response.get_data(as_text=True)
    assert all([p.id for p in fresh(t).assignees] == [leaver.id] for t in tickets)


def test_leaving_them_shows_the_badge_to_leads_in_unassigned(office, client_for):
    leaver, tickets = office["leaver"], office["tickets"]
    admin = client_for(office["admin"])
    admin.post(f"/users/edit/{leaver.id}", data=_edit_form(leaver, active=None))
    response = admin.post(f"/users/handover/{leaver.id}", data={"do": "leave"})
    assert response.status_code == 302
    assert all([p.id for p in fresh(t).assignees] == [leaver.id] for t in tickets)

    lead = client_for(office["lead"])
    page = lead.get("/tickets/list/?_flt_0_team=mine&_flt_0_assignees=none&_flt_0_status=Open"
                    "&_flt_0_status=In+Progress&_flt_0_status=Waiting").get_data(as_text=True)
    for ticket in tickets:
        assert f"ESC-{ticket.id}<" in page
    assert page.count('class="label label-warning assignee-deactivated"') == len(tickets)
    assert "assignee deactivated" in page
    # The resolved one is no one's work: no badge, and not in the queue.
    assert f"ESC-{office['resolved'].id}<" not in page


def test_active_assignees_keep_tickets_out_of_unassigned(office, client_for, make_ticket):
    asha = office["asha"]
    mine = make_ticket(office["creator"], INTL, assignees=[asha, office["leaver"]], subject="Shared")
    office["leaver"].active = False
    db.session.commit()
    page = client_for(office["lead"]).get("/tickets/list/?_flt_0_assignees=none").get_data(as_text=True)
    assert f"ESC-{mine.id}<" not in page
    everything = client_for(office["lead"]).get("/tickets/list/").get_data(as_text=True)
    row = everything[everything.find(f'data-id="{mine.id}"'):]
    row = row[:row.find("</tr>")]
    assert "assignee-deactivated" in row  # still worth knowing: one of its people left


def test_handover_is_for_admins_only(office, client_for):
    leaver = office["leaver"]
    for who in ("lead", "asha"):
        client = client_for(office[who])
        assert client.get(f"/users/handover/{leaver.id}").status_code == 403
        assert client.post(f"/users/handover/{leaver.id}", data={"do": "reassign",
                                                                "people": [str(office["asha"].id)]}).status_code == 403
    assert all([p.id for p in fresh(t).assignees] == [leaver.id] for t in office["tickets"])


def test_handover_of_no_such_person_is_404(office, client_for):
    assert client_for(office["admin"]).get("/users/handover/999999").status_code == 404


def test_handover_page_statements_do_not_grow_with_tickets(office, client_for, make_ticket):
    client = client_for(office["admin"])
    leaver = office["leaver"]
    client.get(f"/users/handover/{leaver.id}")
    with count_statements() as few:
        client.get(f"/users/handover/{leaver.id}")
    for n in range(10):
        make_ticket(office["creator"], DOM, assignees=[leaver, office["bo"]], booking_id=f"MORE-{n}")
    client.get(f"/users/handover/{leaver.id}")
    with count_statements() as many:
        page = client.get(f"/users/handover/{leaver.id}").get_data(as_text=True)
    assert page.count('class="handover-ticket"') == 13
    assert len(many) == len(few), (len(few), len(many))


# --- the API: the same rules -------------------------------------------------------------------
from tests.test_api import api_for, token_for  # noqa: E402,F401 (fixtures)


def test_api_lists_open_tickets_and_hands_them_over(office, api_for, mail_to_smtp):
    leaver, asha, tickets = office["leaver"], office["asha"], office["tickets"]
    api = api_for(office["admin"])
    assert api.put(f"/api/v1/member/{leaver.id}", {"active": False}).status_code == 200
    listed = api.get(f"/api/v1/member/{leaver.id}/handover")
    assert listed.status_code == 200
    assert [t["id"] for t in listed.get_json()["open_tickets"]] == [t.id for t in tickets]
    response = api.post(f"/api/v1/member/{leaver.id}/handover", {"to": [asha.id], "mode": "all"})
    assert response.status_code == 200 and response.get_json()["handed_over"] == [t.id for t in tickets]
    assert all([p.id for p in fresh(t).assignees] == [asha.id] for t in tickets)
    assert db.session.query(TicketEvent).filter(TicketEvent.field == "assignees",
                                                TicketEvent.new_value == "Asha Agent").count() == 3
    assert sender.flush() == {"sent": 3}
    assert api.get(f"/api/v1/member/{leaver.id}/handover").get_json() == {"open_tickets": []}


def test_api_handover_refusals(office, api_for):
    leaver, asha, tickets = office["leaver"], office["asha"], office["tickets"]
    api = api_for(office["admin"])
    url = f"/api/v1/member/{leaver.id}/handover"
    assert api.post(url, {"to": "everyone"}).status_code == 400
    assert api.post(url, {"to": [asha.id], "mode": "random"}).status_code == 400
    assert api.post(url, {"to": [office["admin"].id]}).status_code == 422
    stale = {str(t.id): fresh(t).version for t in tickets}
    stale[str(tickets[0].id)] -= 1
    assert api.post(url, {"to": [asha.id], "versions": stale}).status_code == 409
    assert api.get("/api/v1/member/999999/handover").status_code == 404
    assert all([p.id for p in fresh(t).assignees] == [leaver.id] for t in tickets)
    for who in ("lead", "asha"):
        assert api_for(office[who]).get(url).status_code == 403
        assert api_for(office[who]).post(url, {"to": [asha.id]}).status_code == 403
