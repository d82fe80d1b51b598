"""Forgot password, end to end: the form, the outbox, a real SMTP server (aiosmtpd), the
emailed link, the new password. Single use, 30 minutes (an injected clock), no telling whether
an email is someone's, rate limited, audited, sessions ended."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import audit, password_reset
from app.extensions import db
from app.models import AuditEvent, Notification, utcnow
from app.notifications import sender
from tests.conftest import INTL, PASSWORD, build_app, fresh, login

NEW_PASSWORD = "Brand-new-horse-77"
LINK = re.compile(r"https://esc\.deyor\.test/forgot-password/(\S+)")


@pytest.fixture
def asha(make_person):
    return make_person("Asha Agent", "Agent", (INTL,))


def ask(client, email: str):
    return client.post("/forgot-password/", data={"email": email})


def emailed_link(smtp_server, to: str) -> str:
    """Send the outbox and read the link out of the email that reached the SMTP server."""
    sender.flush()
    mail = smtp_server.wait_for(1)[-1]
    assert mail.rcpt_tos == [to]
    body = mail.message.get_body(("plain",)).get_content()
    match = LINK.search(body)
    assert match, body
    return f"/forgot-password/{match.group(1)}"


def kinds(kind: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)))


def test_the_login_page_links_to_it(app):
    page = app.test_client().get("/login/").get_data(as_text=True)
    assert 'href="/forgot-password/"' in page and "Forgot your password?" in page


def test_reset_end_to_end_once(app, asha, client_for, mail_to_smtp):
    signed_in = client_for(asha)  # a session from before: it ends with the reset
    client = app.test_client()
    answer = ask(client, "  Asha.Agent@deyor.test ")
    assert answer.status_code == 200 and "we have sent it a link" in answer.get_data(as_text=True)
    link = emailed_link(mail_to_smtp, asha.email)
    mail = mail_to_smtp.messages[-1].message
    assert mail["Subject"] == "Reset your Deyor Escalations password"
    assert "30 minutes" in mail.get_body(("plain",)).get_content()

    form = client.get(link)
    assert form.status_code == 200 and 'name="password"' in form.get_data(as_text=True)
    done = client.post(link, data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert done.status_code == 302 and "/login" in done.headers["Location"]

    assert login(app.test_client(), asha.email, NEW_PASSWORD).headers["Location"] != "/login/"
    assert "/login" in login(app.test_client(), asha.email, PASSWORD).headers["Location"], "the old one is gone"
    assert signed_in.get("/tickets/list/").status_code == 302, "the sessions from before ended"
    assert fresh(asha).credentials_version == 1

    used = client.get(link)
    assert used.status_code == 410 and "expired or was already used" in used.get_data(as_text=True)
    again = client.post(link, data={"password": "Yet-another-88x", "conf_password": "Yet-another-88x"})
    assert again.status_code == 410
    assert login(app.test_client(), asha.email, NEW_PASSWORD).headers["Location"] != "/login/"

    requested, = kinds(audit.PASSWORD_RESET_REQUESTED)
    assert (requested.email, requested.actor_id, requested.object_id, requested.details) == (
        asha.email, None, str(asha.id), {"sent": True})
    reset, = kinds(audit.PASSWORD_RESET)
    assert (reset.actor_id, reset.object_id) == (asha.id, str(asha.id))
    assert not kinds(audit.PASSWORD_CHANGED), "a reset is told as such"
    row = db.session.scalars(select(Notification).where(Notification.event == "password_reset")).one()
    assert row.state == "sent" and "forgot-password" not in row.body_text + row.body_html, \
        "the outbox does not keep a live link"


def test_the_link_lasts_30_minutes_by_the_injected_clock(app, asha, mail_to_smtp, monkeypatch):
    client = app.test_client()
    ask(client, asha.email)
    link = emailed_link(mail_to_smtp, asha.email)
    start = utcnow()
    monkeypatch.setattr(password_reset, "now", lambda: start + timedelta(minutes=29, seconds=50))
    assert client.get(link).status_code == 200
    monkeypatch.setattr(password_reset, "now", lambda: start + timedelta(minutes=30, seconds=30))
    assert client.get(link).status_code == 410
    answer = client.post(link, data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert answer.status_code == 410
    assert login(app.test_client(), asha.email, PASSWORD).headers["Location"] != "/login/", "unchanged"
    monkeypatch.setattr(password_reset, "now", lambda: start - timedelta(minutes=5))
    assert client.get(link).status_code == 410, "nor before it was issued"


def test_a_password_changed_otherwise_or_a_deactivation_kills_the_link(app, asha, mail_to_smtp):
    client = app.test_client()
    ask(client, asha.email)
    link = emailed_link(mail_to_smtp, asha.email)
    app.appbuilder.sm.reset_password(asha.id, "Changed-by-admin-99")
    assert client.get(link).status_code == 410
    ask(client, asha.email)
    sender.flush()
    second = LINK.search(mail_to_smtp.wait_for(2)[-1].message.get_body(("plain",)).get_content()).group(1)
    asha = fresh(asha)
    asha.active = False
    db.session.commit()
    assert client.get(f"/forgot-password/{second}").status_code == 410


def test_a_forged_or_garbled_token_is_refused(app, asha):
    client = app.test_client()
    token = password_reset.make_token(asha)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for bad in (tampered, "x", "%00", "a" * 400):
        assert client.get(f"/forgot-password/{bad}").status_code in (404, 410), bad


def test_the_new_password_follows_the_policy(app, asha, mail_to_smtp):
    client = app.test_client()
    ask(client, asha.email)
    link = emailed_link(mail_to_smtp, asha.email)
    for weak, message in (("short", "at least 10 characters"), ("password123", "most common"),
                          ("asha.agent@deyor.test", "email")):
        answer = client.post(link, data={"password": weak, "conf_password": weak})
        assert answer.status_code == 422 and message in answer.get_data(as_text=True), weak
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422 and "Passwords must match" in mismatch.get_data(as_text=True)
    assert fresh(asha).credentials_version == 0 and not kinds(audit.PASSWORD_RESET)
    assert client.get(link).status_code == 200, "still usable"


def _page(response) -> str:
    """The page without what differs on every answer (its CSRF token, its script nonce)."""
    page = re.sub(r'name="csrf_token"[^>]*>', "", response.get_data(as_text=True))
    return re.sub(r'nonce="[^"]*"', "", page)


def test_the_same_answer_whether_or_not_the_email_is_someones(app, asha, make_person, mail_to_smtp):
    make_person("Ivan Inactive", "Agent", active=False)
    client = app.test_client()
    answers = [ask(client, email) for email in (asha.email, "nobody@deyor.test", "ivan.inactive@deyor.test")]
    assert {a.status_code for a in answers} == {200}
    assert _page(answers[0]) == _page(answers[1]) == _page(answers[2])
    sender.flush()
    assert [m.rcpt_tos for m in mail_to_smtp.messages] == [[asha.email]], "only a person's email gets one"
    assert [(e.email, e.object_id, e.details) for e in kinds(audit.PASSWORD_RESET_REQUESTED)] == [
        (asha.email, str(asha.id), {"sent": True}),
        ("nobody@deyor.test", None, {"sent": False}),
        ("ivan.inactive@deyor.test", None, {"sent": False}),
    ]
    assert ask(client, "").status_code == 200 and "Enter your email address." in ask(client, "").get_data(as_text=True)


def test_one_person_gets_at_most_three_emails_an_hour(app, asha, mail_to_smtp):
    client = app.test_client()
    answers = [ask(client, asha.email) for _ in range(5)]
    assert len({_page(a) for a in answers}) == 1, "the same answer throughout"
    sender.flush()
    assert len(mail_to_smtp.messages) == 3
    assert [e.details["sent"] for e in kinds(audit.PASSWORD_RESET_REQUESTED)] == [True, True, True, False, False]


def test_asking_is_rate_limited_per_client(app, asha):
    limited = build_app(app.config["SQLALCHEMY_DATABASE_URI"], AUTH_RATE_LIMITED=True, RATELIMIT_ENABLED=True)
    assert limited.config["PASSWORD_RESET_RATE_LIMIT"] == "5 per 15 minute"
    client = limited.test_client()
    statuses = [client.post("/forgot-password/", data={"email": f"probe{n}@deyor.test"}).status_code
                for n in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    assert client.get("/forgot-password/").status_code == 200, "only asking is counted"
    assert not kinds(audit.LOGIN_LOCKED_OUT), "not a sign-in lock-out"
    other = limited.test_client()
    answer = other.post("/forgot-password/", data={"email": asha.email},
                        environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert answer.status_code == 200, "another client keeps its own budget"
