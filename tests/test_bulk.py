"""Bulk actions on the list's selected rows: each row as if changed on its own (history, emails,
version, visibility), all or nothing, through the one action door."""
from __future__ import annotations

import html
import re

import pytest

from app.extensions import db
from app.models import PRIORITIES, STATUSES, Notification, Ticket, TicketEvent
from tests.conftest import DOM, INTL, fresh
from tests.test_queries import count_statements

LIST = "/tickets/list/?_flt_0_team=1&page_TicketModelView=0"


@pytest.fixture
def floor(make_person, make_ticket):
    people = {
        "admin": make_person("Ada Admin", "Admin"),
        "lead": make_person("Lena Lead", "Lead", (INTL,)),
        "agent": make_person("Asha Agent", "Agent", (INTL,)),
        "helper": make_person("Hari Helper", "Agent", (INTL,)),
        "other": make_person("Omar Other", "Agent", (DOM,)),
        "gone": make_person("Gita Gone", "Agent", (INTL,), active=False),
    }
    tickets = [make_ticket(people["agent"], INTL, booking_id=f"BK-{n:04d}", priority="Medium",
                           notify_emails="ops@deyor.test") for n in range(3)]
    hidden = make_ticket(people["other"], DOM, booking_id="DOM-0001")  # the agent and the lead may not see it
    return people, tickets, hidden


def form(action: str, tickets, versions=None, **fields) -> dict:
    """The list's row form as the browser sends it: rowids, their versions, the toolbar."""
    db.session.expire_all()
    data = {"action": action, "rowid": [str(t.id) for t in tickets], "next": LIST, **fields}
    for ticket in tickets:
        current = db.session.get(Ticket, ticket.id)
        data[f"version_{ticket.id}"] = str((versions or {}).get(ticket.id, current.version if current else 1))
    return data


def bulk(client, action: str, tickets, versions=None, follow=False, **fields):
    return client.post("/tickets/action_post", data=form(action, tickets, versions, **fields),
                       follow_redirects=follow)


def events(ticket, field=None) -> list[TicketEvent]:
    db.session.expire_all()
    query = db.session.query(TicketEvent).filter_by(ticket_id=ticket.id)
    if field:
        query = query.filter_by(field=field)
    return query.order_by(TicketEvent.id).all()


def outbox_rows(ticket, event=None) -> list[Notification]:
    db.session.expire_all()
    query = db.session.query(Notification).filter_by(ticket_id=ticket.id)
    if event:
        query = query.filter_by(event=event)
    return query.order_by(Notification.id).all()


def snapshot(tickets) -> list[tuple]:
    """Everything a bulk action could change, to prove a refusal changed nothing."""
    db.session.expire_all()
    rows = []
    for ticket in tickets:
        t = db.session.get(Ticket, ticket.id)
        rows.append((t.id, t.version, t.status, t.priority, t.team_id, sorted(p.id for p in t.assignees),
                     t.resolution_notes, len(events(t)), len(outbox_rows(t))))
    return rows


def flashed(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_assign_to_me_is_one_history_entry_and_one_email_per_ticket_as_a_single_change(floor, client_for):
    people, tickets, _ = floor
    lead = people["lead"]
    client = client_for(lead)
    # A single change first: the edit form adding the lead to a fourth ticket.
    single = Ticket(team=tickets[0].team, created_by=people["agent"], subject="Single", booking_id="BK-9999",
                    priority="Medium")
    db.session.add(single)
    db.session.commit()
    single_events, single_mail = len(events(single)), len(outbox_rows(single))
    response = client.post(f"/tickets/edit/{single.id}", data={
        "subject": "Single", "booking_id": "BK-9999", "team": single.team_id, "priority": "Medium",
        "assignees": [lead.id], "expected_version": fresh(single).version,
    })
    assert response.status_code == 302
    single_new_events = [(e.field, e.old_value, e.new_value, e.actor_id) for e in events(single)[single_events:]]
    single_new_mail = [(n.event, n.to_addrs) for n in outbox_rows(single)[single_mail:]]
    assert single_new_events == [("assignees", "", "Lena Lead", lead.id)]
    assert single_new_mail == [("assigned", lead.email)]

    before = {t.id: (len(events(t)), len(outbox_rows(t)), fresh(t).version) for t in tickets}
    response = bulk(client, "bulk_assign_me", tickets)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(LIST)  # back to the same list, filters and page
    for ticket in tickets:
        n_events, n_mail, version = before[ticket.id]
        assert [(e.field, e.old_value, e.new_value, e.actor_id) for e in events(ticket)[n_events:]] == single_new_events
        assert [(n.event, n.to_addrs) for n in outbox_rows(ticket)[n_mail:]] == single_new_mail
        assert fresh(ticket).version == version + 1
        assert [p.id for p in fresh(ticket).assignees] == [lead.id]
    page = flashed(client.get(LIST))
    assert "3 tickets updated." in page

    # Again: nobody new to assign, nothing written, nothing emailed.
    counts = snapshot(tickets)
    assert "0 tickets updated." in flashed(bulk(client, "bulk_assign_me", tickets, follow=True))
    assert snapshot(tickets) == counts


def test_add_and_remove_assignees(floor, client_for):
    people, tickets, _ = floor
    client = client_for(people["lead"])
    helper, agent = people["helper"], people["agent"]
    response = bulk(client, "bulk_add_assignees", tickets, follow=True, assignees=[str(helper.id), str(agent.id)])
    assert "3 tickets updated." in flashed(response)
    for ticket in tickets:
        assert {p.id for p in fresh(ticket).assignees} == {helper.id, agent.id}
        assert [e.new_value for e in events(ticket, "assignees")] == ["Asha Agent, Hari Helper"]
        assert sorted(n.to_addrs for n in outbox_rows(ticket, "assigned")) == [f"{agent.email}, {helper.email}"]

    response = bulk(client, "bulk_remove_assignees", tickets[:2], follow=True, assignees=[str(helper.id)])
    assert "2 tickets updated." in flashed(response)
    assert [p.id for p in fresh(tickets[0]).assignees] == [agent.id]
    assert {p.id for p in fresh(tickets[2]).assignees} == {helper.id, agent.id}
    assert [(e.old_value, e.new_value) for e in events(tickets[0], "assignees")][-1] == (
        "Asha Agent, Hari Helper", "Asha Agent")
    assert len(outbox_rows(tickets[0], "assigned")) == 1  # removing emails nobody


@pytest.mark.parametrize("assignees,message", [
    ([], "Assignees: choose at least one person."),
    (["abc"], "Assignees: at most 20 people."),
    (["999999"], "Assignees: choose active members of a team"),
    ("gone", "Assignees: choose active members of a team"),
])
def test_bad_assignees_are_named_and_change_nothing(floor, client_for, assignees, message):
    people, tickets, _ = floor
    if assignees == "gone":
        assignees = [str(people["gone"].id)]
    client = client_for(people["lead"])
    before = snapshot(tickets)
    response = bulk(client, "bulk_add_assignees", tickets, follow=True, assignees=assignees)
    assert message in flashed(response)
    assert snapshot(tickets) == before


def test_resolve_asks_for_notes_once_and_puts_them_on_each_ticket(floor, client_for):
    people, tickets, _ = floor
    client = client_for(people["agent"])
    before = snapshot(tickets)
    response = bulk(client, "bulk_status", tickets, follow=True, status="Resolved", resolution_notes="  ")
    assert "Resolution notes is required." in flashed(response)
    assert snapshot(tickets) == before

    response = bulk(client, "bulk_status", tickets, follow=True, status="Resolved",
                    resolution_notes="Refunds sent by the airline.")
    assert "3 tickets updated." in flashed(response)
    for ticket in tickets:
        ticket = fresh(ticket)
        assert ticket.status == "Resolved" and ticket.resolution_notes == "Refunds sent by the airline."
        assert ticket.resolved_by_id == people["agent"].id and ticket.resolved_at is not None
        assert [(e.old_value, e.new_value) for e in events(ticket, "status")] == [("Open", "Resolved")]
        assert len(outbox_rows(ticket, "resolved")) == 1


def test_reopening_resolved_tickets_asks_for_the_reason_once(floor, client_for):
    people, tickets, _ = floor
    client = client_for(people["agent"])
    bulk(client, "bulk_status", tickets[:2], status="Resolved", resolution_notes="Refunded.")
    before = snapshot(tickets)
    response = bulk(client, "bulk_status", tickets, follow=True, status="Open")
    assert "Reason for reopening is required." in flashed(response)
    assert snapshot(tickets) == before  # not even the third, which needed no reason

    response = bulk(client, "bulk_status", tickets, follow=True, status="In Progress",
                    reopen_reason="The airline took the refund back.")
    assert "3 tickets updated." in flashed(response)
    for ticket in tickets[:2]:
        ticket = fresh(ticket)
        assert ticket.status == "In Progress" and ticket.resolution_notes is None
        assert [c.body for c in ticket.comments] == ["Reopened: The airline took the refund back."]
    assert fresh(tickets[2]).comments == []  # it was not resolved: no reopen comment


def test_status_change_skips_rows_already_there_and_refuses_unknown_status(floor, client_for):
    people, tickets, _ = floor
    client = client_for(people["agent"])
    assert "1 ticket updated." in flashed(bulk(client, "bulk_status", tickets[:1], follow=True, status="Waiting"))
    assert "2 tickets updated." in flashed(bulk(client, "bulk_status", tickets, follow=True, status="Waiting"))
    assert [fresh(t).status for t in tickets] == ["Waiting"] * 3
    assert [len(events(t, "status")) for t in tickets] == [1, 1, 1]
    before = snapshot(tickets)
    assert "Status must be one of" in flashed(bulk(client, "bulk_status", tickets, follow=True, status="Closed"))
    assert snapshot(tickets) == before


def test_priority_moves_each_ticket_and_its_sla_clock(floor, client_for):
    people, tickets, _ = floor
    client = client_for(people["agent"])
    due_before = [fresh(t).resolve_due_at for t in tickets]
    assert "3 tickets updated." in flashed(bulk(client, "bulk_priority", tickets, follow=True, priority="Urgent"))
    for ticket, due in zip(tickets, due_before):
        ticket = fresh(ticket)
        assert ticket.priority == "Urgent"
        assert ticket.resolve_due_at is not None and ticket.resolve_due_at < due  # recomputed for Urgent
    before = snapshot(tickets)
    assert "Priority must be one of" in flashed(bulk(client, "bulk_priority", tickets, follow=True, priority="Meh"))
    assert snapshot(tickets) == before


def test_team_change_is_for_leads_and_admins(floor, client_for):
    people, tickets, _ = floor
    dom = db.session.get(Ticket, floor[2].id).team
    before = snapshot(tickets)
    assert bulk(client_for(people["agent"]), "bulk_team", tickets, team=str(dom.id)).status_code == 403
    assert snapshot(tickets) == before

    lead = client_for(people["lead"])
    # The lead of International would no longer see them once in Domestic: refused, named.
    response = bulk(lead, "bulk_team", tickets, follow=True, team=str(dom.id))
    names = ", ".join(f"ESC-{t.id}" for t in tickets)
    assert f"After this change you would no longer see {names}" in flashed(response)
    assert snapshot(tickets) == before
    assert "Team: choose one of the teams." in flashed(bulk(lead, "bulk_team", tickets, follow=True, team="x"))
    response = bulk(lead, "bulk_team", tickets, follow=True, team=str(dom.id), move_out_of_sight="y")
    assert "3 tickets updated." in flashed(response)
    for ticket in tickets:
        assert fresh(ticket).team_id == dom.id
        assert [(e.old_value, e.new_value) for e in events(ticket, "team")] == [(INTL, DOM)]

    admin = client_for(people["admin"])
    intl = db.session.get(Ticket, tickets[0].id)
    assert "3 tickets updated." in flashed(bulk(admin, "bulk_team", tickets, follow=True,
                                                team=str(people["lead"].teams[0].id)))
    assert fresh(intl).team.name == INTL


def test_unassigning_oneself_out_of_sight_needs_the_box(floor, client_for, make_ticket):
    people, _, _ = floor
    helper = people["helper"]
    theirs = [make_ticket(people["other"], DOM, assignees=[helper], booking_id=f"DOM-{n}") for n in range(2)]
    client = client_for(helper)
    before = snapshot(theirs)
    response = bulk(client, "bulk_remove_assignees", theirs, follow=True, assignees=[str(helper.id)])
    assert "After this change you would no longer see" in flashed(response)
    assert snapshot(theirs) == before
    response = bulk(client, "bulk_remove_assignees", theirs, follow=True, assignees=[str(helper.id)],
                    move_out_of_sight="y")
    assert "2 tickets updated." in flashed(response)
    assert [fresh(t).assignees for t in theirs] == [[], []]


def test_a_row_one_may_not_see_makes_the_whole_request_404(floor, client_for):
    people, tickets, hidden = floor
    everything = tickets + [hidden]
    before = snapshot(everything)
    for who in ("agent", "lead"):
        client = client_for(people[who])
        for action, fields in (("bulk_priority", {"priority": "Low"}), ("bulk_assign_me", {})):
            assert bulk(client, action, tickets[:1] + [hidden] + tickets[1:], **fields).status_code == 404
    assert snapshot(everything) == before
    # A row that does not exist answers the same.
    client = client_for(people["agent"])
    data = {"action": "bulk_priority", "priority": "Low", "rowid": [str(tickets[0].id), "987654"]}
    assert client.post("/tickets/action_post", data=data).status_code == 404
    assert snapshot(everything) == before


@pytest.mark.parametrize("rowids", [[], ["abc"], ["same", "same"], ["-1"], ["99999999999999999999999"], [" "]])
def test_malformed_row_ids_are_404(floor, client_for, rowids):
    people, tickets, _ = floor
    client = client_for(people["admin"])
    rowids = [str(tickets[0].id) if value == "same" else value for value in rowids]
    before = snapshot(tickets)
    data = {"action": "bulk_priority", "priority": "Low", "rowid": rowids,
            **{f"version_{t.id}": str(fresh(t).version) for t in tickets}}
    assert client.post("/tickets/action_post", data=data).status_code == 404
    assert snapshot(tickets) == before


def test_a_stale_version_refuses_everything_and_names_the_ticket(floor, client_for):
    people, tickets, _ = floor
    client = client_for(people["lead"])
    shown = {t.id: fresh(t).version for t in tickets}
    # Someone changes the second ticket after the list was shown.
    changed = fresh(tickets[1])
    changed.subject = "Changed meanwhile"
    db.session.commit()
    before = snapshot(tickets)
    response = bulk(client, "bulk_priority", tickets, versions=shown, follow=True, priority="Urgent")
    text = flashed(response)
    assert f"Changed by someone else since the list was shown: ESC-{tickets[1].id}." in text
    assert f"ESC-{tickets[0].id}" not in text.split("since the list was shown")[1].split("Nothing")[0]
    assert snapshot(tickets) == before
    # Without the versions at all: the same refusal.
    data = {"action": "bulk_priority", "priority": "Urgent", "rowid": [str(t.id) for t in tickets]}
    assert "Changed by someone else" in flashed(client.post("/tickets/action_post", data=data, follow_redirects=True))
    assert snapshot(tickets) == before


WRITES = re.compile(r"^\s*(INSERT INTO|UPDATE) (ticket|ticket_event|notification|ticket_assignee)\b", re.I)


def test_statements_do_not_grow_with_rows_beyond_the_rows_written(floor, client_for, make_ticket):
    """Reads are the same for 5 rows and 25; what grows is the rows written: each ticket's own
    UPDATE (its version check), history entry and outbox email."""
    people, _, _ = floor
    agent = people["agent"]
    client = client_for(people["lead"])
    client.get("/tickets/list/")  # permissions and calendars warm, as on a working day
    for action, fields in (("bulk_assign_me", {}), ("bulk_priority", {"priority": "High"}),
                           ("bulk_status", {"status": "Resolved", "resolution_notes": "Done"})):
        reads, writes = {}, {}
        for size in (5, 25):
            rows = [make_ticket(agent, INTL, booking_id=f"BK-{n:04d}", priority="Medium",
                                notify_emails="ops@deyor.test") for n in range(size)]
            data = form(action, rows, **fields)
            with count_statements() as statements:
                response = client.post("/tickets/action_post", data=data)
            assert response.status_code == 302
            assert "updated" in flashed(client.get(LIST))
            writes[size] = [s for s in statements if WRITES.match(s)]
            reads[size] = len(statements) - len(writes[size])
        assert reads[25] == reads[5] <= 10, (action, reads)
        assert len(writes[25]) <= 3 * 25 + 2, (action, writes[25])


def test_get_on_action_routes_is_405_and_unknown_actions_404(floor, client_for):
    people, tickets, _ = floor
    client = client_for(people["lead"])
    assert client.get("/tickets/action_post").status_code == 405
    assert client.get(f"/tickets/action/bulk_assign_me/{tickets[0].id}").status_code == 405
    assert client.post("/tickets/action_post", data={"action": "nope", "rowid": [tickets[0].id]}).status_code == 404
    assert fresh(tickets[0]).assignees == []


def test_next_never_leaves_the_ticket_list(floor, client_for):
    people, tickets, _ = floor
    client = client_for(people["agent"])
    for target in ("https://evil.example/tickets/", "//evil.example/tickets/list/", "/users/list/"):
        response = client.post("/tickets/action_post", data={
            "action": "bulk_priority", "priority": "Low", "rowid": [str(tickets[0].id)],
            f"version_{tickets[0].id}": str(fresh(tickets[0]).version), "next": target,
        })
        assert response.headers["Location"].endswith("/tickets/list/"), target


def test_the_list_renders_the_toolbar_rows_and_versions(floor, client_for):
    people, tickets, _ = floor
    page = client_for(people["agent"]).get("/tickets/list/").get_data(as_text=True)
    assert 'id="bulk-form"' in page and 'id="bulk-toolbar"' in page and "js/bulk.js" in page
    for ticket in tickets:
        assert f'name="rowid" value="{ticket.id}"' in page
        assert f'name="version_{ticket.id}" value="{fresh(ticket).version}"' in page
    assert 'value="bulk_team"' not in page  # agents do not move tickets between teams
    # The toolbar offers the model's statuses and priorities, no more, no less.
    statuses = re.search(r'id="bulk-status".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', statuses) == list(STATUSES)
    priorities = re.search(r'id="bulk-priority".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', priorities) == list(PRIORITIES)

    page = client_for(people["lead"]).get("/tickets/list/").get_data(as_text=True)
    teams = re.search(r'id="bulk-team".*?</select>', page, re.S).group(0)
    assert INTL in teams and DOM in teams
