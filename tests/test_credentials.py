"""Passwords, sessions and tokens (app/credentials.py): one password policy on every path, a
logout that ends the session on the server, and password changes that end every session and
token of the person. Each scenario was a hole found by probing the running app."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.credentials import check_password
from app.extensions import db
from app.models import LoginSession, Person, utcnow
from app.tickets.validation import InvalidValue
from tests.conftest import INTL, PASSWORD, fresh, login
from tests.test_validation import field_errors, flashes, form_values, person_form

NEW_PASSWORD = "Saffron-kettle-1987"


def signed_in(client) -> bool:
    response = client.get("/tickets/list/")
    return response.status_code == 200


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "the client holds a session cookie"
    return cookie.value


def browser_with_cookie(app, value: str):
    """Another browser that presents a copied session cookie."""
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def api_token(app, email: str, password: str = PASSWORD, refresh: bool = False) -> dict:
    response = app.test_client().post("/api/v1/security/login", json={
        "username": email, "password": password, "provider": "db", "refresh": refresh})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def api_get(app, token: str, url: str = "/api/v1/ticket/"):
    return app.test_client().get(url, headers={"Authorization": f"Bearer {token}"})


def refresh_with(app, refresh_token: str):
    return app.test_client().post("/api/v1/security/refresh", headers={"Authorization": f"Bearer {refresh_token}"})


@pytest.fixture
def agent(make_person):
    return make_person("Asha Agent", "Agent", (INTL,))


@pytest.fixture
def admin(make_person):
    return make_person("Ada Admin", "Admin")


# --- the password policy ------------------------------------------------------------------
@pytest.mark.parametrize("password, fragment", [
    ("a", "at least 10"),
    ("short-pw1", "at least 10"),
    ("qwertyuiop", "most common"),
    ("Password123", "most common"),  # the list is matched whatever the case
    ("1234567890", "most common"),
    ("neha.kapoor@deyor.test", "email"),
    ("NEHA.KAPOOR", "email"),  # the email's name part alone
    ("x" * 129, "at most 128"),
])
def test_policy_refuses(password, fragment):
    with pytest.raises(InvalidValue) as refused:
        check_password(password, "neha.kapoor@deyor.test")
    assert fragment.lower() in str(refused.value).lower()


def test_policy_accepts_a_long_uncommon_password():
    assert check_password(NEW_PASSWORD, "neha.kapoor@deyor.test") == NEW_PASSWORD


@pytest.mark.parametrize("password, fragment", [("a", "at least 10"), ("qwertyuiop", "most common"),
                                                ("neha.kapoor@deyor-travel.com", "email")])
def test_team_member_form_refuses_a_weak_password(app, client_for, admin, password, fragment):
    before = db.session.query(Person).count()
    response = client_for(admin).post("/users/add", data=person_form(app, password=password, conf_password=password))
    assert response.status_code == 200
    assert any(fragment in error.lower() for error in field_errors(response, "password")), flashes(response)
    assert db.session.query(Person).count() == before


def test_team_member_form_takes_a_strong_password(app, client_for, admin):
    response = client_for(admin).post("/users/add", data=person_form(app, password=NEW_PASSWORD, conf_password=NEW_PASSWORD))
    assert response.status_code == 302
    assert login(app.test_client(), "neha.kapoor@deyor-travel.com", NEW_PASSWORD).headers["Location"] == "/"


def test_own_password_form_refuses_a_weak_password(app, client_for, agent):
    client = client_for(agent)
    response = client.post("/resetmypassword/form", data={"password": "a", "conf_password": "a"})
    assert response.status_code == 200
    assert any("at least 10" in error for error in field_errors(response, "password"))
    response = client.post("/resetmypassword/form", data={"password": agent.email, "conf_password": agent.email})
    assert any("email" in error for error in field_errors(response, "password"))
    assert login(app.test_client(), agent.email).headers["Location"] == "/", "the old password still works"


def test_admin_reset_form_refuses_the_persons_email(app, client_for, admin, agent):
    response = client_for(admin).post(
        f"/resetpassword/form?pk={agent.id}", data={"password": agent.email, "conf_password": agent.email})
    assert any("email" in error for error in field_errors(response, "password"))
    assert login(app.test_client(), agent.email).headers["Location"] == "/"


@pytest.mark.parametrize("password", ["a", "qwertyuiop", "asha.agent@deyor.test"])
def test_member_api_refuses_a_weak_password(app, admin, agent, password):
    token = api_token(app, admin.email)["access_token"]
    response = app.test_client().put(
        f"/api/v1/member/{agent.id}", json={"password": password}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422 and "password" in response.json["message"], response.json
    assert login(app.test_client(), agent.email).headers["Location"] == "/"


def test_cli_reset_password_applies_the_policy(app, agent):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reset-password", agent.email, "--password", "qwertyuiop"])
    assert result.exit_code != 0 and "most common" in result.output
    result = runner.invoke(args=["reset-password", agent.email, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), agent.email, NEW_PASSWORD).headers["Location"] == "/"


def test_fab_create_user_applies_the_policy(app):
    """`flask fab create-user` (FAB's own command) goes through the security manager's add_user."""
    from flask_appbuilder.cli import create_user

    runner = app.test_cli_runner()
    args = ["--role", "Agent", "--username", "weak@deyor.test", "--firstname", "W", "--lastname", "K",
            "--email", "weak@deyor.test"]
    result = runner.invoke(create_user, args=args + ["--password", "abc"])
    assert "No user created" in result.output
    assert db.session.query(Person).filter_by(email="weak@deyor.test").count() == 0
    result = runner.invoke(create_user, args=args + ["--password", NEW_PASSWORD])
    assert "created" in result.output, result.output
    db.session.expire_all()
    assert db.session.query(Person).filter_by(email="weak@deyor.test").count() == 1


def test_fab_reset_password_command_applies_the_policy(app, agent):
    from flask_appbuilder.cli import reset_password

    result = app.test_cli_runner().invoke(reset_password, args=["--username", agent.email, "--password", "abc"])
    assert result.exit_code != 0 and isinstance(result.exception, InvalidValue)
    assert login(app.test_client(), agent.email).headers["Location"] == "/", "the password is unchanged"


def test_fab_security_user_api_creates_nobody(app, admin):
    """People are written through /api/v1/member/ (the app's rules); FAB's user API only reads."""
    token = api_token(app, admin.email)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"first_name": "X", "last_name": "Y", "username": "x", "email": "NOT AN EMAIL", "password": "a",
            "active": True, "roles": [1]}
    before = db.session.query(Person).count()
    assert app.test_client().post("/api/v1/security/users/", json=body, headers=headers).status_code == 405
    assert app.test_client().put(f"/api/v1/security/users/{admin.id}", json={"password": "a"},
                                 headers=headers).status_code == 405
    assert db.session.query(Person).count() == before
    listed = app.test_client().get("/api/v1/security/users/", headers=headers)
    assert listed.status_code == 200 and admin.email in listed.get_data(as_text=True)


# --- logout --------------------------------------------------------------------------------
def test_logout_ends_the_session_on_the_server(app, client_for, agent):
    client = client_for(agent)
    copied = session_cookie(client)
    assert client.post("/logout/").status_code == 302
    assert not signed_in(client)
    # The cookie as it was before logout, replayed from elsewhere, signs in no more.
    assert not signed_in(browser_with_cookie(app, copied))


def test_logout_ends_only_this_browser(app, client_for, agent):
    desk, phone = client_for(agent), client_for(agent)
    desk.post("/logout/")
    assert not signed_in(desk) and signed_in(phone)


def test_get_logout_asks_first_and_changes_nothing(app, client_for, agent):
    client = client_for(agent)
    page = client.get("/logout/")
    assert page.status_code == 200
    assert 'method="post" action="/logout/"' in page.get_data(as_text=True)
    assert signed_in(client), "a GET (a link or an image on another site) must not sign out"


def test_logout_needs_the_csrf_token(app, client_for, agent, monkeypatch):
    client = client_for(agent)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post("/logout/").status_code == 400
    assert signed_in(client)
    token = form_values_with_csrf(client.get("/logout/").get_data(as_text=True))
    assert client.post("/logout/", data={"csrf_token": token}).status_code == 302
    assert not signed_in(client)


def form_values_with_csrf(page: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the sign-out form carries a CSRF token"
    return match.group(1)


def test_menu_signs_out_with_a_post_form(client_for, agent):
    page = client_for(agent).get("/tickets/list/").get_data(as_text=True)
    assert 'action="/logout/"' in page and 'href="/logout/"' not in page


# --- password changes end sessions and tokens ----------------------------------------------
def test_admin_password_change_over_the_api_ends_every_session_and_token(app, client_for, admin, agent):
    browser = client_for(agent)
    tokens = api_token(app, agent.email, refresh=True)
    assert api_get(app, tokens["access_token"]).status_code == 200
    admin_token = api_token(app, admin.email)["access_token"]
    response = app.test_client().put(f"/api/v1/member/{agent.id}", json={"password": NEW_PASSWORD},
                                     headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200, response.json
    assert not signed_in(browser)
    assert api_get(app, tokens["access_token"]).status_code == 401
    assert refresh_with(app, tokens["refresh_token"]).status_code == 401
    # The new password works, and its tokens do.
    assert api_get(app, api_token(app, agent.email, NEW_PASSWORD)["access_token"]).status_code == 200


def test_admin_password_reset_screen_ends_the_persons_sessions(app, client_for, admin, agent):
    browser = client_for(agent)
    token = api_token(app, agent.email)["access_token"]
    response = client_for(admin).post(f"/resetpassword/form?pk={agent.id}",
                                      data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert not signed_in(browser)
    assert api_get(app, token).status_code == 401


def test_own_password_change_keeps_this_browser_and_ends_the_others(app, client_for, agent):
    here, elsewhere = client_for(agent), client_for(agent)
    copied = session_cookie(here)
    tokens = api_token(app, agent.email, refresh=True)
    response = here.post("/resetmypassword/form", data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert signed_in(here), "the browser that changed the password stays signed in"
    assert not signed_in(elsewhere)
    assert not signed_in(browser_with_cookie(app, copied)), "the old cookie of this browser ends too"
    assert api_get(app, tokens["access_token"]).status_code == 401
    assert refresh_with(app, tokens["refresh_token"]).status_code == 401


def test_cli_password_reset_ends_tokens(app, agent):
    token = api_token(app, agent.email)["access_token"]
    result = app.test_cli_runner().invoke(args=["reset-password", agent.email, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert api_get(app, token).status_code == 401


def test_a_refresh_token_after_a_password_change_is_refused_but_a_new_login_works(app, agent):
    old = api_token(app, agent.email, refresh=True)
    person = fresh(agent)
    app.appbuilder.sm.reset_password(person.id, NEW_PASSWORD)
    assert refresh_with(app, old["refresh_token"]).status_code == 401
    new = api_token(app, agent.email, NEW_PASSWORD, refresh=True)
    refreshed = refresh_with(app, new["refresh_token"])
    assert refreshed.status_code == 200
    assert api_get(app, refreshed.json["access_token"]).status_code == 200


def test_other_changes_to_a_person_keep_their_sessions(app, client_for, admin, agent):
    browser = client_for(agent)
    admin_token = api_token(app, admin.email)["access_token"]
    response = app.test_client().put(f"/api/v1/member/{agent.id}", json={"phone": "+91 98765 43210"},
                                     headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200
    assert signed_in(browser)


def test_a_session_ends_after_its_maximum_age(app, client_for, agent):
    browser = client_for(agent)
    hours = app.config["SESSION_MAX_AGE_HOURS"]
    db.session.execute(update(LoginSession).values(created_at=utcnow() - timedelta(hours=hours, minutes=1)))
    db.session.commit()
    assert not signed_in(browser)


def test_signing_in_prunes_the_persons_expired_sessions(app, client_for, agent):
    client_for(agent)
    hours = app.config["SESSION_MAX_AGE_HOURS"]
    db.session.execute(update(LoginSession).values(created_at=utcnow() - timedelta(hours=hours + 1)))
    db.session.commit()
    client_for(agent)
    db.session.expire_all()
    assert db.session.query(LoginSession).count() == 1


def test_the_cookie_holds_a_token_not_the_stored_digest(app, client_for, agent):
    """A database leak of login_session rows does not give working cookies."""
    client = client_for(agent)
    with client.session_transaction() as cookie_session:
        token = cookie_session["_session_token"]
    stored = db.session.query(LoginSession.id).scalar()
    assert stored != token and len(stored) == 64


# --- one's own profile ----------------------------------------------------------------------
@pytest.mark.parametrize("first_name, fragment", [
    ("N" * 65, "at most 64"),
    ("Ne\x00ha", "one line"),
    ("Neha\r\nBcc: x", "one line"),
    ("   ", "required"),
])
def test_profile_edit_refuses_bad_names(app, client_for, agent, first_name, fragment):
    client = client_for(agent)
    response = client.post("/userinfoeditview/form", data={"first_name": first_name, "last_name": "Kapoor"})
    assert response.status_code == 200
    assert any(fragment in error for error in field_errors(response, "first_name")), field_errors(response, "first_name")
    assert "User information changed" not in " ".join(flashes(response))
    assert (fresh(agent).first_name, fresh(agent).last_name) == ("Asha", "Agent")


def test_profile_edit_saves_trimmed_names(app, client_for, agent):
    response = client_for(agent).post("/userinfoeditview/form", data={"first_name": "  Asha ", "last_name": " Rao  "})
    assert response.status_code == 302
    assert (fresh(agent).first_name, fresh(agent).last_name) == ("Asha", "Rao")


def test_profile_form_shows_the_current_name(client_for, agent):
    values = form_values(client_for(agent).get("/userinfoeditview/form").get_data(as_text=True))
    assert values["first_name"] == ["Asha"] and values["last_name"] == ["Agent"]
