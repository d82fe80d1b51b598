"""Saved views: a person saves the list's filters, search and sort under a name; the views are in
their Tickets menu, private to them, and can be opened, renamed and deleted."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.extensions import db
from app.models import SavedView
from app.models.saved_view import MAX_NAME, MAX_QUERY
from app.tickets.saved_views import clean_query
from app.tickets.validation import InvalidValue
from tests.conftest import INTL
from tests.test_queries import LIST_PAGE_BUDGET, count_statements

FILTERED = "_flt_0_status=Open&search=goa&_oc_TicketModelView=priority&_od_TicketModelView=asc"


def views_of(person) -> list[SavedView]:
    db.session.expire_all()
    return db.session.query(SavedView).filter_by(person_id=person.id).order_by(SavedView.id).all()


def save(client, name: str, query: str = FILTERED):
    return client.post("/views/save", data={"name": name, "query": query})


def flashed(client) -> str:
    """The page after a redirect, where the flash message shows."""
    return client.get("/views/").data.decode()


@pytest.fixture
def agent(make_person):
    return make_person("Asha Agent", "Agent", (INTL,))


def test_save_redirects_to_the_list_with_the_query_and_shows_in_the_menu(agent, client_for, make_ticket):
    # (two hits: a search with one hit opens that ticket instead of the list)
    make_ticket(agent, INTL, assignees=[agent], subject="Hotel in Goa")
    make_ticket(agent, INTL, assignees=[agent], subject="Goa transfer missed", status="Open")
    client = client_for(agent)
    response = save(client, "  Goa, open  ")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/tickets/list/"
    assert dict(parse_qsl(location.query)) == dict(parse_qsl(FILTERED))

    [view] = views_of(agent)
    assert view.name == "Goa, open"  # trimmed
    assert dict(parse_qsl(view.query)) == dict(parse_qsl(FILTERED))

    page = client.get(response.headers["Location"]).data.decode()
    assert "“Goa, open” saved" in page  # the flash
    assert f'href="/views/{view.id}/open"' in page  # in the Tickets menu
    assert "Goa, open" in page
    # on every page, not just the list
    assert f'href="/views/{view.id}/open"' in client.get("/views/").data.decode()


def test_open_redirects_to_the_saved_list(agent, client_for):
    client = client_for(agent)
    save(client, "Mine")
    [view] = views_of(agent)
    response = client.get(f"/views/{view.id}/open")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/tickets/list/?{view.query}"
    assert client.get(response.headers["Location"]).status_code == 200


def test_the_query_is_sanitised(agent, client_for):
    client = client_for(agent)
    raw = (
        "?page_TicketModelView=3&_flt_0_status=Open&_flt_0_status=Waiting&search=&evil=1"
        "&_oc_TicketModelView=priority&_od_TicketModelView=sideways&psize_TicketModelView=50"
        "&psize_TeamModelView=10&_oc_TicketModelView2=x&next=https://evil.example"
    )
    save(client, "Clean", raw)
    [view] = views_of(agent)
    assert parse_qsl(view.query) == [
        ("_flt_0_status", "Open"), ("_flt_0_status", "Waiting"),
        ("_oc_TicketModelView", "priority"), ("psize_TicketModelView", "50"),
    ]


def test_clean_query_refuses_an_overlong_query():
    assert clean_query("search=" + "x" * 100) == "search=" + "x" * 100
    with pytest.raises(InvalidValue, match="Filters"):
        clean_query("search=" + "x" * MAX_QUERY)
    assert clean_query("psize_TicketModelView=1000&psize_TicketModelView=abc") == ""


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Name is required."),
        ("   ", "Name is required."),
        ("x" * (MAX_NAME + 1), f"Name must be at most {MAX_NAME} characters."),
        ("two\nlines", "Name must be one line of text"),
    ],
)
def test_bad_names_save_nothing_and_say_why(agent, client_for, name, message):
    client = client_for(agent)
    response = save(client, name)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/tickets/list/?")  # back to the list as it was
    assert views_of(agent) == []
    assert message in flashed(client)


def test_a_duplicate_name_is_refused_whatever_its_case(agent, client_for):
    client = client_for(agent)
    save(client, "Overdue VIP")
    save(client, "overdue vip", "search=other")
    assert "you already have a view called “overdue vip”" in flashed(client)
    [view] = views_of(agent)
    assert view.name == "Overdue VIP" and "other" not in view.query


def test_the_same_name_for_two_people_is_fine(agent, make_person, client_for):
    other = make_person("Omar Other", "Agent", (INTL,))
    save(client_for(agent), "Goa")
    save(client_for(other), "Goa")
    assert [v.name for v in views_of(agent)] == ["Goa"]
    assert [v.name for v in views_of(other)] == ["Goa"]


def test_rename_and_delete(agent, client_for):
    client = client_for(agent)
    save(client, "First")
    save(client, "Second", "search=second")
    first, second = views_of(agent)

    response = client.post(f"/views/{first.id}/rename", data={"name": "Renamed"})
    assert response.status_code == 302 and response.headers["Location"] == "/views/"
    assert "“First” renamed to “Renamed”" in flashed(client)
    assert views_of(agent)[0].name == "Renamed"

    # bad and duplicate names leave it as it was
    client.post(f"/views/{first.id}/rename", data={"name": ""})
    assert "Name is required." in flashed(client)
    client.post(f"/views/{first.id}/rename", data={"name": "SECOND"})
    assert "you already have a view called “SECOND”" in flashed(client)
    assert [v.name for v in views_of(agent)] == ["Renamed", "Second"]
    # renaming to its own name in another case is allowed
    client.post(f"/views/{first.id}/rename", data={"name": "RENAMED"})
    assert views_of(agent)[0].name == "RENAMED"

    response = client.post(f"/views/{second.id}/delete")
    assert response.status_code == 302
    assert "“Second” deleted" in flashed(client)
    assert [v.name for v in views_of(agent)] == ["RENAMED"]
    assert "Second" not in client.get("/tickets/list/").data.decode()


def test_views_are_private_to_their_person(agent, make_person, client_for):
    save(client_for(agent), "Asha's view")
    [view] = views_of(agent)
    for other in (make_person("Omar Other", "Agent", (INTL,)), make_person("Ada Admin", "Admin")):
        client = client_for(other)
        assert client.get(f"/views/{view.id}/open").status_code == 404
        assert client.post(f"/views/{view.id}/rename", data={"name": "Taken"}).status_code == 404
        assert client.post(f"/views/{view.id}/delete").status_code == 404
        assert "Asha&#39;s view" not in client.get("/views/").data.decode()
        assert "Asha&#39;s view" not in client.get("/tickets/list/").data.decode()
    assert [v.name for v in views_of(agent)] == ["Asha's view"]
    assert client_for(agent).get("/views/999999/open").status_code == 404


def test_reading_is_get_and_changing_is_post(agent, client_for):
    client = client_for(agent)
    save(client, "Mine")
    [view] = views_of(agent)
    assert client.get("/views/save").status_code == 405
    assert client.get(f"/views/{view.id}/delete").status_code == 405
    assert views_of(agent)


def test_anonymous_is_sent_to_login(app):
    response = app.test_client().post("/views/save", data={"name": "x", "query": ""})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["Agent", "Lead", "Admin"])
def test_every_staff_role_has_the_save_form(make_person, client_for, role):
    person = make_person(f"Some {role}", role, (INTL,))
    page = client_for(person).get("/tickets/list/?_flt_0_status=Open").data.decode()
    assert 'action="/views/save"' in page
    assert re.search(r'name="query" value="_flt_0_status=Open"', page)


def test_the_list_page_budget_holds_with_saved_views(agent, client_for, make_ticket):
    """The menu's views come with the person's own statement: none added per page."""
    for n in range(3):
        make_ticket(agent, INTL, assignees=[agent], booking_id=f"BK-{n:04d}")
    client = client_for(agent)
    with count_statements() as before:
        client.get("/tickets/list/")
    for n in range(5):
        save(client, f"View {n}", f"search=bk-{n}")
    with count_statements() as after:
        page = client.get("/tickets/list/").data.decode()
    assert page.count('class="saved-view-link"') == 5
    assert len(after) == len(before) <= LIST_PAGE_BUDGET


def test_a_persons_views_go_with_them(agent, client_for):
    save(client_for(agent), "Mine")
    db.session.delete(db.session.get(type(agent), agent.id))
    db.session.commit()
    assert db.session.query(SavedView).count() == 0


def test_the_database_refuses_a_duplicate_name_in_another_case(agent):
    """The unique index on (person_id, lower(name)) backs the check when two saves race."""
    from sqlalchemy.exc import IntegrityError

    db.session.add(SavedView(person_id=agent.id, name="Überfällig", query=""))
    db.session.commit()
    db.session.add(SavedView(person_id=agent.id, name="überFÄLLIG", query=""))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
