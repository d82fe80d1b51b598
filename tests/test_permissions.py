"""Roles: Agents and Leads work tickets and never reach an admin or security screen."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Founder, Team
from tests.conftest import INTL

ADMIN_PAGES = [
    "/users/list/", "/users/add", "/users/show/{person}", "/users/edit/{person}",
    "/roles/list/", "/roles/add", "/roles/show/{role}", "/roles/edit/{role}",
    "/groups/list/", "/permissions/list/", "/viewmenus/list/", "/permissionviews/list/",
    "/teams/list/", "/teams/add", "/teams/edit/{team}", "/teams/show/{team}",
    "/founders/list/", "/founders/add", "/founders/edit/{founder}",
]
# (FAB's login-count chart, /userstatschartview/chart/, is not registered: nobody needs it.)
WORK_PAGES = ["/tickets/list/", "/tickets/add", "/tickets/mine/", "/comments/list/", "/users/userinfo/"]


@pytest.fixture
def targets(make_person, app):
    founder = Founder(name="Fatima Founder", email="fatima@deyor.test")
    db.session.add(founder)
    db.session.commit()
    return {
        "person": make_person("Some One", "Agent", (INTL,)).id,
        "role": app.appbuilder.sm.find_role("Agent").id,
        "team": db.session.query(Team).first().id,
        "founder": founder.id,
    }


@pytest.mark.parametrize("role", ["Agent", "Lead"])
def test_admin_and_security_pages_are_forbidden(make_person, client_for, targets, role):
    client = client_for(make_person(f"Test {role}", role, (INTL,)))
    for page in ADMIN_PAGES:
        url = page.format(**targets)
        assert client.get(url).status_code == 403, url
    for url in ("/users/delete/{person}", "/teams/delete/{team}", "/founders/delete/{founder}"):
        assert client.post(url.format(**targets)).status_code == 403, url
    assert client.post("/founders/add", data={"name": "X", "email": "x@deyor.test"}).status_code == 403
    assert db.session.query(Founder).count() == 1


def test_admin_reaches_every_admin_page(make_person, client_for, targets):
    client = client_for(make_person("Ada Admin", "Admin"))
    for page in ADMIN_PAGES:
        url = page.format(**targets)
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["Agent", "Lead"])
def test_work_pages_are_open_to_staff(make_person, client_for, role):
    client = client_for(make_person(f"Test {role}", role, (INTL,)))
    for url in WORK_PAGES:
        assert client.get(url).status_code in (200, 302), url
    menu = client.get("/tickets/list/").data
    assert b"My open tickets" in menu and b"New ticket" in menu
    assert b"Team Members" not in menu and b"List Roles" not in menu


def test_roles_are_synced_idempotently(app):
    from app.security import role_permissions, sync_roles

    sm = app.appbuilder.sm
    sync_roles(sm)
    sync_roles(sm)
    for name, pairs in role_permissions(sm).items():
        role = sm.find_role(name)
        granted = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        assert set(pairs) <= granted, name
        assert len(role.permissions) == len(granted)  # no duplicates
    lead = {(pv.permission.name, pv.view_menu.name) for pv in sm.find_role("Lead").permissions}
    agent = {(pv.permission.name, pv.view_menu.name) for pv in sm.find_role("Agent").permissions}
    assert lead - agent == {
        ("can_delete", "TicketModelView"), ("can_delete", "TicketApi"), ("can_bulk_team", "TicketModelView"),
    }
    assert ("can_bulk_edit", "TicketModelView") in agent
    assert not any(view in {"Teams", "Founders", "TeamModelView", "FounderModelView", "RoleModelView"} for _, view in agent)


def test_staff_manage_their_own_profile_only(make_person, client_for):
    agent = make_person("Ari Agent", "Agent", (INTL,))
    other = make_person("Oli Other", "Agent", (INTL,))
    client = client_for(agent)
    assert b"Ari" in client.get("/users/userinfo/").data
    response = client.post(f"/users/action/resetmypassword/{agent.id}")
    assert response.status_code == 302 and "/resetmypassword/form" in response.headers["Location"]
    assert client.get("/resetmypassword/form").status_code == 200
    assert client.post(f"/users/action/resetpasswords/{other.id}").status_code == 403
    assert client.get(f"/resetpassword/form?pk={other.id}").status_code == 403
