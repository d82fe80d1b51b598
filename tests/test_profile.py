"""Each person's profile page: details, language, email settings, teams and role to read,
the password form; and the language applied when they sign in."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from tests.conftest import DOM, INTL, PASSWORD, fresh, login
from tests.test_queries import count_statements

NEW_PASSWORD = "a-fresh-passphrase-77"


@pytest.fixture
def agent(make_person):
    return make_person("Asha Agent", "Agent", (INTL, DOM))


def _profile(client) -> str:
    response = client.get("/users/userinfo/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_profile_shows_details_settings_teams_and_roles(client_for, agent):
    agent.phone = "+91 98200 12345"
    db.session.commit()
    page = _profile(client_for(agent))
    assert 'value="Asha"' in page and 'value="+91 98200 12345"' in page and agent.email in page
    assert re.search(r'class="profile-teams">\s*Domestic Operations, International Operations', page)
    assert re.search(r'class="profile-roles">\s*Agent', page)
    assert re.search(r'<input checked[^>]*name="comment_emails"|name="comment_emails"[^>]*checked', page)
    assert 'name="language"' in page and "हिन्दी" in page
    assert 'action="/resetmypassword/form"' in page and 'name="conf_password"' in page
    # Teams and roles are read, not edited, here.
    assert 'name="teams"' not in page and 'name="roles"' not in page
    # FAB's bare user-info page is gone: no "Edit User" / "Reset my password" action buttons.
    assert "Your user information" not in page


def test_navbar_profile_link_opens_the_profile(client_for, agent):
    page = client_for(agent).get("/tickets/list/").get_data(as_text=True)
    assert 'href="/users/userinfo/"' in page


def test_saving_the_profile(client_for, agent):
    client = client_for(agent)
    response = client.post("/userinfoeditview/form", data={
        "first_name": " Asha ", "last_name": "Rao", "phone": "+91 22 4000 1234", "language": "hi",
        "digest_emails": "y",  # comment_emails unticked
    })
    assert response.status_code == 302 and response.headers["Location"] == "/users/userinfo/"
    person = fresh(agent)
    assert (person.first_name, person.last_name, person.phone, person.language) == ("Asha", "Rao", "+91 22 4000 1234", "hi")
    assert (person.comment_emails, person.digest_emails) == (False, True)
    # This browser now speaks Hindi.
    with client.session_transaction() as session:
        assert session["locale"] == "hi"


def test_profile_refuses_a_bad_phone_and_keeps_what_was_stored(client_for, agent):
    response = client_for(agent).post("/userinfoeditview/form", data={
        "first_name": "Asha", "last_name": "Agent", "phone": "call me maybe", "language": "hi"})
    assert response.status_code == 200
    assert "Phone must be a phone number" in response.get_data(as_text=True)
    person = fresh(agent)
    assert (person.phone, person.language) == (None, None)


def test_an_unknown_language_is_the_default(client_for, agent):
    client_for(agent).post("/userinfoeditview/form", data={"first_name": "Asha", "last_name": "Agent", "language": "xx"})
    assert fresh(agent).language is None


def test_the_chosen_language_is_applied_at_sign_in(app, agent):
    agent.language = "hi"
    db.session.commit()
    client = app.test_client()
    assert login(client, agent.email).status_code == 302
    with client.session_transaction() as session:
        assert session["locale"] == "hi"


def test_profile_cannot_change_teams_roles_or_active(client_for, agent, app):
    admin_role = app.appbuilder.sm.find_role("Admin")
    client_for(agent).post("/userinfoeditview/form", data={
        "first_name": "Asha", "last_name": "Agent", "roles": str(admin_role.id), "active": "", "email": "x@evil.test"})
    person = fresh(agent)
    assert [r.name for r in person.roles] == ["Agent"] and person.active and person.email == agent.email


def test_password_change_from_the_profile_returns_to_it(client_for, agent):
    client = client_for(agent)
    response = client.post("/resetmypassword/form", data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/users/userinfo/"
    assert "Password changed" in _profile(client)


def test_password_rules_apply_on_the_profile(client_for, agent):
    version = agent.credentials_version
    client = client_for(agent)
    response = client.post("/resetmypassword/form", data={"password": "short", "conf_password": "short"})
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert fresh(agent).credentials_version == version  # the password did not change


@pytest.mark.parametrize("role", ["Admin", "Lead", "Agent"])
def test_every_role_has_a_profile(make_person, client_for, role):
    person = make_person(f"Pat {role}", role, (INTL,))
    assert f'value="Pat"' in _profile(client_for(person))


def test_profile_page_statements(client_for, agent):
    client = client_for(agent)
    _profile(client)
    with count_statements() as statements:
        _profile(client)
    assert len(statements) <= 4, statements  # the person (roles, saved views), permissions, teams
