"""The audit log's admin screen and GET /api/v1/audit/: admins only (every other role 403),
read-only, newest first, filters by person, kind, time range and search, times shown in
DISPLAY_TIMEZONE, a page's statements bounded."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.models import AuditEvent
from tests.conftest import INTL
from tests.test_api import api_for, token_for  # noqa: F401  (fixtures)
from tests.test_queries import count_statements

OLD, NEW = datetime(2026, 11, 1, 4, 30), datetime(2026, 12, 2, 10, 0)  # UTC


@pytest.fixture
def people(make_person):
    return {
        "Admin": make_person("Ada Admin", "Admin"),
        "Lead": make_person("Lena Lead", "Lead", (INTL,)),
        "Agent": make_person("Asha Agent", "Agent", (INTL,)),
    }


@pytest.fixture
def logged(people):
    """Two known events besides those the fixtures made: an old failed login, a recent role change."""
    admin, agent = people["Admin"], people["Agent"]
    db.session.add(AuditEvent(created_at=OLD, kind=audit.LOGIN_FAILED, email="mallory@example.test",
                              address="198.51.100.7"))
    db.session.add(AuditEvent(created_at=NEW, kind=audit.PERSON_ROLES_CHANGED, actor_id=admin.id, email=admin.email,
                              address="203.0.113.5", object_type="person", object_id=str(agent.id),
                              details={"roles": {"before": ["Agent"], "after": ["Admin"]}}))
    db.session.commit()
    return people


def rows(page: str) -> list[str]:
    return re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)[1:]


@pytest.mark.parametrize("role", ["Lead", "Agent"])
def test_every_other_role_gets_403(logged, client_for, api_for, role):
    person = logged[role]
    client = client_for(person)
    event_id = db.session.scalars(select(AuditEvent.id)).first()
    for url in ("/audit/list/", f"/audit/show/{event_id}", "/audit/people/?q=ada"):
        assert client.get(url).status_code == 403, url
    assert api_for(person).get("/api/v1/audit/").status_code == 403
    assert "/audit/list" not in client.get("/tickets/list/").get_data(as_text=True), "no menu entry"


def test_anonymous_is_sent_to_sign_in(app, logged):
    client = app.test_client()
    assert client.get("/audit/list/").status_code == 302
    assert client.get("/api/v1/audit/").status_code == 401


def test_the_admin_screen_newest_first_in_display_time(logged, client_for):
    client = client_for(logged["Admin"])
    page = client.get("/audit/list/").get_data(as_text=True)
    assert 'href="/audit/list/"' in page, "in the Admin menu"
    listed = rows(page)
    assert "Signed in" in listed[0], "the newest: this very sign-in"
    texts = "".join(listed)
    assert texts.index("Person&#39;s roles changed") < texts.index("Sign-in failed"), "newest first"
    assert "02 Dec 2026 15:30 IST" in texts and "01 Nov 2026 10:00 IST" in texts  # UTC+5:30
    assert "mallory@example.test" in texts and "198.51.100.7" in texts
    assert "Agent → Admin" in texts, "details in words"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == audit.PERSON_ROLES_CHANGED)).one()
    show = client.get(f"/audit/show/{event.id}").get_data(as_text=True)
    assert "Agent → Admin" in show and "Ada Admin" in show and "203.0.113.5" in show


def test_read_only(logged, client_for, api_for):
    client = client_for(logged["Admin"])
    event_id = db.session.scalars(select(AuditEvent.id)).first()
    assert client.get("/audit/add").status_code in (403, 404)
    assert client.get(f"/audit/edit/{event_id}").status_code in (403, 404)
    assert client.post(f"/audit/delete/{event_id}").status_code in (403, 404, 405)
    api = api_for(logged["Admin"])
    assert api.post("/api/v1/audit/", {"kind": "login"}).status_code == 405
    assert api.delete(f"/api/v1/audit/{event_id}").status_code in (404, 405)
    assert db.session.get(AuditEvent, event_id) is not None


def test_screen_filters_by_person_kind_time_and_search(logged, client_for):
    admin, agent = logged["Admin"], logged["Agent"]
    client = client_for(admin)

    def listed(query: str) -> str:
        response = client.get(f"/audit/list/?{query}")
        assert response.status_code == 200
        return "".join(rows(response.get_data(as_text=True)))

    by_kind = listed("_flt_3_kind=login_failed")
    assert "mallory@example.test" in by_kind and "Agent → Admin" not in by_kind
    by_person = listed(f"_flt_0_actor={admin.id}")
    assert "Agent → Admin" in by_person and "mallory" not in by_person
    assert "Agent → Admin" not in listed(f"_flt_0_actor={agent.id}")
    between = listed("_flt_1_created_at=2026-10-31+00:00:00&_flt_2_created_at=2026-11-02+00:00:00")
    assert "mallory" in between and "Agent → Admin" not in between
    searched = listed("_flt_2_email=mallory")
    assert "mallory" in searched and "Agent → Admin" not in searched
    people = client.get("/audit/people/?q=ada").json
    assert [p["id"] for p in people] == [admin.id], "an admin outside every team is found"


def test_the_api_items_filters_and_order(logged, api_for):
    admin, agent = logged["Admin"], logged["Agent"]
    api = api_for(admin)
    response = api.get("/api/v1/audit/")
    assert response.status_code == 200, response.json
    items = response.json["result"]
    assert set(items[0]) == {"created_at", "kind", "actor", "email", "address", "object_type", "object_id",
                             "details"}
    stamps = [item["created_at"] for item in items]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    assert items[0]["kind"] == audit.LOGIN and items[0]["actor"] == admin.id  # the API's own sign-in
    change = next(item for item in items if item["kind"] == audit.PERSON_ROLES_CHANGED)
    assert change == {
        "created_at": "2026-12-02T10:00:00+00:00", "kind": audit.PERSON_ROLES_CHANGED, "actor": admin.id,
        "email": admin.email, "address": "203.0.113.5", "object_type": "person", "object_id": str(agent.id),
        "details": {"roles": {"before": ["Agent"], "after": ["Admin"]}},
    }
    failed = api.get("/api/v1/audit/", q={"filters": [{"col": "kind", "opr": "eq", "value": "login_failed"}]})
    assert [item["email"] for item in failed.json["result"]] == ["mallory@example.test"]
    ranged = api.get("/api/v1/audit/", q={"filters": [
        {"col": "created_at", "opr": "gt", "value": "2026-12-01T00:00:00Z"},
        {"col": "created_at", "opr": "lt", "value": "2026-12-03T00:00:00+05:30"}]})
    assert [item["kind"] for item in ranged.json["result"]] == [audit.PERSON_ROLES_CHANGED]
    mine = api.get("/api/v1/audit/", q={"filters": [{"col": "actor", "opr": "rel_o_m", "value": admin.id}]})
    assert mine.status_code == 200, mine.json
    assert {item["actor"] for item in mine.json["result"]} == {admin.id}


def test_a_page_of_the_screen_is_a_few_statements(logged, client_for):
    """Whoever acted is joined into the page's one query: 50 rows, no statement per row."""
    client = client_for(logged["Admin"])
    for n in range(60):
        db.session.add(AuditEvent(kind=audit.LOGIN, actor_id=logged["Agent"].id if n % 2 else logged["Lead"].id))
    db.session.commit()
    client.get("/audit/list/")
    with count_statements() as statements:
        assert client.get("/audit/list/").status_code == 200
    assert len(statements) <= 8, statements
