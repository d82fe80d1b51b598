"""The admin screens in the domain's words: refusals that explain, founders unique whatever the
case, retry that returns to the filtered list, the outbox at a glance and its banner; no FAB
internals; roles in words."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Founder, Notification, Person, Team, Ticket, utcnow
from app.notifications import health
from tests.conftest import DOM, INTL, fresh, team
from tests.test_api import api_for, token_for  # noqa: F401 (fixtures)


@pytest.fixture
def admin(make_person):
    return make_person("Ada Admin", "Admin")


@pytest.fixture(autouse=True)
def _no_kept_banner():
    health.forget()
    yield
    health.forget()


def alerts(page: str) -> list[str]:
    """The text of each alert on a page, whitespace collapsed."""
    found = re.findall(r'<div class="alert alert-[a-z]+[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>|&times;", " ", text).split()) for text in found]


# --- refusals that explain ----------------------------------------------------------------------
def test_deleting_a_team_with_tickets_says_why_and_what_to_do(admin, make_person, make_ticket, client_for):
    agent = make_person("Ari Agent", "Agent", (DOM,))
    make_ticket(agent, DOM)
    dom = team(DOM)
    response = client_for(admin).post(f"/teams/delete/{dom.id}", follow_redirects=True)
    messages = alerts(response.get_data(as_text=True))
    assert any("cannot be deleted: 1 ticket(s) belong to it" in m and "Move to team" in m for m in messages), messages
    assert fresh(dom) is not None


def test_deleting_an_unused_team_says_so_in_words(admin, client_for):
    spare = Team(name="Spare")
    db.session.add(spare)
    db.session.commit()
    spare_id = spare.id
    response = client_for(admin).post(f"/teams/delete/{spare_id}", follow_redirects=True)
    assert "Team deleted." in alerts(response.get_data(as_text=True))
    assert db.session.scalar(select(Team.id).where(Team.id == spare_id)) is None


def test_team_api_refuses_a_team_in_use_with_the_reason(api_for, admin, make_person, make_ticket):
    make_ticket(make_person("Ari Agent", "Agent", (DOM,)), DOM)
    response = api_for(admin).delete(f"/api/v1/team/{team(DOM).id}")
    assert response.status_code == 422
    assert "Move them to another team" in response.get_json()["message"]


def test_deleting_a_person_tickets_name_says_deactivate_instead(admin, make_person, make_ticket, client_for):
    agent = make_person("Ari Agent", "Agent", (INTL,))
    make_ticket(agent)
    response = client_for(admin).post(f"/users/delete/{agent.id}", follow_redirects=True)
    messages = alerts(response.get_data(as_text=True))
    assert any("Ari Agent cannot be deleted" in m and "Deactivate them instead" in m for m in messages), messages
    assert fresh(agent) is not None


def test_a_person_nothing_names_can_be_deleted(admin, make_person, client_for):
    newcomer = make_person("Nia New", "Agent", (INTL,))
    newcomer_id = newcomer.id
    response = client_for(admin).post(f"/users/delete/{newcomer_id}", follow_redirects=True)
    assert "Team member deleted." in alerts(response.get_data(as_text=True))
    assert db.session.scalar(select(Person.id).where(Person.id == newcomer_id)) is None


def test_founders_email_is_unique_whatever_its_case(admin, client_for):
    client = client_for(admin)
    assert client.post("/founders/add", data={"name": "Ravi", "email": "ravi@deyor.test", "active": "y"}).status_code == 302
    response = client.post("/founders/add", data={"name": "Ravi again", "email": "RAVI@deyor.test", "active": "y"})
    assert "A founder with this email already exists." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Founder)) == 1


def test_founders_lower_email_index_holds_in_the_database(app):
    db.session.add(Founder(name="A", email="Mixed@deyor.test"))
    db.session.commit()
    db.session.add(Founder(name="B", email="mixed@deyor.test"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_founder_api_refuses_the_same_email_in_another_case(api_for, admin):
    api = api_for(admin)
    assert api.post("/api/v1/founder/", {"name": "A", "email": "sam@deyor.test"}).status_code == 201
    response = api.post("/api/v1/founder/", {"name": "B", "email": "SAM@deyor.test"})
    assert response.status_code == 422


# --- the outbox: retry returns, badges, To/CC, the banner ----------------------------------------
def _notification(state: str, minutes_ago: float, attempts: int = 1, **fields) -> Notification:
    values = dict(event="created", to_addrs="to1@deyor.test, to2@deyor.test", cc_addrs="cc@deyor.test",
                  subject=f"{state} mail", body_text="x", body_html="x", message_id=f"<{state}-{minutes_ago}@x>",
                  state=state, attempts=attempts, last_error="SMTP 451" if attempts else None,
                  created_at=utcnow() - timedelta(minutes=minutes_ago), next_attempt_at=utcnow())
    values.update(fields)
    row = Notification(**values)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.mark.parametrize("route", ["bulk", "single"])
def test_retry_returns_to_the_filtered_list(admin, client_for, route):
    failed = _notification("failed", 5)
    client = client_for(admin)
    listed = "/notifications/list/?_flt_3_state=failed&psize_NotificationModelView=25"
    page = client.get(listed).get_data(as_text=True)
    assert 'id="action_form"' in page and "pathname + window.location.search" in page
    if route == "bulk":
        response = client.post("/notifications/action_post", data={"action": "retry", "rowid": str(failed.id), "next": listed})
    else:
        response = client.post(f"/notifications/action/retry/{failed.id}", data={"next": listed})
    assert response.status_code == 302 and response.headers["Location"] == listed
    assert fresh(failed).state == "pending"


def test_retry_never_returns_to_another_site_or_screen(admin, client_for):
    failed = _notification("failed", 5)
    client = client_for(admin)
    for target in ("https://evil.example/notifications/list/", "//evil.example/x", "/tickets/list/", ""):
        response = client.post("/notifications/action_post", data={"action": "retry", "rowid": str(failed.id), "next": target})
        assert response.headers["Location"] == "/notifications/list/", target


def test_retry_from_the_list_without_next_uses_the_list_it_came_from(admin, client_for):
    failed = _notification("failed", 5)
    response = client_for(admin).post(
        "/notifications/action_post", data={"action": "retry", "rowid": str(failed.id)},
        headers={"Referer": "http://localhost/notifications/list/?_flt_3_state=failed"})
    assert response.headers["Location"] == "/notifications/list/?_flt_3_state=failed"


def test_outbox_list_shows_state_badges_in_words_and_to_and_cc(admin, client_for):
    _notification("failed", 5)
    _notification("sent", 6, attempts=1, last_error=None)
    page = client_for(admin).get("/notifications/list/").get_data(as_text=True)
    assert re.search(r'<span class="label label-danger notification-state">\s*Failed\s*</span>', page)
    assert re.search(r'<span class="label label-success notification-state">\s*Sent\s*</span>', page)
    table = page[page.find("<table"):]
    assert ">CC<" in re.sub(r"\s+", "", table.replace("</a>", "<")) or "CC" in table
    assert "to1@deyor.test<br>to2@deyor.test" in table and "cc@deyor.test" in table


def test_banner_for_admins_when_emails_failed_for_more_than_15_minutes(admin, make_person, client_for):
    _notification("failed", 20)
    page = client_for(admin).get("/tickets/list/").get_data(as_text=True)
    banner = [m for m in alerts(page) if "Emails have been failing since" in m]
    assert banner, alerts(page)
    assert 'href="/notifications/list/?_flt_3_state=failed"' in page
    # Never for staff.
    lead = make_person("Lena Lead", "Lead", (INTL,))
    assert "Emails have been failing" not in client_for(lead).get("/tickets/list/").get_data(as_text=True)


@pytest.mark.parametrize("state,minutes_ago,attempts,shown", [
    ("failed", 10, 1, False),   # a recent failure: the next try may cure it
    ("pending", 20, 1, True),   # retrying after an error for 20 minutes
    ("pending", 20, 0, False),  # never tried yet (the worker's business, not a failure)
    ("sent", 20, 1, False),
    ("failed", 60 * 25, 1, False),  # older than a day: left alone on purpose
])
def test_what_counts_as_failing(app, state, minutes_ago, attempts, shown):
    _notification(state, minutes_ago, attempts=attempts)
    assert (health.failing_since(db.session, utcnow()) is not None) is shown


def test_failing_since_follows_the_injected_clock(app):
    row = _notification("failed", 0)
    assert health.failing_since(db.session, row.created_at + timedelta(minutes=14)) is None
    assert health.failing_since(db.session, row.created_at + timedelta(minutes=16)) == row.created_at


def test_banner_answer_is_kept_briefly(app):
    now, ticks = utcnow(), [100.0]
    clock = lambda: ticks[0]  # noqa: E731
    assert health.cached_failing_since(db.session, now, key="k", monotonic=clock) is None
    _notification("failed", 20)
    assert health.cached_failing_since(db.session, now, key="k", monotonic=clock) is None  # kept
    ticks[0] += health.CACHE_SECONDS + 1
    assert health.cached_failing_since(db.session, now, key="k", monotonic=clock) is not None


# --- no FAB internals ------------------------------------------------------------------------------
def _menu(page: str) -> str:
    return page[page.find('<ul class="nav navbar-nav">'):page.find("navbar-right")]


def test_admin_menu_has_people_and_roles_and_fab_internals_under_advanced(admin, client_for):
    page = client_for(admin).get("/tickets/list/").get_data(as_text=True)
    menu = _menu(page)
    assert "/users/list/" in menu and "/roles/list/" in menu
    assert "User&#39;s Statistics" not in page and "User's Statistics" not in page
    assert "/userstatschartview/" not in page
    # The FAB screens that are left come last, under "Advanced".
    advanced = menu[menu.rfind("Advanced"):]
    assert "/groups/list/" in advanced and "/viewmenus/list/" in advanced
    assert "/groups/list/" not in menu[:menu.rfind("Advanced")]
    assert "List Users" not in menu and "List Roles" not in menu


@pytest.mark.parametrize("role", ["Lead", "Agent"])
def test_staff_see_no_advanced_menu(make_person, client_for, role):
    page = client_for(make_person("Sam Staff", role, (INTL,))).get("/tickets/list/").get_data(as_text=True)
    assert "Advanced" not in _menu(page) and "/roles/list/" not in page


def test_person_form_speaks_the_domain_and_offers_no_public_role(admin, client_for):
    page = client_for(admin).get("/users/add").get_data(as_text=True)
    assert "OID" not in page and "list of permissions" not in page
    assert "They sign in with it" in page
    roles = re.search(r'<select[^>]*name="roles".*?</select>', page, re.S).group(0)
    assert ">Agent<" in roles and ">Lead<" in roles and ">Admin<" in roles
    assert ">Public<" not in roles


def test_member_list_shows_names_badges_and_blanks(admin, make_person, client_for):
    make_person("Vik Visa", "Agent", (INTL, DOM))
    make_person("Gone Person", "Agent", (INTL,), active=False)
    page = client_for(admin).get("/users/list/").get_data(as_text=True)
    table = page[page.find("<thead"):]
    table = table[:table.find("</table>")]
    assert "Domestic Operations, International Operations" in table
    assert "[" not in re.sub(r"<[^>]+>", "", table)
    assert re.search(r'label-success person-active">\s*Active', table)
    assert re.search(r'label-default person-active">\s*Deactivated', table)
    assert ">None<" not in table.replace(" ", "") and "None" not in re.sub(r"<[^>]+>", "", table)


def test_flash_messages_in_words(admin, client_for):
    client = client_for(admin)
    page = client.post("/teams/add", data={"name": "Visa Desk"}, follow_redirects=True).get_data(as_text=True)
    assert "Team added." in alerts(page) and "Added Row" not in page
    spare = db.session.scalar(select(Team).where(Team.name == "Visa Desk"))
    page = client.post(f"/teams/edit/{spare.id}", data={"name": "Visa"}, follow_redirects=True).get_data(as_text=True)
    assert "Team saved." in alerts(page) and "Changed Row" not in page
    page = client.post("/founders/add", data={"name": "F", "email": "f@deyor.test", "active": "y"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Founder added." in alerts(page)


def test_member_api_refuses_the_public_role(api_for, admin, app):
    public = app.appbuilder.sm.find_role("Public")
    body = {"first_name": "P", "last_name": "Q", "email": "pq@deyor.test", "roles": [public.id],
            "password": "a-long-enough-pass-9"}
    response = api_for(admin).post("/api/v1/member/", body)
    assert response.status_code == 422
    assert db.session.scalar(select(Person.id).where(Person.email == "pq@deyor.test")) is None


# --- roles in words --------------------------------------------------------------------------------
def _role_page(client, app, name: str) -> str:
    role = app.appbuilder.sm.find_role(name)
    response = client.get(f"/roles/show/{role.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_role_page_says_what_an_agent_and_a_lead_may_do(app, admin, client_for):
    client = client_for(admin)
    agent = _role_page(client, app, "Agent")
    assert "See the tickets they created or are assigned to" in agent
    assert "Create tickets" in agent and "Change their own password" in agent
    assert "Move many tickets to another team" not in agent and "Delete tickets" not in agent
    assert "Managed by setup" in agent
    # The raw permissions are behind the toggle.
    advanced = agent[agent.find('<details class="role-advanced">'):]
    assert "<code>can_add</code>" in advanced and "can_add" not in agent[:agent.find('<details class="role-advanced">')]
    lead = _role_page(client, app, "Lead")
    assert "See their teams&#39; tickets" in lead or "See their teams' tickets" in lead
    assert "Delete tickets (a lead: only their own teams&#39; tickets)" in lead or "Delete tickets (a lead" in lead
    assert "Move many tickets to another team at once" in lead
    admin_page = _role_page(client, app, "Admin")
    for sentence in ("See every ticket", "Manage team members", "Manage roles", "Manage founders",
                     "See every email sent and failed"):
        assert sentence in admin_page, sentence


def test_role_words_follow_the_permissions_actually_held(app, admin, client_for):
    sm = app.appbuilder.sm
    helper = sm.add_role("Helper")
    sm.add_permission_role(helper, sm.find_permission_view_menu("can_list", "TicketModelView"))
    sm.add_permission_role(helper, sm.find_permission_view_menu("can_add", "TicketModelView"))
    db.session.commit()
    client = client_for(admin)
    page = _role_page(client, app, "Helper")
    assert "Create tickets" in page and "Edit tickets" not in page and "Managed by setup" not in page
    sm.add_permission_role(helper, sm.find_permission_view_menu("can_edit", "TicketModelView"))
    sm.add_permission_role(helper, sm.find_permission_view_menu("can_show", "TicketModelView"))
    db.session.commit()
    assert "Edit tickets, change their status" in _role_page(client, app, "Helper")


def test_every_permission_the_setup_grants_is_described(app):
    from app.roles import undescribed
    from app.security import role_permissions

    for role, pairs in role_permissions(app.appbuilder.sm).items():
        assert undescribed(pairs) == [], role


def test_role_list_marks_managed_roles_and_summarises(app, admin, client_for):
    page = client_for(admin).get("/roles/list/").get_data(as_text=True)
    table = page[page.find("<thead"):]
    assert re.search(r"Agent\s*<span class=\"label label-info role-managed\">Managed by setup", table)
    assert "Tickets, Reports, Teams and service levels, Their own account" in table  # an agent
