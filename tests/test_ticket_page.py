"""The ticket page over HTTP: work first (actions, conversation, details, history), blanks never
"None", reopening with a reason, nothing typed lost on a refused save, times in the display zone.

Ticket of the `cast`: International Operations, created by agent_creator, assigned to
agent_assigned; lead_same_team works every ticket of that team.
"""
from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Comment, Notification, Ticket, TicketEvent
from tests.conftest import INTL, fresh
from tests.test_notifications import flush, parts
from tests.test_validation import edit_form, flashes, form_values
from tests.test_workflow import post_status

# 15:05 UTC is 20:35 in India (IST, UTC+5:30).
KNOWN_UTC = datetime(2026, 12, 3, 15, 5)
KNOWN_IST = "03 Dec 2026 20:35 IST"


def page_of(client, ticket) -> str:
    response = client.get(f"/tickets/show/{ticket.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def danger(response) -> str:
    return " ".join(flashes(response, "danger"))


def textarea(page: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no textarea {name}"
    return html.unescape(found.group(1))


def resolve(client, ticket, notes: str = "Refund issued"):
    response = post_status(client, ticket, "Resolved", notes)
    assert fresh(ticket).status == "Resolved", danger(response)
    return response


# --- layout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "lead_same_team", "agent_assigned"])
def test_work_comes_first_then_details_then_history(cast, client_for, who):
    people, ticket = cast
    page = page_of(client_for(people[who]), ticket)
    order = [page.find(marker) for marker in (
        'id="ticket-status"', 'id="ticket-actions"', 'id="conversation"', 'id="comment-form"',
        'id="details"', 'id="ticket-sla"', 'id="history"',
    )]
    assert -1 not in order, order
    assert order == sorted(order), order
    # the status and priority are words in coloured labels
    assert re.search(r'class="label label-info ticket-status" id="ticket-status">Open<', page)
    assert re.search(r'class="label label-warning ticket-priority" id="ticket-priority">High<', page)
    # the details name the people and the customer
    details = text_of(page[page.find('id="details"'):page.find('id="ticket-sla"')])
    for expected in ("Priya Nair", "priya@example.com", "GOA-7781", INTL, "Asha Assigned", "Carl Creator"):
        assert expected in details, (expected, details)


def test_empty_values_are_blank_never_none(cast, client_for, make_ticket):
    people, _ = cast
    bare = make_ticket(people["agent_creator"], INTL, subject="Bare ticket", booking_id="BARE-1")
    for who in ("admin", "agent_creator"):
        page = page_of(client_for(people[who]), bare)
        assert "None" not in text_of(page), who
    resolve(client_for(people["lead_same_team"]), bare, "Done")
    assert "None" not in text_of(page_of(client_for(people["admin"]), bare))


def test_a_deactivated_assignee_is_marked_on_the_page(cast, client_for, make_ticket):
    """Leads see on the ticket itself, not only in the list, that an assignee has left."""
    people, _ = cast
    leaver, stayer = people["agent_assigned"], people["agent_unrelated"]
    ticket = make_ticket(people["agent_creator"], INTL, assignees=[leaver, stayer], booking_id="LEFT-1")
    details = lambda: re.search(r"<dt>Assignees</dt><dd>(.*?)</dd>", page_of(client_for(people["lead_same_team"]), ticket), re.S).group(1)  # noqa: E731
    assert "assignee-deactivated" not in details()
    leaver.active = False
    db.session.commit()
    marked = details()
    assert marked.count("assignee-deactivated") == 1
    assert re.search(re.escape(leaver.full_name) + r"\s*<span[^>]*assignee-deactivated", marked)
    assert stayer.full_name in marked


def test_the_resolve_form_is_collapsed_until_resolve_is_pressed(cast, client_for):
    people, ticket = cast
    page = page_of(client_for(people["agent_assigned"]), ticket)
    form = re.search(r'<form[^>]*id="resolve-form"[^>]*>', page).group(0)
    assert re.search(r'class="[^"]*\bcollapse\b(?! in)', form), form
    toggle = re.search(r'<a[^>]*id="resolve-toggle"[^>]*>', page).group(0)
    assert 'href="#resolve-form"' in toggle and 'data-toggle="collapse"' in toggle
    # no inline script or handler: the page's script is a file with the response's nonce
    assert not re.search(r"\son[a-z]+=", page)
    assert re.search(r'<script src="/static/js/ticket_page.js" nonce="[^"]+"></script>', page)


# --- reopening ----------------------------------------------------------------------------------


def test_reopen_with_a_reason_comments_it_and_keeps_the_old_resolution_in_the_history(cast, client_for):
    people, ticket = cast
    resolver, reopener = people["lead_same_team"], people["agent_creator"]
    resolve(client_for(resolver), ticket, "Refund issued by the hotel")
    client = client_for(reopener)
    page = page_of(client, ticket)
    assert 'id="reopen-form"' in page and 'id="resolve-form"' not in page
    response = post_status(client, ticket, "In Progress", reopen_reason="  Guest was charged twice  ")
    assert response.status_code == 200
    stored = fresh(ticket)
    assert stored.status == "In Progress"
    assert stored.resolution_notes is None and stored.resolved_by_id is None
    assert [(c.author_id, c.body) for c in stored.comments] == [(reopener.id, "Reopened: Guest was charged twice")]

    page = response.get_data(as_text=True)
    conversation = text_of(page[page.find('id="conversation"'):page.find('id="details"')])
    assert "Carl Creator" in conversation and "Reopened: Guest was charged twice" in conversation
    history = text_of(page[page.find('id="history"'):])
    assert "Refund issued by the hotel" in history, history
    assert "Resolution by Lena Lead" in history and "cleared by the reopen" in history


@pytest.mark.parametrize("reason", [None, "", "  \n "], ids=["absent", "empty", "blank"])
def test_reopen_without_a_reason_is_refused_and_changes_nothing(cast, client_for, reason):
    people, ticket = cast
    resolve(client_for(people["lead_same_team"]), ticket)
    before = fresh(ticket)
    version, events = before.version, len(before.events)
    extra = {} if reason is None else {"reopen_reason": reason}
    response = post_status(client_for(people["agent_creator"]), ticket, "Open", **extra)
    assert "Reason for reopening is required" in danger(response), flashes(response)
    stored = fresh(ticket)
    assert (stored.status, stored.resolution_notes, stored.version) == ("Resolved", "Refund issued", version)
    assert stored.comments == [] and len(stored.events) == events
    if reason is not None:  # what was typed comes back in the open reason form
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert re.search(r'id="reopen-form"\s+class="[^"]*collapse in', page)


def test_the_api_reopens_with_a_reason_too(cast, app):
    from tests.test_security import bearer

    people, ticket = cast
    client, headers = app.test_client(), bearer(app, people["lead_same_team"].email)
    assert client.put(f"/api/v1/ticket/{ticket.id}", json={"status": "Resolved", "resolution_notes": "Done"},
                      headers=headers).status_code == 200
    refused = client.put(f"/api/v1/ticket/{ticket.id}", json={"status": "Open"}, headers=headers)
    assert refused.status_code == 422 and "reopen_reason" in refused.json["message"], refused.json
    assert fresh(ticket).status == "Resolved"
    misplaced = client.put(f"/api/v1/ticket/{ticket.id}", json={"priority": "Low", "reopen_reason": "x"},
                           headers=headers)
    assert misplaced.status_code == 422 and "reopen_reason" in misplaced.json["message"]
    done = client.put(f"/api/v1/ticket/{ticket.id}", json={"status": "Open", "reopen_reason": "Not refunded"},
                      headers=headers)
    assert done.status_code == 200, done.json
    assert [c.body for c in fresh(ticket).comments] == ["Reopened: Not refunded"]


# --- nothing typed is lost ------------------------------------------------------------------------


def test_an_edit_refused_for_a_conflict_keeps_what_was_typed(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_creator"])
    form = edit_form(client, ticket.id)
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(
        priority="Urgent", version=Ticket.version + 1))  # someone else saved meanwhile
    db.session.commit()
    form["subject"] = ["Hotel overbooked: family of five moved"]
    form["description"] = ["Long text typed with care.\nSecond line."]
    response = client.post(f"/tickets/edit/{ticket.id}", data=form)
    assert response.status_code == 409
    assert "changed by someone else" in danger(response)
    assert "what you typed is kept" in danger(response)
    again = form_values(response.get_data(as_text=True))
    assert again["subject"] == ["Hotel overbooked: family of five moved"]
    assert [d.strip() for d in again["description"]] == ["Long text typed with care.\nSecond line."]
    assert again["expected_version"] == [str(fresh(ticket).version)]  # based on the ticket as it is now
    stored = fresh(ticket)
    assert (stored.subject, stored.priority) == ("Hotel overbooked in Goa", "Urgent")
    # sending the form again is a decision made knowingly: it saves what it shows
    response = client.post(f"/tickets/edit/{ticket.id}", data=again)
    assert response.status_code == 302
    assert fresh(ticket).subject == "Hotel overbooked: family of five moved"


def test_an_edit_refused_as_out_of_sight_keeps_what_was_typed(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_assigned"])
    form = edit_form(client, ticket.id)
    form["assignees"] = []  # unassigning oneself: out of an agent's sight
    form["customer_name"] = ["Priya N. Nair"]
    response = client.post(f"/tickets/edit/{ticket.id}", data=form)
    assert response.status_code == 422
    assert "no longer see this ticket" in danger(response)
    again = form_values(response.get_data(as_text=True))
    assert again["customer_name"] == ["Priya N. Nair"] and not again.get("assignees")
    stored = fresh(ticket)
    assert [p.id for p in stored.assignees] == [people["agent_assigned"].id]
    assert stored.customer_name == "Priya Nair"


def test_resolve_notes_are_kept_when_the_status_change_conflicts(cast, client_for):
    people, ticket = cast
    client = client_for(people["lead_same_team"])
    stale = fresh(ticket).version
    post_status(client_for(people["agent_creator"]), ticket, "In Progress")
    response = post_status(client, ticket, "Resolved", "Moved the family to the Taj", version=stale)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert textarea(page, "resolution_notes") == "Moved the family to the Taj"
    assert re.search(r'id="resolve-form"\s+class="[^"]*collapse in', page)
    assert f'name="version" value="{fresh(ticket).version}"' in page
    assert fresh(ticket).status == "In Progress"


def test_a_reopen_reason_is_kept_when_the_reopen_conflicts(cast, client_for):
    people, ticket = cast
    resolve(client_for(people["lead_same_team"]), ticket)
    stale = fresh(ticket).version
    db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(version=Ticket.version + 1))
    db.session.commit()
    response = post_status(client_for(people["agent_creator"]), ticket, "Open", version=stale,
                           reopen_reason="Charged twice")
    assert response.status_code == 409
    assert textarea(response.get_data(as_text=True), "reopen_reason") == "Charged twice"
    assert fresh(ticket).status == "Resolved" and fresh(ticket).comments == []


@pytest.mark.parametrize("body, message", [("c" * 5001, "5000"), ("called\x00 twice", "Comment")])
def test_a_refused_comment_keeps_its_text(cast, client_for, body, message):
    people, ticket = cast
    response = client_for(people["agent_creator"]).post(f"/tickets/comment/{ticket.id}", data={"body": body})
    assert response.status_code == 422
    assert message in danger(response)
    kept = textarea(response.get_data(as_text=True), "body")
    assert kept.replace("\x00", "").replace("\ufffd", "") == body.replace("\x00", "")
    assert db.session.query(Comment).count() == 0


def test_a_comment_refused_by_a_racing_write_keeps_its_text(cast, client_for, monkeypatch):
    from sqlalchemy.orm import Session
    from sqlalchemy.orm.exc import StaleDataError

    people, ticket = cast
    real_commit = Session.commit

    def racing_commit(session):
        if any(isinstance(obj, Comment) for obj in session.new):
            raise StaleDataError("the ticket row changed meanwhile")
        return real_commit(session)

    monkeypatch.setattr(Session, "commit", racing_commit)
    response = client_for(people["agent_creator"]).post(f"/tickets/comment/{ticket.id}",
                                                        data={"body": "Spoke to the hotel manager"})
    monkeypatch.setattr(Session, "commit", real_commit)
    assert response.status_code == 409
    assert textarea(response.get_data(as_text=True), "body") == "Spoke to the hotel manager"
    assert db.session.query(Comment).count() == 0


# --- times in the display zone -------------------------------------------------------------------


def test_times_show_in_the_display_zone_on_the_page_history_comments_and_lists(cast, client_for, make_ticket):
    people, _ = cast
    ticket = make_ticket(people["agent_creator"], INTL, subject="Clock check", booking_id="TZ-1",
                         created_at=KNOWN_UTC)
    db.session.add(Comment(ticket=ticket, author=people["agent_creator"], body="At dinner time", created_at=KNOWN_UTC))
    db.session.execute(update(TicketEvent).where(TicketEvent.ticket_id == ticket.id).values(created_at=KNOWN_UTC))
    db.session.commit()
    client = client_for(people["admin"])
    page = page_of(client, ticket)
    sections = {name: text_of(page[page.find(f'id="{name}"'):]) for name in ("conversation", "details", "history")}
    for name, text in sections.items():
        assert KNOWN_IST in text, (name, text[:500])
    assert "UTC" not in text_of(page)
    comments = client.get("/comments/list/").get_data(as_text=True)
    assert KNOWN_IST in text_of(comments)
    tickets = client.get(f"/tickets/list/?search={ticket.booking_id}").get_data(as_text=True)
    assert "UTC" not in text_of(tickets)


def test_the_email_shows_the_display_zone(cast, make_ticket, mail_to_smtp):
    people, _ = cast
    ticket = make_ticket(people["agent_creator"], INTL, assignees=[people["agent_assigned"]],
                         subject="Clock check", booking_id="TZ-2", created_at=KNOWN_UTC)
    row = db.session.query(Notification).filter_by(ticket_id=ticket.id, event="created").one()
    flush()
    mail_to_smtp.wait_for(1)
    (mail,) = [m for m in mail_to_smtp.messages if m.message["Message-ID"] == row.message_id]
    text, html_part = parts(mail.message)
    assert f"Created: {KNOWN_IST}" in text
    assert KNOWN_IST in html_part and "UTC" not in text + html_part
