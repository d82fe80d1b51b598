"""Two people working on the same ticket: the later save based on an older version is
refused with a clear message and never overwrites the earlier one."""
from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import Ticket
from tests.conftest import fresh
from tests.test_validation import flashes, form_values

CONFLICT = "changed by someone else"


def open_edit_form(client, ticket_id: int) -> dict[str, list[str]]:
    """GET the edit page and return what the browser would submit, hidden version included."""
    response = client.get(f"/tickets/edit/{ticket_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    match = re.search(r'<input[^>]*name="expected_version"[^>]*value="(\d+)"', page) or re.search(
        r'<input[^>]*value="(\d+)"[^>]*name="expected_version"', page
    )
    assert match, "the edit form carries a hidden expected_version"
    values = form_values(page)
    assert values["expected_version"] == [match.group(1)]
    return values


def open_ticket_page(client, ticket_id: int) -> str:
    """GET the ticket page and return the version its status buttons will send."""
    response = client.get(f"/tickets/show/{ticket_id}")
    assert response.status_code == 200
    versions = set(re.findall(r'<input type="hidden" name="version" value="(\d+)">', response.get_data(as_text=True)))
    assert len(versions) == 1, versions
    return versions.pop()


def conflict_shown(response) -> bool:
    return any(CONFLICT in message for message in flashes(response, "danger"))


@pytest.fixture
def two(cast, client_for):
    """Lena (lead of the team) and Carl (the creator), each in their own browser."""
    people, ticket = cast
    return ticket, client_for(people["lead_same_team"]), client_for(people["agent_creator"])


# --- edit form -----------------------------------------------------------------------------


def test_second_edit_from_a_stale_form_is_refused(two):
    ticket, first, second = two
    form_1 = open_edit_form(first, ticket.id)
    form_2 = open_edit_form(second, ticket.id)
    assert form_1["expected_version"] == form_2["expected_version"] == ["1"]

    form_1["subject"] = ["Hotel overbooked in Goa: 2 rooms short"]
    response = first.post(f"/tickets/edit/{ticket.id}", data=form_1, follow_redirects=True)
    assert response.status_code == 200
    assert not conflict_shown(response)
    assert fresh(ticket).subject == "Hotel overbooked in Goa: 2 rooms short"
    assert fresh(ticket).version == 2

    form_2["priority"] = ["Urgent"]
    response = second.post(f"/tickets/edit/{ticket.id}", data=form_2, follow_redirects=True)
    stored = fresh(ticket)
    assert stored.subject == "Hotel overbooked in Goa: 2 rooms short", "the first save was overwritten"
    assert stored.priority == "High", "the stale save was applied"
    assert stored.version == 2
    # the form again, with what was typed and the message (nothing typed is lost)
    assert response.status_code == 409
    assert response.request.path == f"/tickets/edit/{ticket.id}"
    assert conflict_shown(response), flashes(response)
    assert re.search(r'<option[^>]*selected[^>]*value="Urgent"|<option[^>]*value="Urgent"[^>]*selected',
                     response.get_data(as_text=True))


def test_after_a_conflict_reloading_the_form_lets_the_change_through(two):
    ticket, first, second = two
    form_1, form_2 = open_edit_form(first, ticket.id), open_edit_form(second, ticket.id)
    form_1["subject"] = ["Subject by Lena"]
    first.post(f"/tickets/edit/{ticket.id}", data=form_1)
    form_2["priority"] = ["Urgent"]
    assert conflict_shown(second.post(f"/tickets/edit/{ticket.id}", data=form_2, follow_redirects=True))

    again = open_edit_form(second, ticket.id)
    assert again["expected_version"] == ["2"]
    assert again["subject"] == ["Subject by Lena"]
    again["priority"] = ["Urgent"]
    response = second.post(f"/tickets/edit/{ticket.id}", data=again, follow_redirects=True)
    assert not conflict_shown(response)
    stored = fresh(ticket)
    assert (stored.subject, stored.priority, stored.version) == ("Subject by Lena", "Urgent", 3)


def test_assignee_only_change_also_makes_older_forms_stale(cast, two):
    people, _ = cast
    ticket, first, second = two
    form_1, form_2 = open_edit_form(first, ticket.id), open_edit_form(second, ticket.id)
    form_1["assignees"] = [str(people["agent_assigned"].id), str(people["agent_unrelated"].id)]
    first.post(f"/tickets/edit/{ticket.id}", data=form_1)
    assert {p.id for p in fresh(ticket).assignees} == {people["agent_assigned"].id, people["agent_unrelated"].id}

    form_2["subject"] = ["Changed on a stale form"]
    response = second.post(f"/tickets/edit/{ticket.id}", data=form_2, follow_redirects=True)
    stored = fresh(ticket)
    assert stored.subject == "Hotel overbooked in Goa"
    assert {p.id for p in stored.assignees} == {people["agent_assigned"].id, people["agent_unrelated"].id}
    assert conflict_shown(response)


@pytest.mark.parametrize("version", ["", "0", "abc", "99"])
def test_edit_with_missing_or_wrong_version_is_refused(two, version):
    ticket, first, _ = two
    form = open_edit_form(first, ticket.id)
    form["expected_version"] = [version]
    form["subject"] = ["Should not be saved"]
    response = first.post(f"/tickets/edit/{ticket.id}", data=form, follow_redirects=True)
    assert fresh(ticket).subject == "Hotel overbooked in Goa"
    assert fresh(ticket).version == 1
    assert conflict_shown(response)


def test_edit_after_a_status_change_is_refused(two):
    ticket, first, second = two
    form = open_edit_form(first, ticket.id)
    second_version = open_ticket_page(second, ticket.id)
    second.post(f"/tickets/status/{ticket.id}", data={"status": "In Progress", "version": second_version})
    assert fresh(ticket).status == "In Progress"

    form["subject"] = ["Edited on a stale form"]
    response = first.post(f"/tickets/edit/{ticket.id}", data=form, follow_redirects=True)
    stored = fresh(ticket)
    assert stored.status == "In Progress"
    assert stored.subject == "Hotel overbooked in Goa"
    assert conflict_shown(response)


# --- status buttons ---------------------------------------------------------------------------


def test_second_status_change_from_a_stale_page_is_refused(two):
    ticket, first, second = two
    version_1 = open_ticket_page(first, ticket.id)
    version_2 = open_ticket_page(second, ticket.id)
    assert version_1 == version_2 == "1"

    response = first.post(
        f"/tickets/status/{ticket.id}", data={"status": "In Progress", "version": version_1}, follow_redirects=True
    )
    assert not conflict_shown(response)
    assert fresh(ticket).status == "In Progress"

    response = second.post(
        f"/tickets/status/{ticket.id}",
        data={"status": "Resolved", "version": version_2, "resolution_notes": "Refunded"},
        follow_redirects=True,
    )
    stored = fresh(ticket)
    assert stored.status == "In Progress"
    assert stored.resolved_at is None and stored.resolved_by_id is None and stored.resolution_notes is None
    assert stored.version == 2
    assert [e.new_value for e in stored.events if e.field == "status"] == ["In Progress"]
    # the ticket page again, the notes kept in the open resolve form
    assert response.status_code == 409
    assert conflict_shown(response), flashes(response)
    assert ">Refunded</textarea>" in response.get_data(as_text=True)


def test_status_change_after_an_edit_is_refused(two):
    ticket, first, second = two
    version = open_ticket_page(first, ticket.id)
    form = open_edit_form(second, ticket.id)
    form["priority"] = ["Urgent"]
    second.post(f"/tickets/edit/{ticket.id}", data=form)
    assert fresh(ticket).priority == "Urgent"

    response = first.post(
        f"/tickets/status/{ticket.id}",
        data={"status": "Resolved", "version": version, "resolution_notes": "Done"},
        follow_redirects=True,
    )
    stored = fresh(ticket)
    assert stored.status == "Open"
    assert stored.priority == "Urgent"
    assert stored.resolution_notes is None
    assert conflict_shown(response)


@pytest.mark.parametrize("version", [None, "", "0", "2"])
def test_status_change_with_missing_or_wrong_version_is_refused(two, version):
    ticket, first, _ = two
    data = {"status": "In Progress"}
    if version is not None:
        data["version"] = version
    response = first.post(f"/tickets/status/{ticket.id}", data=data, follow_redirects=True)
    assert fresh(ticket).status == "Open"
    assert fresh(ticket).version == 1
    assert conflict_shown(response)


def test_a_fresh_page_after_a_conflict_works(two):
    ticket, first, second = two
    stale = open_ticket_page(second, ticket.id)
    first.post(f"/tickets/status/{ticket.id}", data={"status": "In Progress", "version": open_ticket_page(first, ticket.id)})
    assert conflict_shown(
        second.post(f"/tickets/status/{ticket.id}", data={"status": "Open", "version": stale}, follow_redirects=True)
    )
    current = open_ticket_page(second, ticket.id)
    assert current == "2"
    response = second.post(
        f"/tickets/status/{ticket.id}", data={"status": "Open", "version": current}, follow_redirects=True
    )
    assert not conflict_shown(response)
    assert fresh(ticket).status == "Open"


# --- the database-level guard ----------------------------------------------------------------


def test_concurrent_sessions_raise_stale_data_and_keep_the_first_value(cast):
    _, ticket = cast
    ticket_id = ticket.id
    db.session.remove()  # the test's own session holds nothing while the two race
    with Session(db.engine) as one, Session(db.engine) as other:
        mine = one.get(Ticket, ticket_id)
        theirs = other.get(Ticket, ticket_id)
        assert mine.version == theirs.version == 1

        mine.subject = "First writer wins"
        one.commit()

        theirs.priority = "Urgent"
        theirs.subject = "Second writer"
        with pytest.raises(StaleDataError):
            other.commit()
        other.rollback()

    stored = db.session.get(Ticket, ticket_id)
    assert stored.subject == "First writer wins"
    assert stored.priority == "High"
    assert stored.version == 2


def test_sequential_sessions_do_not_conflict(cast):
    """The guard only fires on a real race: a session that reloads sees the new version."""
    _, ticket = cast
    ticket_id = ticket.id
    db.session.remove()
    with Session(db.engine) as one:
        one.get(Ticket, ticket_id).subject = "First"
        one.commit()
    with Session(db.engine) as other:
        row = other.get(Ticket, ticket_id)
        assert row.version == 2
        row.priority = "Low"
        other.commit()
    stored = db.session.get(Ticket, ticket_id)
    assert (stored.subject, stored.priority, stored.version) == ("First", "Low", 3)
