"""SQL statements per page are bounded and do not grow with the rows shown (no N+1)."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Comment, utcnow
from app.notifications import health
from tests.conftest import INTL

LIST_PAGE_BUDGET = 6  # person with roles and groups, permissions (once per request), count, rows, assignees, teams
# person, permissions, ticket, comments with authors, history, team, creator, assignees, and the
# ticket's SLA policy with its calendar (windows and holidays are cached per process)
DETAIL_PAGE_BUDGET = 8  # person, permissions, ticket (team, creator, followers), assignees,
# comments with authors, files with uploaders, history, and the ticket's SLA policy with its calendar


@contextmanager
def count_statements():
    """The statements run inside the block. An admin's pages ask whether emails are failing once
    per half minute per process (the banner's kept answer, app/notifications/health.py), not once
    per page: asked afresh here, so no measurement straddles the half minute."""
    health.forget()
    health.cached_failing_since(db.session, utcnow(), key=str(db.engine.url))
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


@pytest.fixture
def busy_floor(make_person, make_ticket):
    lead = make_person("Lena Lead", "Lead", (INTL,))
    agents = [make_person(f"Agent {n}", "Agent", (INTL,)) for n in range(4)]
    admin = make_person("Ada Admin", "Admin")
    tickets = [
        make_ticket(agents[n % 4], INTL, assignees=[agents[(n + 1) % 4], agents[(n + 2) % 4]], booking_id=f"BK-{n:04d}")
        for n in range(60)
    ]
    return {"Admin": admin, "Lead": lead, "Agent": agents[1]}, tickets


@pytest.mark.parametrize("who", ["Admin", "Lead", "Agent"])
def test_list_page_statements_do_not_grow_with_page_size(busy_floor, client_for, who):
    people, _ = busy_floor
    client = client_for(people[who])
    counts = {}
    for size in (10, 50):
        with count_statements() as statements:
            response = client.get(f"/tickets/list/?psize_TicketModelView={size}")
        assert response.status_code == 200
        assert response.data.count(b"BK-") >= min(size, 30)  # really rendered rows
        counts[size] = len(statements)
    # (a short last page needs no count: its rows are the count)
    assert counts[50] <= counts[10] <= LIST_PAGE_BUDGET, counts

    with count_statements() as statements:
        client.get("/tickets/list/?psize_TicketModelView=50&search=bk-00")
    assert len(statements) <= LIST_PAGE_BUDGET


def test_detail_page_statements_do_not_grow_with_comments(busy_floor, client_for):
    people, tickets = busy_floor
    ticket = tickets[0]
    client = client_for(people["Admin"])
    url = f"/tickets/show/{ticket.id}"  # outside the count: the test's own reload of `ticket`
    with count_statements() as few:
        client.get(url)
    for n in range(20):
        db.session.add(Comment(ticket=ticket, author=people["Agent"], body=f"update {n}"))
    db.session.commit()
    with count_statements() as many:
        page = client.get(url).data
    assert page.count(b"ticket-comment") >= 20
    assert len(many) == len(few) <= DETAIL_PAGE_BUDGET, (len(few), len(many))


def test_detail_page_lists_files_without_more_statements(busy_floor, client_for):
    """Files on the ticket and on its comments come with the ticket's own query (no statement per
    file), and their content is never read by the page."""
    from app.attachments.service import add_attachment

    people, tickets = busy_floor
    ticket = tickets[0]
    client = client_for(people["Admin"])
    url = f"/tickets/show/{ticket.id}"  # outside the count: the test's own reload of `ticket`
    with count_statements() as none:
        client.get(url)
    for n in range(6):
        comment = Comment(ticket=ticket, author=people["Agent"], body=f"file {n}")
        db.session.add(comment)
        add_attachment(ticket, people["Agent"], f"note-{n}.txt", b"refund pending\n", comment=comment if n % 2 else None)
    db.session.commit()
    with count_statements() as six:
        page = client.get(url).data
    assert page.count(b"ticket-file-link") == 6 and page.count(b'class="comment-file"') == 3
    assert len(six) == len(none) <= DETAIL_PAGE_BUDGET, (len(none), len(six))
    assert not any("attachment_chunk" in statement or "attachment_thumbnail" in statement for statement in six)
