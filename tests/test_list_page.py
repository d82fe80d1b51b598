"""The ticket list at scale: a count that stops counting, person filters fed as one types."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Ticket
from app.views.base import CappedCountInterface
from tests.conftest import DOM, INTL


def shown_count(html: bytes) -> str:
    return re.search(rb'data-record-count="([\d,+]+)"', html).group(1).decode()


def page_links(html: bytes) -> set[int]:
    return {int(n) for n in re.findall(rb"page_TicketModelView=(\d+)", html)}


@pytest.fixture
def sixty_tickets(make_person, make_ticket):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    for n in range(60):
        make_ticket(agent, INTL, booking_id=f"CNT-{n:04d}")
    return make_person("Ada Admin", "Admin"), agent


def test_count_stops_a_few_pages_ahead_and_the_pager_still_moves_on(sixty_tickets, client_for, monkeypatch):
    monkeypatch.setattr(CappedCountInterface, "count_cap", 20)
    monkeypatch.setattr(CappedCountInterface, "pages_ahead", 1)
    client = client_for(sixty_tickets[0])

    first = client.get("/tickets/list/?psize_TicketModelView=25").data
    assert shown_count(first) == "50+"  # counted to page 1 + one page ahead, then stopped
    assert 1 in page_links(first)
    assert first.count(b"CNT-") == 25

    last = client.get("/tickets/list/?psize_TicketModelView=25&page_TicketModelView=2").data
    assert shown_count(last) == "60"  # the short last page: its rows give the exact count
    assert last.count(b"CNT-") == 10

    beyond = client.get("/tickets/list/?psize_TicketModelView=25&page_TicketModelView=5").data
    assert shown_count(beyond) == "60"  # an empty page past the end is counted
    assert beyond.count(b"CNT-") == 0


def test_count_below_the_cap_is_exact_and_only_of_visible_tickets(sixty_tickets, make_person, make_ticket, client_for):
    admin, agent = sixty_tickets
    make_ticket(make_person("Dev Domestic", "Agent", (DOM,)), DOM, booking_id="DOM-0001")
    assert shown_count(client_for(admin).get("/tickets/list/").data) == "61"
    assert shown_count(client_for(agent).get("/tickets/list/").data) == "60"


def test_people_endpoint_finds_staff_by_name_or_email(make_person, client_for, app):
    agent = make_person("Meera Kapoor", "Agent", (INTL,))
    make_person("Meera Sharma", "Lead", (DOM,))
    make_person("Kapil Dev", "Agent", (DOM,))
    make_person("Meera Admin", "Admin")  # no team: not staff, never offered
    client = client_for(agent)

    def texts(q: str) -> list[str]:
        response = client.get("/tickets/people/", query_string={"q": q})
        assert response.status_code == 200
        return [row["text"] for row in response.get_json()]

    assert [t.split(" <")[0] for t in texts("meera")] == ["Meera Kapoor", "Meera Sharma"]
    assert [t.split(" <")[0] for t in texts("MEERA KAP")] == ["Meera Kapoor"]
    assert [t.split(" <")[0] for t in texts("kap")] == ["Kapil Dev", "Meera Kapoor"]
    assert texts(agent.email.upper()) == [f"Meera Kapoor <{agent.email}>"]
    assert texts("%") == []  # a wildcard is a literal character here
    response = client.get("/tickets/people/", query_string={"q": "meera"})
    assert all(set(row) == {"id", "text"} for row in response.get_json())


def test_people_endpoint_returns_at_most_twenty(make_person, client_for):
    people = [make_person(f"Agent {n:02d}", "Agent", (INTL,)) for n in range(25)]
    found = client_for(people[0]).get("/tickets/people/?q=agent").get_json()
    assert len(found) == 20
    assert found[0]["text"].startswith("Agent 00")


def test_people_endpoint_needs_a_login(app):
    response = app.test_client().get("/tickets/people/?q=a")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_person_filters_render_only_the_chosen_people(make_person, make_ticket, client_for):
    chosen = make_person("Chosen Colleague", "Agent", (INTL,))
    make_person("Nobody Chosen", "Agent", (INTL,))
    admin = make_person("Ada Admin", "Admin")
    make_ticket(chosen, INTL, assignees=[chosen], booking_id="FLT-0001")
    client = client_for(admin)

    plain = client.get("/tickets/list/").data
    assert b"Nobody Chosen" not in plain  # staff are not rendered into the filter form
    assert b"Chosen Colleague &lt;" not in plain  # (only in the row's assignee column)
    assert b"person-choice" in plain and b"/tickets/people/" in plain

    filtered = client.get(f"/tickets/list/?_flt_0_assignees={chosen.id}").data
    assert f'<option value="{chosen.id}" selected>Chosen Colleague &lt;{chosen.email}&gt;'.encode() in filtered
    assert b"Nobody Chosen" not in filtered
    assert b"FLT-0001" in filtered


def test_each_row_links_to_its_own_ticket(sixty_tickets, client_for):
    admin, agent = sixty_tickets
    newest = db.session.query(Ticket).order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(25).all()
    page = client_for(agent).get("/tickets/list/").data.decode()
    rows = re.findall(r'<tr class="ticket-row".*?</tr>', page, re.S)
    # The ESC number and the subject both open the ticket.
    linked = [[int(pk) for pk in re.findall(r'href="/tickets/show/(\d+)"', row)] for row in rows]
    assert linked == [[t.id, t.id] for t in newest]
    assert [f"ESC-{t.id}" for t in newest] == re.findall(r">(ESC-\d+)</a>", page)


def test_search_matches_within_a_field_never_across_two(make_person, make_ticket, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    make_ticket(agent, INTL, subject="Stuck in Goa", description="Hotel refused the voucher", booking_id="SEP-0001")
    client = client_for(agent)
    for term, found in (("in goa", True), ("refused the", True), ("sep-00", True),
                        ("goa hotel", False), ("goa\x1fhotel", False), ("goa\x1f", True)):
        page = client.get("/tickets/list/", query_string={"search": term}, follow_redirects=True).data
        assert (b"SEP-0001" in page) == found, term


def test_search_finds_a_ticket_by_its_number_and_never_a_hidden_one(make_person, make_ticket, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    other = make_person("Omar Other", "Agent", (INTL,))
    mine = make_ticket(agent, INTL, subject="Visa stuck", booking_id="NUM-0001")
    hidden = make_ticket(other, INTL, subject="Someone else's", booking_id="NUM-0002")
    make_ticket(agent, INTL, subject="Unrelated", booking_id="NUM-0003")
    client = client_for(agent)
    for term in (f"ESC-{mine.id}", f"esc {mine.id}", f"#{mine.id}", str(mine.id), f" Esc-{mine.id} "):
        answer = client.get("/tickets/list/", query_string={"search": term})
        # One hit: the ticket opens directly.
        assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/tickets/show/{mine.id}"), term
    for term in (f"ESC-{hidden.id}", str(hidden.id)):
        page = client.get("/tickets/list/", query_string={"search": term}).data
        assert b"NUM-0002" not in page and b"Someone else" not in page, term
    # Digits inside a field still match as text too: "0001" finds the booking NUM-0001.
    assert client.get("/tickets/list/", query_string={"search": "0001"}).headers["Location"].endswith(
        f"/tickets/show/{mine.id}")
    # Two hits: the list, with both.
    both = client.get("/tickets/list/", query_string={"search": "NUM-000"}).data
    assert b"NUM-0001" in both and b"NUM-0003" in both and b"NUM-0002" not in both


def test_search_is_one_indexed_test_per_row(app, backend):
    """PostgreSQL: the search uses the one trigram index of migration 0004 (so its expression
    and search_document() agree). SQLite: one lower() per row, not five."""
    from sqlalchemy import select, text

    from app.tickets.search import search_clause

    statement = select(Ticket.id).where(search_clause("meera kapoor"))
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if backend == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(conn.execute(text(f"EXPLAIN {sql}")).scalars())
        assert "ix_trgm_ticket_search" in plan, plan
    else:
        assert sql.count("lower(") == 2, sql  # the document's and the term's


@pytest.mark.parametrize("path, column", [("/teams/list/", "members"), ("/comments/list/", "author")])
def test_other_lists_do_not_render_every_person_either(make_person, make_ticket, client_for, path, column):
    from app.models import Comment

    domestic = make_person("Dev Domestic", "Agent", (DOM,))
    make_person("Nobody Chosen", "Agent", (INTL,))
    ticket = make_ticket(domestic, DOM, booking_id="DOM-0042")
    db.session.add(Comment(ticket=ticket, author=domestic, body="Called the station master"))
    db.session.commit()
    client = client_for(make_person("Ada Admin", "Admin"))

    plain = client.get(path).data
    assert b"Nobody Chosen" not in plain and b"person-filter" in plain
    filtered = client.get(f"{path}?_flt_0_{column}={domestic.id}").data
    assert b"\\u003eDev Domestic" in filtered  # the chosen person, in the filter
    assert (DOM.encode() if column == "members" else b"Called the station master") in filtered
    if column == "members":
        assert INTL.encode() not in filtered.split(b"Record Count")[1]
