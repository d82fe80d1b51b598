"""The menu is rendered once per kind of reader (app/views/menu_cache.py): the same HTML as
rendered afresh, shared by people with the same permissions, and anything that changes it
(a permission, the language, a saved view) shows on the next page."""
from __future__ import annotations

import re
from uuid import uuid4

from app.extensions import db
from app.views import menu_cache
from tests.conftest import INTL


def menu_of(html: bytes) -> str:
    return re.search(r'<ul class="nav navbar-nav">(.*?)</ul>\s*<ul class="nav navbar-nav navbar-right">',
                     html.decode(), re.S).group(1)


def test_the_kept_menu_is_the_menu_rendered_afresh(make_person, client_for):
    agent, admin = make_person("Asha Agent", "Agent", (INTL,)), make_person("Adi Admin", "Admin")
    menus = {}
    for person in (agent, admin):
        client = client_for(person)
        menu_cache.forget_menus()
        fresh = menu_of(client.get("/tickets/list/").data)
        assert menu_of(client.get("/dashboard/").data) == menu_of(client.get("/tickets/list/").data) == fresh
        menus[person.id] = fresh
    assert "Audit log" in menus[admin.id] and "Audit log" not in menus[agent.id]
    assert "My open tickets" in menus[agent.id]


def test_people_with_the_same_permissions_share_one_menu(make_person, client_for):
    menu_cache.forget_menus()
    first, second = make_person("Asha Agent", "Agent", (INTL,)), make_person("Bela Agent", "Agent", (INTL,))
    menus = [menu_of(client_for(person).get("/tickets/list/").data) for person in (first, second)]
    assert menus[0] == menus[1] and len(menu_cache._menus) == 1


def test_a_permission_granted_shows_on_the_next_page(app, make_person, client_for):
    sm = app.appbuilder.sm
    role = sm.add_role(f"Menu reader {uuid4().hex[:8]}")
    for permission, view in (("can_list", "TicketModelView"), ("menu_access", "Tickets"),
                             ("menu_access", "All tickets")):
        sm.add_permission_role(role, sm.find_permission_view_menu(permission, view))
    db.session.commit()
    reader = make_person("Rita Reader", role.name, (INTL,))
    client = client_for(reader)
    assert "Comments" not in menu_of(client.get("/tickets/list/").data)
    sm.add_permission_role(role, sm.find_permission_view_menu("menu_access", "Comments"))
    db.session.commit()
    assert "Comments" in menu_of(client.get("/tickets/list/").data)


def test_the_language_and_saved_views_change_the_menu(make_person, client_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    client = client_for(agent)
    assert "All tickets" in menu_of(client.get("/tickets/list/").data)
    client.get("/lang/hi")
    hindi = menu_of(client.get("/tickets/list/").data)
    assert "सभी टिकट" in hindi and "All tickets" not in hindi
    client.post("/views/save", data={"name": "Goa escalations", "query": "search=goa"})
    assert "Goa escalations" in menu_of(client.get("/tickets/list/").data)
