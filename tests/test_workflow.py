"""Status workflow, history and comments through the ticket page's forms.

Ticket of the `cast`: International Operations, created by agent_creator, assigned to
agent_assigned; lead_same_team works every ticket of that team.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Comment, Ticket, TicketEvent, utcnow
from tests.conftest import fresh
from tests.test_validation import edit_form, flashes, new_ticket_form

SLACK = timedelta(minutes=2)


def post_status(client, ticket, status, notes=None, version=None, **extra):
    """Press a status button (or submit the resolve form) as the page would."""
    data = {"status": status, "version": str(fresh(ticket).version if version is None else version)}
    if notes is not None:
        data["resolution_notes"] = notes
    data.update(extra)
    return client.post(f"/tickets/status/{ticket.id}", data=data, follow_redirects=True)


def status_events(ticket_id: int) -> list[TicketEvent]:
    db.session.expire_all()
    return (
        db.session.query(TicketEvent)
        .filter_by(ticket_id=ticket_id, field="status")
        .order_by(TicketEvent.created_at, TicketEvent.id)
        .all()
    )


def danger(response) -> str:
    return " ".join(flashes(response, "danger"))


# --- resolving ------------------------------------------------------------------------


@pytest.mark.parametrize("notes", [None, "", "   \n\t "], ids=["absent", "empty", "blank"])
def test_resolve_without_notes_is_refused(cast, client_for, notes):
    people, ticket = cast
    before = fresh(ticket).version
    response = post_status(client_for(people["lead_same_team"]), ticket, "Resolved", notes)
    ticket = fresh(ticket)
    assert ticket.status == "Open"
    assert ticket.resolved_at is None and ticket.resolved_by_id is None and ticket.resolution_notes is None
    assert ticket.version == before
    assert status_events(ticket.id) == []
    # typed notes (even blank) come back in the open form; no notes at all: the page again
    assert response.status_code == (200 if notes is None else 422)
    assert "resolution notes" in danger(response).lower()


def test_resolve_from_in_progress_without_notes_is_refused(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_assigned"])
    post_status(client, ticket, "In Progress")
    assert fresh(ticket).status == "In Progress"
    response = post_status(client, ticket, "Resolved", "")
    assert fresh(ticket).status == "In Progress"
    assert fresh(ticket).resolved_at is None
    assert "resolution notes" in danger(response).lower()


def test_resolve_sets_server_time_actor_and_notes(cast, client_for):
    people, ticket = cast
    lead, other = people["lead_same_team"], people["admin"]
    start = utcnow()
    response = post_status(
        client_for(lead), ticket, "Resolved", "  Refunded in full; guest moved to the Taj.  ",
        resolved_at="2001-01-01 00:00:00", resolved_by=str(other.id), resolved_by_id=str(other.id),
    )
    end = utcnow()
    assert response.status_code == 200
    ticket = fresh(ticket)
    assert ticket.status == "Resolved"
    assert start - SLACK <= ticket.resolved_at <= end + SLACK
    assert ticket.resolved_by_id == lead.id
    assert ticket.resolution_notes == "Refunded in full; guest moved to the Taj."
    assert ticket.version == 2
    assert "Resolved" in " ".join(flashes(response, "success"))


def test_resolve_from_in_progress(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_assigned"])
    post_status(client, ticket, "In Progress")
    post_status(client, ticket, "Resolved", "Airline reissued the ticket")
    ticket = fresh(ticket)
    assert ticket.status == "Resolved"
    assert ticket.resolved_by_id == people["agent_assigned"].id
    assert ticket.resolution_notes == "Airline reissued the ticket"


def test_resolution_notes_too_long_are_refused(cast, client_for):
    people, ticket = cast
    response = post_status(client_for(people["lead_same_team"]), ticket, "Resolved", "n" * 5001)
    assert fresh(ticket).status == "Open"
    assert fresh(ticket).resolution_notes is None
    assert "5000" in danger(response)


@pytest.mark.parametrize("target", ["Open", "In Progress"])
def test_reopen_clears_resolution_and_is_recorded(cast, client_for, target):
    people, ticket = cast
    resolver, reopener = people["lead_same_team"], people["agent_creator"]
    post_status(client_for(resolver), ticket, "Resolved", "Refund issued")
    assert fresh(ticket).status == "Resolved"
    response = post_status(client_for(reopener), ticket, target, reopen_reason="Guest still charged")
    assert response.status_code == 200
    ticket = fresh(ticket)
    assert ticket.status == target
    assert ticket.resolved_at is None
    assert ticket.resolved_by_id is None
    assert ticket.resolution_notes is None
    last = status_events(ticket.id)[-1]
    assert (last.old_value, last.new_value, last.actor_id) == ("Resolved", target, reopener.id)


def test_resolving_again_after_reopen_stamps_the_new_resolver(cast, client_for):
    people, ticket = cast
    post_status(client_for(people["lead_same_team"]), ticket, "Resolved", "First fix")
    post_status(client_for(people["agent_creator"]), ticket, "Open", reopen_reason="Not fixed")
    post_status(client_for(people["agent_assigned"]), ticket, "Resolved", "Second fix")
    ticket = fresh(ticket)
    assert ticket.resolved_by_id == people["agent_assigned"].id
    assert ticket.resolution_notes == "Second fix"


# --- refused transitions ----------------------------------------------------------------


@pytest.mark.parametrize("status", ["Closed", "resolved", "", "OPEN", "Open ", "In%20Progress"])
def test_unknown_status_is_refused(cast, client_for, status):
    people, ticket = cast
    before = fresh(ticket).version
    response = post_status(client_for(people["lead_same_team"]), ticket, status, "notes")
    assert response.status_code == 422  # the page again, with what was typed
    ticket = fresh(ticket)
    assert ticket.status == "Open"
    assert ticket.version == before
    assert status_events(ticket.id) == []
    assert "status must be one of" in danger(response).lower()


def test_same_status_is_refused(cast, client_for):
    people, ticket = cast
    client = client_for(people["lead_same_team"])
    response = post_status(client, ticket, "Open")
    assert fresh(ticket).status == "Open"
    assert fresh(ticket).version == 1
    assert "already open" in danger(response).lower()

    post_status(client, ticket, "Resolved", "Done")
    resolved = fresh(ticket)
    response = post_status(client, ticket, "Resolved", "Done again, differently")
    after = fresh(ticket)
    assert after.status == "Resolved"
    assert after.resolution_notes == "Done"
    assert after.resolved_at == resolved.resolved_at
    assert after.version == resolved.version
    assert "already resolved" in danger(response).lower()
    assert len(status_events(ticket.id)) == 1


def test_status_change_on_a_hidden_ticket_is_404_and_changes_nothing(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_unrelated"])
    response = client.post(f"/tickets/status/{ticket.id}", data={"status": "In Progress", "version": "1"})
    assert response.status_code == 404
    response = client.post(f"/tickets/comment/{ticket.id}", data={"body": "Sneaky"})
    assert response.status_code == 404
    ticket = fresh(ticket)
    assert ticket.status == "Open"
    assert db.session.query(Comment).count() == 0


# --- history ------------------------------------------------------------------------------


def test_history_records_creation_status_and_assignee_changes(cast, client_for):
    people, _ = cast
    creator, lead, assigned, unrelated = (
        people["agent_creator"], people["lead_same_team"], people["agent_assigned"], people["agent_unrelated"],
    )
    start = utcnow()
    creator_client = client_for(creator)
    response = creator_client.post(
        "/tickets/add", data=new_ticket_form(booking_id="HIS-1", assignees=[str(assigned.id)])
    )
    assert response.status_code == 302
    ticket = db.session.query(Ticket).filter_by(booking_id="HIS-1").one()

    lead_client = client_for(lead)
    data = edit_form(lead_client, ticket.id)
    data["assignees"] = [str(assigned.id), str(unrelated.id)]
    assert lead_client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    post_status(lead_client, ticket, "In Progress")
    data = edit_form(creator_client, ticket.id)
    data["assignees"] = [str(unrelated.id)]
    assert creator_client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    post_status(client_for(unrelated), ticket, "Resolved", "Done")
    end = utcnow()

    events = fresh(ticket).events
    assert events[0].field == "created"
    assert events[0].actor_id == creator.id
    assert events[0].new_value == "Open"
    assert all(start - SLACK <= e.created_at <= end + SLACK for e in events)
    assert [e.created_at for e in events] == sorted(e.created_at for e in events)

    changes = [(e.field, e.old_value or "", e.new_value or "", e.actor_id) for e in events[1:]]
    assignee_edits = [c for c in changes if c[0] == "assignees" and c[1]]
    assert assignee_edits == [
        ("assignees", "Asha Assigned", "Asha Assigned, Uma Unrelated", lead.id),
        ("assignees", "Asha Assigned, Uma Unrelated", "Uma Unrelated", creator.id),
    ]
    assert [c for c in changes if c[0] == "status"] == [
        ("status", "Open", "In Progress", lead.id),
        ("status", "In Progress", "Resolved", unrelated.id),
    ]
    # In the order they happened.
    order = [c for c in changes if c in assignee_edits or c[0] == "status"]
    assert order == [
        assignee_edits[0],
        ("status", "Open", "In Progress", lead.id),
        assignee_edits[1],
        ("status", "In Progress", "Resolved", unrelated.id),
    ]


def test_edit_without_assignee_change_records_no_assignee_event(cast, client_for):
    people, ticket = cast
    client = client_for(people["lead_same_team"])
    before = len(fresh(ticket).events)
    data = edit_form(client, ticket.id)
    data["subject"] = ["Hotel overbooked in Goa (3 rooms)"]
    assert client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    ticket = fresh(ticket)
    assert ticket.subject == "Hotel overbooked in Goa (3 rooms)"
    assert len(ticket.events) == before


def test_removing_every_assignee_is_recorded(cast, client_for):
    people, ticket = cast
    lead = people["lead_same_team"]
    client = client_for(lead)
    data = edit_form(client, ticket.id)
    data["assignees"] = []
    assert client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    ticket = fresh(ticket)
    assert ticket.assignees == []
    last = ticket.events[-1]
    assert (last.field, last.old_value, last.new_value or "", last.actor_id) == (
        "assignees", "Asha Assigned", "", lead.id,
    )


def _section(page: str, marker: str) -> str:
    start = page.find(marker)
    assert start >= 0, f"{marker} is not on the page"
    return page[start:]


def test_ticket_page_shows_comments_and_history_in_order(cast, client_for):
    people, ticket = cast
    creator, lead = people["agent_creator"], people["lead_same_team"]
    creator_client, lead_client = client_for(creator), client_for(lead)
    for client, body in [
        (creator_client, "Called the hotel: no rooms left."),
        (lead_client, "Escalated to the regional manager."),
        (creator_client, "Guest moved to the Taj <b>tonight</b>."),
    ]:
        response = client.post(f"/tickets/comment/{ticket.id}", data={"body": body})
        assert response.status_code == 302
    post_status(lead_client, ticket, "In Progress")
    post_status(creator_client, ticket, "Resolved", "Moved and refunded")

    response = creator_client.get(f"/tickets/show/{ticket.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)

    comments_html = _section(page, 'class="list-group ticket-comments"')
    comments_html = comments_html[: comments_html.find("</ul>")]
    items = re.findall(r'<li class="list-group-item ticket-comment"[^>]*>(.*?)</li>', comments_html, re.S)
    rendered = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]
    assert len(rendered) == 3
    expected = [
        ("Carl Creator", "Called the hotel: no rooms left."),
        ("Lena Lead", "Escalated to the regional manager."),
        ("Carl Creator", "Guest moved to the Taj <b>tonight</b>."),
    ]
    for text, (author, body) in zip(rendered, expected):
        assert text.startswith(author), text
        assert body in text, text
        assert re.search(r"\d{2} \w{3} \d{4} \d{2}:\d{2} IST", text), "each comment shows its time (display zone)"
    assert "<b>tonight</b>" not in comments_html, "comment bodies are escaped"

    history_html = _section(page, 'class="table table-condensed table-striped ticket-history"')
    history_html = history_html[: history_html.find("</table>")]
    rows = [
        [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", history_html, re.S)
    ]
    rows = [row for row in rows if row]
    # Columns: when, who, what (the field, possibly translated), from, to.
    status_rows = [[row[1], row[3], row[4]] for row in rows if row[2].lower() == "status"]
    assert status_rows == [
        ["Lena Lead", "Open", "In Progress"],
        ["Carl Creator", "In Progress", "Resolved"],
    ]
    assert rows[0][1] == "Carl Creator" and rows[0][2].lower() == "created"
    assert all(re.match(r"\d{2} \w{3} \d{4} \d{2}:\d{2} IST$", row[0]) for row in rows)


# --- comments -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, "", "   \n  "], ids=["absent", "empty", "blank"])
def test_empty_comment_is_refused(cast, client_for, body):
    people, ticket = cast
    data = {} if body is None else {"body": body}
    response = client_for(people["agent_creator"]).post(
        f"/tickets/comment/{ticket.id}", data=data, follow_redirects=True
    )
    db.session.expire_all()
    assert db.session.query(Comment).count() == 0
    assert response.status_code == 422  # the page again, with what was typed
    assert "comment is required" in danger(response).lower()


def test_comment_too_long_is_refused(cast, client_for):
    people, ticket = cast
    response = client_for(people["agent_creator"]).post(
        f"/tickets/comment/{ticket.id}", data={"body": "c" * 5001}, follow_redirects=True
    )
    assert db.session.query(Comment).count() == 0
    assert "5000" in danger(response)


def test_comment_with_nul_byte_is_refused(cast, client_for):
    people, ticket = cast
    response = client_for(people["agent_creator"]).post(
        f"/tickets/comment/{ticket.id}", data={"body": "called\x00 twice"}, follow_redirects=True
    )
    assert response.status_code == 422  # the page again, with what was typed
    assert db.session.query(Comment).count() == 0
    assert "Comment must not contain control characters" in danger(response)


def test_comment_author_and_time_come_from_the_server(cast, client_for):
    people, ticket = cast
    poster, other = people["agent_assigned"], people["admin"]
    start = utcnow()
    response = client_for(poster).post(
        f"/tickets/comment/{ticket.id}",
        data={
            "body": "  Spoke to the guest.  ", "author": str(other.id), "author_id": str(other.id),
            "created_at": "2001-01-01 00:00:00", "ticket": "999", "ticket_id": "999",
        },
    )
    assert response.status_code == 302
    comment = db.session.query(Comment).one()
    assert comment.author_id == poster.id
    assert comment.ticket_id == ticket.id
    assert comment.body == "Spoke to the guest."
    assert start - SLACK <= comment.created_at <= utcnow() + SLACK


def test_comment_does_not_change_the_ticket_fields(cast, client_for):
    people, ticket = cast
    before = fresh(ticket)
    status, subject = before.status, before.subject
    client_for(people["agent_creator"]).post(f"/tickets/comment/{ticket.id}", data={"body": "Noted"})
    after = fresh(ticket)
    assert (after.status, after.subject) == (status, subject)
    assert [c.body for c in after.comments] == ["Noted"]


def test_created_event_for_a_ticket_made_outside_a_request(cast):
    """Tickets made by scripts (no logged-in person) still get their creation recorded."""
    people, ticket = cast
    events = fresh(ticket).events
    assert events[0].field == "created"
    assert events[0].actor_id == people["agent_creator"].id
    assert events[0].new_value == "Open"
