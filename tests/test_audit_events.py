"""The audit log hooked everywhere (app/audit.py): one test per kind, through the screens and
APIs people use, and each event in its change's transaction (a refused change leaves none)."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from app import audit
from app.extensions import db
from app.models import AuditEvent, Calendar, Founder, Person, SlaPolicy, Team, Ticket
from tests.conftest import DOM, INTL, PASSWORD, build_app, fresh, login, team
from tests.test_api import api_for, token_for  # noqa: F401  (fixtures)
from tests.test_validation import form_values, person_form

NEW_PASSWORD = "Another-horse-43"


def events(kind: str | None = None, **where) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(query))


def one(kind: str, **where) -> AuditEvent:
    found = events(kind, **where)
    assert len(found) == 1, [(e.kind, e.object_id, e.details) for e in events() if not e.kind.startswith(("team_c", "sla_p", "calendar_c"))]
    return found[0]


@pytest.fixture
def admin(make_person):
    return make_person("Ada Admin", "Admin")


@pytest.fixture
def admin_client(client_for, admin):
    return client_for(admin)


# --- signing in and out ------------------------------------------------------------------------
def test_login_on_the_form_and_the_api(app, make_person, admin):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    client = app.test_client()
    assert login(client, agent.email).status_code == 302
    event = one(audit.LOGIN, actor_id=agent.id)
    assert (event.email, event.object_type, event.object_id, event.address) == (
        agent.email, "person", str(agent.id), "127.0.0.1")
    response = app.test_client().post("/api/v1/security/login", json={
        "username": admin.email, "password": PASSWORD, "provider": "db"})
    assert response.status_code == 200
    assert one(audit.LOGIN, actor_id=admin.id).object_id == str(admin.id)


def test_failed_logins_name_the_email_tried(app, make_person):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    make_person("Ivan Inactive", "Agent", active=False)
    client = app.test_client()
    login(client, agent.email, "wrong-password-1")
    login(client, "  nobody@deyor.test ", "wrong-password-1")
    login(client, "ivan.inactive@deyor.test")  # right password, inactive
    failed = events(audit.LOGIN_FAILED)
    assert [(e.email, e.actor_id, e.object_id) for e in failed] == [
        (agent.email, None, str(agent.id)),
        ("nobody@deyor.test", None, None),
        ("ivan.inactive@deyor.test", None, None),
    ]
    assert not events(audit.LOGIN)


def test_a_lock_out_by_the_rate_limit_is_one_event_per_window(app):
    limited = build_app(app.config["SQLALCHEMY_DATABASE_URI"], AUTH_RATE_LIMITED=True, RATELIMIT_ENABLED=True)
    client = limited.test_client()
    statuses = [client.post("/login/", data={"username": "probe@deyor.test", "password": "x" * 12}).status_code
                for _ in range(14)]
    assert statuses[-1] == 429
    event = one(audit.LOGIN_LOCKED_OUT)
    assert (event.email, event.address, event.actor_id) == ("probe@deyor.test", "127.0.0.1", None)
    assert "10 per 20 second" in event.details["limit"]


def test_logout(client_for, make_person):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    client = client_for(agent)
    page = client.get("/logout/").get_data(as_text=True)
    assert client.post("/logout/").status_code == 302
    assert "logout" in page.lower()
    assert one(audit.LOGOUT, actor_id=agent.id).object_id == str(agent.id)


# --- passwords ----------------------------------------------------------------------------------
def test_password_changes_own_and_by_an_admin_never_the_password(client_for, make_person, admin, admin_client):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    client = client_for(agent)
    response = client.post("/resetmypassword/form", data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302
    own = one(audit.PASSWORD_CHANGED, actor_id=agent.id)
    assert (own.object_type, own.object_id) == ("person", str(agent.id))
    response = admin_client.post(f"/resetpassword/form?pk={agent.id}",
                                 data={"password": "Third-horse-44!", "conf_password": "Third-horse-44!"})
    assert response.status_code == 302
    by_admin = one(audit.PASSWORD_CHANGED, actor_id=admin.id)
    assert by_admin.object_id == str(agent.id)
    for event in events():
        assert NEW_PASSWORD not in str(event.details) and "password" not in (event.details or {})
        assert "pbkdf2" not in str(event.details) and "scrypt" not in str(event.details)


# --- people -------------------------------------------------------------------------------------
def test_person_created_on_the_screen_without_password_material(app, admin, admin_client):
    response = admin_client.post("/users/add", data=person_form(app))
    assert response.status_code == 302
    neha = db.session.scalars(select(Person).where(Person.email == "neha.kapoor@deyor-travel.com")).one()
    event = one(audit.PERSON_CREATED, object_id=str(neha.id))
    assert event.actor_id == admin.id and event.object_type == "person"
    assert event.details["email"] == "neha.kapoor@deyor-travel.com"
    assert event.details["roles"] == ["Lead"] and event.details["teams"] == [DOM, INTL]
    assert "password" not in event.details and "Another-horse" not in str(event.details)
    assert not events(audit.PASSWORD_CHANGED), "a new person's first password is part of their creation"


def test_person_changed_says_which_fields_before_and_after(make_person, admin, admin_client):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    data = form_values(admin_client.get(f"/users/edit/{agent.id}").get_data(as_text=True))
    data.update(phone=["+91 98111 22233"], first_name=["Aisha"], teams=[str(team(DOM).id)])
    assert admin_client.post(f"/users/edit/{agent.id}", data=data).status_code == 302
    event = one(audit.PERSON_CHANGED, object_id=str(agent.id), actor_id=admin.id)
    assert event.details == {
        "first_name": {"before": "Asha", "after": "Aisha"},
        "phone": {"before": None, "after": "+91 98111 22233"},
        "teams": {"before": [INTL], "after": [DOM]},
    }
    assert not events(audit.PERSON_ROLES_CHANGED, actor_id=admin.id) and not events(audit.PERSON_DEACTIVATED)


def test_roles_given_on_the_screen_and_the_member_api(app, make_person, admin, admin_client, api_for):
    agent = make_person("Priya Agent", "Agent", (INTL,))
    data = form_values(admin_client.get(f"/users/edit/{agent.id}").get_data(as_text=True))
    data["roles"] = [str(app.appbuilder.sm.find_role("Admin").id)]
    assert admin_client.post(f"/users/edit/{agent.id}", data=data).status_code == 302
    event = one(audit.PERSON_ROLES_CHANGED, object_id=str(agent.id))
    assert event.details == {"roles": {"before": ["Agent"], "after": ["Admin"]}}
    assert event.actor_id == admin.id
    lead_role = app.appbuilder.sm.find_role("Lead").id
    assert api_for(admin).put(f"/api/v1/member/{agent.id}", {"roles": [lead_role]}).status_code == 200
    changes = [e.details["roles"] for e in events(audit.PERSON_ROLES_CHANGED)]
    assert changes[-1] == {"before": ["Admin"], "after": ["Lead"]}


def test_deactivated_and_reactivated(make_person, admin, admin_client, api_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    response = admin_client.post("/users/action_post", data={"action": "deactivate", "rowid": [str(agent.id)]})
    assert response.status_code == 302 and fresh(agent).active is False
    assert one(audit.PERSON_DEACTIVATED, object_id=str(agent.id)).actor_id == admin.id
    assert api_for(admin).put(f"/api/v1/member/{agent.id}", {"active": True}).status_code == 200
    assert one(audit.PERSON_REACTIVATED, object_id=str(agent.id)).actor_id == admin.id
    assert not events(audit.PERSON_CHANGED, actor_id=admin.id), "active is told by its own kinds"


def test_person_deleted_and_created_through_the_member_api(app, make_person, admin, admin_client, api_for):
    response = api_for(admin).post("/api/v1/member/", {
        "first_name": "Ravi", "last_name": "Rao", "email": "ravi@deyor.test", "password": NEW_PASSWORD,
        "roles": [app.appbuilder.sm.find_role("Agent").id], "teams": [team(INTL).id]})
    assert response.status_code == 201, response.json
    created = one(audit.PERSON_CREATED, object_id=str(response.json["id"]))
    assert created.actor_id == admin.id and "password" not in created.details
    leaver = make_person("Lee Leaver", "Agent")
    assert admin_client.post(f"/users/delete/{leaver.id}").status_code == 302
    deleted = one(audit.PERSON_DELETED, object_id=str(leaver.id))
    assert deleted.details["email"] == "lee.leaver@deyor.test" and deleted.actor_id == admin.id


# --- roles and permissions: FAB's screens and API ------------------------------------------------
def test_role_created_changed_and_deleted_on_fab_screens(app, admin, admin_client):
    sm = app.appbuilder.sm
    pv = sm.find_permission_view_menu("can_list", "TicketModelView")
    assert admin_client.post("/roles/add", data={"name": "Auditor", "permissions": [str(pv.id)]}).status_code == 302
    role = sm.find_role("Auditor")
    created = one("role_created", object_id=str(role.id))
    assert created.details["name"] == "Auditor" and created.details["permissions"] == [str(pv)]
    other = sm.find_permission_view_menu("can_show", "TicketModelView")
    data = {"name": "Auditors", "permissions": [str(pv.id), str(other.id)]}
    assert admin_client.post(f"/roles/edit/{role.id}", data=data).status_code == 302
    changed = one("role_changed", object_id=str(role.id))
    assert changed.actor_id == admin.id
    assert changed.details["name"] == {"before": "Auditor", "after": "Auditors"}
    assert changed.details["permissions"] == {"added": [str(other)], "removed": []}
    assert admin_client.post(f"/roles/delete/{role.id}").status_code == 302
    assert one("role_deleted", object_id=str(role.id)).details["name"] == "Auditors"


def test_role_permissions_and_people_through_fab_api(app, make_person, admin, api_for):
    sm = app.appbuilder.sm
    api = api_for(admin)
    response = api.post("/api/v1/security/roles/", {"name": "Night Desk"})
    assert response.status_code == 201, response.json
    role_id = response.json["id"]
    assert one("role_created", object_id=str(role_id)).actor_id == admin.id
    pv = sm.find_permission_view_menu("can_list", "TicketModelView")
    response = api.post(f"/api/v1/security/roles/{role_id}/permissions", {"permission_view_menu_ids": [pv.id]})
    assert response.status_code == 200, response.json
    change = one("role_changed", object_id=str(role_id))
    assert change.details["permissions"] == {"added": [str(pv)], "removed": []}
    agent = make_person("Asha Agent", "Agent")
    response = api.put(f"/api/v1/security/roles/{role_id}/users", {"user_ids": [agent.id]})
    assert response.status_code == 200, response.json
    people = [e.details.get("people") for e in events("role_changed", object_id=str(role_id))]
    assert people[-1].get("added", people[-1].get("after")) == [agent.full_name]


# --- teams, founders, service levels -----------------------------------------------------------
def test_team_on_the_screen_and_the_api(admin, admin_client, api_for):
    assert admin_client.post("/teams/add", data={"name": "Visa Desk", "default_emails": ""}).status_code == 302
    visa = db.session.scalars(select(Team).where(Team.name == "Visa Desk")).one()
    created = one("team_created", object_id=str(visa.id))
    assert created.actor_id == admin.id and created.details["name"] == "Visa Desk"
    api = api_for(admin)
    assert api.put(f"/api/v1/team/{visa.id}", {"default_emails": "visa@deyor.test"}).status_code == 200
    assert one("team_changed", object_id=str(visa.id)).details == {
        "default_emails": {"before": "", "after": "visa@deyor.test"}}
    assert api.delete(f"/api/v1/team/{visa.id}").status_code == 200
    assert one("team_deleted", object_id=str(visa.id)).actor_id == admin.id


def test_founder(admin, admin_client, api_for):
    api = api_for(admin)
    response = api.post("/api/v1/founder/", {"name": "Dev Founder", "email": "dev@deyor.test", "active": True})
    assert response.status_code == 201
    founder_id = str(response.json["id"])
    assert one("founder_created", object_id=founder_id).details["email"] == "dev@deyor.test"
    assert api.put(f"/api/v1/founder/{founder_id}", {"active": False}).status_code == 200
    assert one("founder_changed", object_id=founder_id).details == {"active": {"before": True, "after": False}}
    assert admin_client.post(f"/founders/delete/{founder_id}").status_code == 302
    assert one("founder_deleted", object_id=founder_id).actor_id == admin.id


def test_sla_policy_and_calendar(admin, admin_client, api_for):
    api = api_for(admin)
    calendar = api.post("/api/v1/calendar/", {
        "name": "Night shift", "timezone": "Asia/Kolkata",
        "windows": [{"weekday": 0, "start": "20:00", "end": "00:00"}]})
    assert calendar.status_code == 201, calendar.json
    calendar_id = calendar.json["id"]
    created = one("calendar_created", object_id=str(calendar_id))
    assert created.details["windows"] == ["Mon 20:00-00:00"]
    response = api.put(f"/api/v1/calendar/{calendar_id}", {
        "windows": [{"weekday": 1, "start": "20:00", "end": "00:00"}]})
    assert response.status_code == 200, response.json
    assert one("calendar_changed", object_id=str(calendar_id)).details == {
        "windows": {"added": ["Tue 20:00-00:00"], "removed": ["Mon 20:00-00:00"]}}
    # A window added on its own screen: the calendar changed.
    data = {"calendar": str(calendar_id), "weekday": "2", "start": "20:00", "end": "23:00"}
    assert admin_client.post("/calendar-windows/add", data=data).status_code == 302
    assert events("calendar_changed", object_id=str(calendar_id))[-1].details == {
        "windows": {"added": ["Wed 20:00-23:00"], "removed": []}}

    policy = api.post("/api/v1/sla_policy/", {
        "team": team(DOM).id, "priority": "Urgent", "first_response_minutes": 15, "resolution_minutes": 120,
        "calendar": calendar_id})
    assert policy.status_code == 201, policy.json
    policy_id = str(policy.json["id"])
    assert one("sla_policy_created", object_id=policy_id).details["calendar"] == "Night shift"
    assert api.put(f"/api/v1/sla_policy/{policy_id}", {"resolution_minutes": 90}).status_code == 200
    assert one("sla_policy_changed", object_id=policy_id).details == {
        "resolution_minutes": {"before": 120, "after": 90}}
    assert api.delete(f"/api/v1/sla_policy/{policy_id}").status_code == 200
    assert one("sla_policy_deleted", object_id=policy_id).actor_id == admin.id
    assert api.delete(f"/api/v1/calendar/{calendar_id}").status_code == 200
    assert one("calendar_deleted", object_id=str(calendar_id)).details["name"] == "Night shift"


# --- tickets ------------------------------------------------------------------------------------
def test_ticket_deleted_on_the_screen_and_the_api(make_person, make_ticket, admin, admin_client, api_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    first = make_ticket(agent, INTL, subject="Duplicate of ESC-1")
    second = make_ticket(agent, INTL, subject="Test ticket")
    assert admin_client.post(f"/tickets/delete/{first.id}").status_code == 302
    event = one(audit.TICKET_DELETED, object_id=str(first.id))
    assert event.actor_id == admin.id and event.object_type == "ticket"
    assert event.details == {"subject": "Duplicate of ESC-1", "booking_id": "DEY-1001", "team": INTL,
                             "status": "Open", "priority": "High"}
    assert api_for(admin).delete(f"/api/v1/ticket/{second.id}").status_code == 200
    assert one(audit.TICKET_DELETED, object_id=str(second.id)).actor_id == admin.id
    assert not events("ticket_changed") and not events("ticket_created")


# --- the same transaction -----------------------------------------------------------------------
def test_a_refused_change_leaves_no_event(make_person, admin, admin_client, api_for):
    agent = make_person("Asha Agent", "Agent", (INTL,))
    before = len(events())
    api_for(admin)  # (its sign-in first)
    before = len(events())
    # refused by a rule (pre_update): an admin cannot deactivate themselves
    data = form_values(admin_client.get(f"/users/edit/{admin.id}").get_data(as_text=True))
    data.pop("active", None)
    data["phone"] = ["+91 98111 22233"]
    admin_client.post(f"/users/edit/{admin.id}", data=data)
    assert fresh(admin).active and fresh(admin).phone is None
    # refused by the API's checks: a duplicate team name
    assert api_for(admin).post("/api/v1/team/", {"name": INTL.upper()}).status_code == 422
    # refused by the database at commit: the change and its event roll back together
    visa = Team(name="Visa Desk")
    db.session.add(visa)
    db.session.add(Founder(name="A", email="same@deyor.test"))
    db.session.add(Founder(name="B", email="same@deyor.test"))
    with pytest.raises(Exception):
        db.session.commit()
    db.session.rollback()
    assert not db.session.scalars(select(Team).where(Team.name == "Visa Desk")).first()
    kinds = [e.kind for e in events()[before:]]
    assert kinds == [], kinds
    # a change that succeeds after a refusal in the same session is recorded alone
    agent = fresh(agent)
    agent.phone = "+91 90000 00000"
    db.session.commit()
    assert events(audit.PERSON_CHANGED, object_id=str(agent.id))[-1].details == {
        "phone": {"before": None, "after": "+91 90000 00000"}}


def test_events_are_never_changed_or_deleted_but_by_pruning(app, make_person):
    make_person("Asha Agent", "Agent")
    event = events(audit.PERSON_CREATED)[0]
    event.kind = "nothing_happened"
    with pytest.raises(audit.AppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(audit.AppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(audit.AppendOnly):
        db.session.execute(update(AuditEvent).values(kind="x"))
    db.session.rollback()
    with pytest.raises(audit.AppendOnly):
        db.session.execute(delete(AuditEvent))
    db.session.rollback()
    assert one(audit.PERSON_CREATED).kind == audit.PERSON_CREATED


def test_every_kind_is_documented():
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    for kind in audit.KINDS:
        assert kind in audit.__doc__, kind
        assert f"`{kind}`" in readme, kind
