"""The agent's workspace list: domain filters, queues, severity order, rows in the company's time."""
from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Ticket, ticket_assignee
from app.tickets.queues import QUEUES
from tests.conftest import DOM, INTL
from tests.test_api import api_for, token_for  # noqa: F401  (fixtures)
from tests.test_queries import LIST_PAGE_BUDGET, count_statements

QUEUE = {queue.key: queue for queue in QUEUES}


def listed(html: bytes) -> list[str]:
    """The booking IDs of the rows, in order."""
    return re.findall(r'<td class="col-booking">([^<]*)</td>', html.decode())


def get_list(client, args) -> bytes:
    response = client.get(f"/tickets/list/?{urlencode(args)}")
    assert response.status_code == 200, response.status_code
    return response.data


@pytest.fixture
def floor(make_person, make_ticket):
    """A lead and two agents of International, one Domestic agent, and a spread of tickets."""
    lead = make_person("Lena Lead", "Lead", (INTL,))
    asha = make_person("Asha Agent", "Agent", (INTL,))
    omar = make_person("Omar Other", "Agent", (INTL,))
    dev = make_person("Dev Domestic", "Agent", (DOM,))
    made = {
        "OPEN-LOW": make_ticket(asha, INTL, assignees=[asha], priority="Low", booking_id="OPEN-LOW"),
        "WAIT-URG": make_ticket(asha, INTL, assignees=[omar], priority="Urgent", status="Waiting", booking_id="WAIT-URG"),
        "PROG-MED": make_ticket(omar, INTL, assignees=[asha, omar], priority="Medium", status="In Progress",
                                booking_id="PROG-MED"),
        "NOBODY-HI": make_ticket(omar, INTL, priority="High", booking_id="NOBODY-HI"),
        "DONE-URG": make_ticket(asha, INTL, assignees=[asha], priority="Urgent", status="Resolved",
                                resolved_at=datetime(2026, 12, 1, 10), booking_id="DONE-URG"),
        "DOM-NOBODY": make_ticket(dev, DOM, priority="Low", booking_id="DOM-NOBODY"),
    }
    return {"lead": lead, "asha": asha, "omar": omar, "dev": dev}, made


def test_status_filter_takes_several_choices(floor, client_for):
    people, _ = floor
    client = client_for(people["lead"])
    page = get_list(client, [("_flt_0_status", "Open"), ("_flt_0_status", "Waiting")])
    assert sorted(listed(page)) == ["NOBODY-HI", "OPEN-LOW", "WAIT-URG"]
    # The filter bar shows both choices selected, and each as a chip that can be removed.
    assert b'<option value="Open" selected>' in page and b'<option value="Waiting" selected>' in page
    chips = re.findall(rb'<a href="([^"]+)" class="filter-chip-remove"', page)
    assert len(chips) == 2
    without_open = client.get(chips[0].decode().replace("&amp;", "&")).data
    assert sorted(listed(without_open)) == ["WAIT-URG"]


def test_priority_and_team_choices_and_no_string_operators(floor, client_for, make_person):
    people, _ = floor
    admin = make_person("Ada Admin", "Admin")
    client = client_for(admin)
    page = get_list(client, [("_flt_0_priority", "Urgent"), ("_flt_0_priority", "High")])
    assert sorted(listed(page)) == ["DONE-URG", "NOBODY-HI", "WAIT-URG"]
    dom_id = db.session.query(Ticket).filter_by(booking_id="DOM-NOBODY").one().team_id
    assert listed(get_list(client, [("_flt_0_team", str(dom_id))])) == ["DOM-NOBODY"]
    for operator in (b"Starts with", b"Ends with", b"Not Equal to", b"Contains"):
        assert operator not in page


def test_my_teams_no_assignee_me_and_creator(floor, client_for):
    people, _ = floor
    lead = client_for(people["lead"])
    # Unassigned: tickets of my teams with nobody on them (the Domestic one is not my team's).
    assert listed(get_list(lead, [("_flt_0_team", "mine"), ("_flt_0_assignees", "none")])) == ["NOBODY-HI"]
    asha = client_for(people["asha"])
    assert sorted(listed(get_list(asha, [("_flt_0_assignees", "me")]))) == ["DONE-URG", "OPEN-LOW", "PROG-MED"]
    assert sorted(listed(get_list(asha, [("_flt_0_created_by", "me")]))) == ["DONE-URG", "OPEN-LOW", "WAIT-URG"]
    omar_id = str(people["omar"].id)
    # Several people: any of them; "none" together with a person: theirs or nobody's.
    assert sorted(listed(get_list(lead, [("_flt_0_assignees", omar_id), ("_flt_0_assignees", "none")]))) == [
        "NOBODY-HI", "PROG-MED", "WAIT-URG"]


def test_filters_never_reach_past_visibility(floor, client_for):
    people, _ = floor
    dev = client_for(people["dev"])
    # The Domestic agent asks for International's unassigned tickets: only what they may see.
    page = get_list(dev, [("_flt_0_assignees", "none"), ("_flt_0_priority", "High")])
    assert listed(page) == [] and b'data-record-count="0"' in page


def test_dates_are_the_company_days(floor, client_for, app):
    people, made = floor
    ticket = made["OPEN-LOW"]
    # 20:00 UTC on 2 December is 01:30 on 3 December in India.
    ticket.created_at = datetime(2026, 12, 2, 20, 0)
    db.session.commit()
    client = client_for(people["lead"])
    on_third = get_list(client, [("_flt_0_created_at", "2026-12-03"), ("_flt_1_created_at", "2026-12-03"),
                                 ("_flt_0_booking_id", "OPEN-LOW")])
    assert listed(on_third) == ["OPEN-LOW"]
    on_second = get_list(client, [("_flt_1_created_at", "2026-12-02"), ("_flt_0_booking_id", "open-low")])
    assert listed(on_second) == []
    resolved = get_list(client, [("_flt_0_resolved_at", "2026-12-01"), ("_flt_1_resolved_at", "2026-12-01")])
    assert listed(resolved) == ["DONE-URG"]


def test_a_value_that_means_nothing_is_named_and_the_rest_applies(floor, client_for):
    people, _ = floor
    client = client_for(people["lead"])
    page = get_list(client, [("_flt_0_status", "Bogus"), ("_flt_0_status", "Waiting"),
                             ("_flt_0_created_at", "yesterday-ish")])
    text = page.decode()
    assert "Status: “Bogus” is not a valid choice" in text
    assert "Created: “yesterday-ish” is not a valid choice" in text
    assert listed(page) == ["WAIT-URG"]


def test_priority_sorts_by_severity_in_the_list_and_the_api(floor, client_for, api_for):
    people, _ = floor
    lead = people["lead"]
    client = client_for(lead)
    order = [("_oc_TicketModelView", "priority"), ("_od_TicketModelView", "desc"), ("_flt_0_team", "mine")]
    severities = {"URG": 4, "HI": 3, "MED": 2, "LOW": 1}
    shown = listed(get_list(client, order))
    assert [severities[b.rsplit("-", 1)[1]] for b in shown] == [4, 4, 3, 2, 1], shown
    ascending = listed(get_list(client, order[:1] + [("_od_TicketModelView", "asc"), ("_flt_0_team", "mine")]))
    assert [severities[b.rsplit("-", 1)[1]] for b in ascending] == [1, 2, 3, 4, 4], ascending

    answer = api_for(lead).get("/api/v1/ticket/", q={"order_column": "priority", "order_direction": "desc"})
    assert answer.status_code == 200, answer.json
    assert [row["priority"] for row in answer.json["result"]] == ["Urgent", "Urgent", "High", "Medium", "Low"]


def test_rows_link_badge_and_read_in_the_company_time(floor, client_for):
    people, made = floor
    ticket = made["WAIT-URG"]
    ticket.updated_at = datetime(2026, 12, 2, 20, 0)  # 01:30 IST on the 3rd
    db.session.commit()
    page = get_list(client_for(people["lead"]), [("_flt_0_booking_id", "WAIT-URG")]).decode()
    row = re.search(r'<tr class="ticket-row".*?</tr>', page, re.S).group(0)
    assert f'href="/tickets/show/{ticket.id}">ESC-{ticket.id}</a>' in row
    assert f'href="/tickets/show/{ticket.id}" class="ticket-link">Refund not received</a>' in row
    assert 'data-status="Waiting">Waiting</span>' in row and 'data-priority="Urgent">Urgent</span>' in row
    assert "03 Dec 01:30 IST" in row and "UTC" not in row
    assert re.search(r'class="col-age"[^>]*>.*?\d+ (min|h|d)</td>', row, re.S)


@pytest.mark.parametrize("key", [queue.key for queue in QUEUES])
def test_each_queue_is_the_list_with_its_filters(floor, client_for, key):
    people, _ = floor
    client = client_for(people["lead"])
    with count_statements() as statements:
        response = client.get(QUEUE[key].href)
    assert response.status_code == 200
    assert len(statements) <= LIST_PAGE_BUDGET, statements
    page = response.data.decode()
    assert f'<h1 class="h3" id="list-title">{QUEUE[key].label}</h1>' in page
    assert f'class="active"><a href="{QUEUE[key].href.replace("&", "&amp;")}" data-queue="{key}"' in page
    expected = {
        "my_open": [],  # the lead has nothing assigned
        "unassigned": ["NOBODY-HI"],
        "urgent": ["WAIT-URG"],
        "overdue": [],
        "due_soon": [],
        "waiting": ["WAIT-URG"],
    }
    if key not in expected:
        return  # recently resolved depends on today's date: see its own test
    assert sorted(listed(response.data)) == expected[key]
    if not expected[key]:
        assert 'id="empty-state"' in page and str(QUEUE[key].empty) in page


def test_my_open_tickets_is_the_agents_open_work(floor, client_for):
    people, _ = floor
    page = client_for(people["asha"]).get(QUEUE["my_open"].href).data
    assert sorted(listed(page)) == ["OPEN-LOW", "PROG-MED"]  # not the resolved one, not Omar's
    assert client_for(people["asha"]).get("/tickets/mine/").headers["Location"].endswith(QUEUE["my_open"].href)


def test_recently_resolved_is_the_last_seven_days(floor, client_for):
    people, made = floor
    client = client_for(people["lead"])
    made["DONE-URG"].resolved_at = datetime(2026, 11, 1, 10)
    db.session.commit()
    assert listed(client.get(QUEUE["recently_resolved"].href).data) == []
    made["DONE-URG"].resolved_at = datetime.utcnow()
    db.session.commit()
    assert listed(client.get(QUEUE["recently_resolved"].href).data) == ["DONE-URG"]


def test_empty_states_say_what_to_do(make_person, client_for):
    newcomer = client_for(make_person("New Nila", "Agent", (INTL,)))
    page = newcomer.get(QUEUE["my_open"].href).data.decode()
    assert "No open tickets assigned to you." in page and 'href="/tickets/add"' in page
    assert "No tickets yet." in newcomer.get("/tickets/list/").data.decode()
    filtered = newcomer.get("/tickets/list/?_flt_0_priority=Low").data.decode()
    assert "No tickets match these filters." in filtered and "Clear all filters" in filtered


def test_many_filters_cost_no_more_statements(floor, client_for):
    people, _ = floor
    client = client_for(people["lead"])
    args = [("_flt_0_status", "Open"), ("_flt_0_status", "Waiting"), ("_flt_0_status", "In Progress"),
            ("_flt_0_team", "mine"), ("_flt_0_assignees", str(people["omar"].id)), ("_flt_0_assignees", "none"),
            ("_flt_0_created_by", str(people["asha"].id)), ("_flt_0_created_by", str(people["omar"].id)),
            ("_flt_0_created_at", "2020-01-01"), ("_flt_1_created_at", "2099-12-31"),
            ("_oc_TicketModelView", "priority"), ("_od_TicketModelView", "desc"), ("psize_TicketModelView", "2")]
    with count_statements() as statements:
        page = get_list(client, args)
    assert listed(page) == ["WAIT-URG", "NOBODY-HI"] and b'data-record-count="3"' in page
    assert len(statements) <= LIST_PAGE_BUDGET, "\n".join(statements)
    assert b"Omar Other &lt;omar.other@deyor.test&gt;" in page  # the chosen person, named in the picker


def test_an_esc_number_opens_its_ticket_whatever_the_filters(floor, client_for):
    people, made = floor
    client = client_for(people["asha"])
    ticket = made["PROG-MED"]
    # The queue of Waiting tickets does not hold it; the ESC number still opens it.
    answer = client.get(f"/tickets/list/?_flt_0_status=Waiting&search=ESC-{ticket.id}")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/tickets/show/{ticket.id}")
    # Another team's ticket by its number: the list, empty, as for any ticket that does not exist.
    hidden = made["DOM-NOBODY"]
    for term in (f"ESC-{hidden.id}", f"#{hidden.id}", "ESC-999999"):
        answer = client.get("/tickets/list/", query_string={"search": term})
        assert answer.status_code == 200 and listed(answer.data) == [], term


def assignment_copies(ticket_id: int) -> set:
    """(ticket_updated_at, ticket_status) of each of a ticket's assignment rows."""
    rows = db.session.execute(
        select(ticket_assignee.c.ticket_updated_at, ticket_assignee.c.ticket_status)
        .where(ticket_assignee.c.ticket_id == ticket_id)
    )
    return {tuple(row) for row in rows}


def test_each_assignment_carries_its_tickets_last_update_and_status(floor, app):
    """The database keeps ticket_assignee's copies of the ticket's updated_at and status equal
    to the ticket's (migration 0020's triggers): when a person is assigned, when the ticket
    changes, and not when a write leaves both as they were."""
    people, made = floor
    ticket = made["PROG-MED"]
    assert assignment_copies(ticket.id) == {(ticket.updated_at, "In Progress")}
    ticket.subject = "Refund still not received"
    ticket.updated_at = datetime(2026, 12, 2, 8, 30)
    db.session.commit()
    assert assignment_copies(ticket.id) == {(datetime(2026, 12, 2, 8, 30), "In Progress")}
    ticket.status = "Waiting"
    db.session.commit()
    assert assignment_copies(ticket.id) == {(db.session.get(Ticket, ticket.id).updated_at, "Waiting")}
    # A status changed by a plain UPDATE that keeps updated_at is copied too.
    db.session.execute(Ticket.__table__.update().where(Ticket.id == ticket.id)
                       .values(status="Open", updated_at=Ticket.__table__.c.updated_at))
    db.session.commit()
    assert {status for _when, status in assignment_copies(ticket.id)} == {"Open"}
    # A newly assigned person's row takes the ticket's time and status as they are when inserted.
    ticket = made["NOBODY-HI"]
    db.session.execute(ticket_assignee.insert().values(ticket_id=ticket.id, user_id=people["asha"].id))
    db.session.commit()
    assert assignment_copies(ticket.id) == {(db.session.get(Ticket, ticket.id).updated_at, "Open")}
    # A write that keeps both (as the SLA scheduler's) leaves the copies alone.
    db.session.execute(ticket_assignee.update().where(ticket_assignee.c.ticket_id == ticket.id)
                       .values(ticket_updated_at=datetime(2000, 1, 1)))
    db.session.execute(Ticket.__table__.update().where(Ticket.id == ticket.id)
                       .values(priority="Low", updated_at=Ticket.__table__.c.updated_at))
    db.session.commit()
    assert assignment_copies(ticket.id) == {(datetime(2000, 1, 1), "Open")}


@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_an_agents_list_by_last_update_agrees_with_the_filtered_path(floor, client_for, make_ticket, direction):
    """An agent's plain list by last update reads the copies (one pass over two indexes); with
    any filter the list sorts the ticket table itself. Both give the same rows in the same
    order and the same count, on every page, with a ticket the agent both created and is
    assigned to listed once."""
    people, made = floor
    asha = people["asha"]
    for number in range(7):
        made[f"MORE-{number}"] = make_ticket(people["omar"], INTL, assignees=[asha], booking_id=f"MORE-{number}")
    times = [datetime(2026, 11, day, 9) for day in (5, 3, 9, 1, 7, 3, 2, 8, 4, 6, 3)]
    for ticket, when in zip(made.values(), times):
        ticket.updated_at = when  # ties included: the id breaks them
    db.session.commit()
    client = client_for(asha)
    every_status = [("_flt_0_status", status) for status in ("Open", "In Progress", "Waiting", "Resolved")]
    sort = [("_oc_TicketModelView", "updated_at"), ("_od_TicketModelView", direction), ("psize_TicketModelView", "25")]
    plain, filtered = get_list(client, sort), get_list(client, sort + every_status)
    expected = sorted((t for t in made.values() if t.created_by_id == asha.id or asha in t.assignees),
                      key=lambda t: (t.updated_at, t.id), reverse=direction == "desc")
    assert listed(plain) == listed(filtered) == [t.booking_id for t in expected]
    assert len(expected) == 11 and b'data-record-count="11"' in plain
    for page in range(4):  # pages of three: the same rows page by page, the last one short
        paged = sort[:2] + [("psize_TicketModelView", "3"), ("page_TicketModelView", str(page))]
        plain_page, filtered_page = get_list(client, paged), get_list(client, paged + every_status)
        assert listed(plain_page) == listed(filtered_page) == [t.booking_id for t in expected[page * 3:page * 3 + 3]]
        assert b'data-record-count="11"' in plain_page and b'data-record-count="11"' in filtered_page
    with count_statements() as statements:
        get_list(client, sort)
    assert len(statements) <= LIST_PAGE_BUDGET, "\n".join(statements)
    assert not any("FROM ticket WHERE ticket.id IN" in statement for statement in statements)


@pytest.mark.parametrize("who", ["asha", "lead"])
def test_my_open_tickets_from_the_assignments_agree_with_the_filtered_path(floor, client_for, make_ticket, who):
    """Anyone's My open tickets (assigned to me, open, by last update) is read from the
    assignments' copies alone; with one more filter that keeps every ticket (all priorities)
    the list sorts the ticket table itself. Same rows, order and count, page by page."""
    people, made = floor
    me = people[who]
    for number in range(5):
        made[f"MINE-{number}"] = make_ticket(people["omar"], INTL, assignees=[me], booking_id=f"MINE-{number}",
                                             status=("Open", "Waiting", "Resolved")[number % 3])
    for ticket, day in zip(made.values(), (5, 3, 9, 1, 7, 3, 2, 8, 4, 6, 3)):
        ticket.updated_at = datetime(2026, 11, day, 9)
    db.session.commit()
    client = client_for(me)
    queue = list(QUEUE["my_open"].args)
    every_priority = [("_flt_0_priority", priority) for priority in ("Low", "Medium", "High", "Urgent")]
    expected = sorted((t for t in made.values() if me in t.assignees and t.status != "Resolved"),
                      key=lambda t: (t.updated_at, t.id), reverse=True)
    assert len(expected) >= 4
    for page in range(2):
        paged = queue + [("psize_TicketModelView", "3"), ("page_TicketModelView", str(page))]
        fast, slow = get_list(client, paged), get_list(client, paged + every_priority)
        assert listed(fast) == listed(slow) == [t.booking_id for t in expected[page * 3:page * 3 + 3]]
        assert f'data-record-count="{len(expected)}"'.encode() in fast
    with count_statements() as statements:
        get_list(client, queue)
    assert len(statements) <= LIST_PAGE_BUDGET, "\n".join(statements)
    assert any("ticket_assignee.ticket_status IN" in statement for statement in statements), "\n".join(statements)
