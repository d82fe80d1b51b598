"""Email notifications end to end: the outbox row written with the ticket change, delivery to a
real SMTP server (aiosmtpd), retries with backoff, leases, concurrent senders, the admin screen
and `flask outbox flush`.

Tickets are created, resolved and edited through the real forms; `sender.flush()` is the
sender's one pass, run in the test's app context (or in threads with their own contexts).
"""
from __future__ import annotations

import logging
import re
import threading
import time
from datetime import timedelta
from email.utils import getaddresses

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Founder, Notification, Person, Ticket, utcnow
from app.notifications import outbox, sender
from tests.conftest import DOM, INTL, fresh, team
from tests.test_validation import edit_form, new_ticket_form
from tests.test_workflow import post_status

BASE_URL = "https://esc.deyor.test"  # set by the mail_to_smtp fixture
SLACK = timedelta(seconds=5)


# --- helpers ----------------------------------------------------------------------------------


def notifications(**filters) -> list[Notification]:
    db.session.expire_all()
    return db.session.query(Notification).filter_by(**filters).order_by(Notification.id).all()


def only_notification(**filters) -> Notification:
    rows = notifications(**filters)
    assert len(rows) == 1, [(r.id, r.event, r.state, r.to_addrs) for r in rows]
    return rows[0]


def reload(row: Notification) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, row.id)


def flush(**kwargs) -> dict[str, int]:
    outcome = sender.flush(**kwargs)
    db.session.expire_all()
    return outcome


def make_due(*rows: Notification) -> None:
    """Let the backoff pass (as if time went by)."""
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_([r.id for r in rows]))
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def add_ticket(client, **fields) -> Ticket:
    before = {t.id for t in db.session.query(Ticket.id)}
    response = client.post("/tickets/add", data=new_ticket_form(**fields))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    created = [t for t in db.session.query(Ticket).all() if t.id not in before]
    assert len(created) == 1, "the ticket was not saved"
    return created[0]


def addresses(message, header: str) -> list[str]:
    """The addresses of a header, in any order (Flask-Mail writes To and Cc from a set)."""
    return [address for _, address in getaddresses([str(v) for v in message.get_all(header, [])])]


def parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "both a text and an HTML part"
    return text.get_content(), html.get_content()


def subject_of(ticket: Ticket) -> str:
    return f"[ESC-{ticket.id}][{ticket.priority}] {ticket.subject} · Booking {ticket.booking_id}"


def message_for(smtp, row: Notification):
    found = [m for m in smtp.messages if m.message["Message-ID"] == row.message_id]
    assert len(found) == 1, f"{row.message_id} received {len(found)} times"
    return found[0]


def lower(addresses_) -> set[str]:
    return {a.lower() for a in addresses_}


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def crew(make_person):
    """An agent who escalates, people to assign, a lead and an admin."""
    return {
        "creator": make_person("Carl Creator", "Agent", (INTL,)),
        "asha": make_person("Asha Assigned", "Agent", (INTL,)),
        "ivan": make_person("Ivan Inactive", "Agent", (INTL,)),
        "zed": make_person("Zed Newcomer", "Agent", (INTL,)),
        "lead": make_person("Lena Lead", "Lead", (INTL,)),
        "admin": make_person("Ada Admin", "Admin"),
    }


@pytest.fixture
def founders():
    rows = [
        Founder(name="Farah Founder", email="farah.founder@deyor.test", active=True),
        Founder(name="Zoya Founder", email="zoya.founder@deyor.test", active=True),
        Founder(name="Omar Former", email="omar.founder@deyor.test", active=False),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


@pytest.fixture
def intl_recipients(app, monkeypatch, mail_to_smtp):
    """Team defaults of International Operations from the environment and from the team row."""
    monkeypatch.setitem(
        app.config, "TEAM_EMAILS", {"INTERNATIONAL_OPERATIONS": "intl-desk@deyor.test, Farah.Founder@deyor.test"}
    )
    intl = team(INTL)
    intl.default_emails = "INTL-DESK@deyor.test, intl-archive@deyor.test"
    db.session.commit()
    return ["intl-desk@deyor.test", "Farah.Founder@deyor.test", "intl-archive@deyor.test"]


@pytest.fixture
def simple_ticket(crew, client_for, mail_to_smtp):
    """A ticket with one assignee, created through the form; its creation email is pending."""

    def _make(**fields) -> Ticket:
        fields.setdefault("assignees", [str(crew["asha"].id)])
        return add_ticket(client_for(crew["creator"]), **fields)

    return _make


# --- creation -----------------------------------------------------------------------------------


def test_creation_through_the_form_queues_one_row_and_sends_the_full_email(
    crew, founders, intl_recipients, client_for, mail_to_smtp
):
    smtp = mail_to_smtp
    creator, asha, ivan = crew["creator"], crew["asha"], crew["ivan"]
    ticket = add_ticket(
        client_for(creator),
        subject="Hotel overbooked in Goa",
        booking_id="goa-7781",
        priority="Urgent",
        customer_name="Priya Nair",
        customer_contact="priya@example.com",
        description="Guest arrived at 23:00; no room.\nNeeds a rebooking tonight.",
        notify_emails="partner@agency.com, carl.creator@deyor.test",
        assignees=[str(asha.id), str(ivan.id)],
    )

    # Right after the request: one pending row, nothing sent.
    row = only_notification()
    assert (row.event, row.state, row.attempts, row.ticket_id) == ("created", "pending", 0, ticket.id)
    assert row.sent_at is None and row.last_error is None
    assert smtp.data_commands == 0 and smtp.messages == []

    expected_to = intl_recipients + ["partner@agency.com", "carl.creator@deyor.test", asha.email, ivan.email]
    expected_cc = ["zoya.founder@deyor.test"]  # Farah is in To already; Omar is inactive
    stored_to = row.to_addrs.split(", ")
    assert stored_to[:5] == expected_to[:5]  # team defaults, then notify emails, then assignees (any order)
    assert sorted(stored_to) == sorted(expected_to)
    assert row.cc_addrs.split(", ") == expected_cc

    assert flush() == {"sent": 1}
    row = reload(row)
    assert (row.state, row.attempts, row.last_error, row.locked_by) == ("sent", 1, None, None)
    assert row.sent_at is not None

    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    message = mail.message
    # The envelope reaches To and CC, each address once, and nobody else.
    assert sorted(mail.rcpt_tos) == sorted(expected_to + expected_cc)
    assert "omar.founder@deyor.test" not in lower(mail.rcpt_tos)
    assert "carl.creator@deyor.test" in mail.rcpt_tos  # the actor is kept when a recipient
    assert sorted(addresses(message, "To")) == sorted(expected_to)
    assert sorted(addresses(message, "Cc")) == sorted(expected_cc)
    assert mail.mail_from == "escalations@deyor.test"
    assert addresses(message, "From") == ["escalations@deyor.test"]

    assert ticket.booking_id == "GOA-7781"
    assert message["Subject"] == f"[ESC-{ticket.id}][Urgent] Hotel overbooked in Goa · Booking GOA-7781"
    assert message["Subject"] == row.subject
    assert message["Message-ID"] == row.message_id
    assert message["In-Reply-To"] is None and message["References"] is None

    text, html = parts(message)
    link = f"{BASE_URL}/tickets/show/{ticket.id}"
    assert link in text
    assert f'href="{link}"' in html
    for content in (text, html):
        assert "GOA-7781" in content
        assert INTL in content
        assert "Priya Nair" in content
        assert "Asha Assigned" in content and "Ivan Inactive" in content
        assert "Carl Creator" in content
        assert "Needs a rebooking tonight." in content


def test_resolution_replies_in_the_thread_without_founders_and_skips_a_deactivated_assignee(
    crew, founders, intl_recipients, client_for, mail_to_smtp
):
    smtp = mail_to_smtp
    creator, asha, ivan = crew["creator"], crew["asha"], crew["ivan"]
    client = client_for(creator)
    ticket = add_ticket(
        client, notify_emails="partner@agency.com", assignees=[str(asha.id), str(ivan.id)], booking_id="RES-1",
    )
    assert flush() == {"sent": 1}
    created = only_notification(event="created")

    ivan = db.session.get(Person, ivan.id)
    ivan.active = False  # left the company after the ticket was opened
    db.session.commit()

    notes = "Refund of 12,500 issued.\nGuest moved to the Taj <b>tonight</b>."
    response = post_status(client, ticket, "Resolved", notes)
    assert response.status_code == 200
    assert fresh(ticket).status == "Resolved"

    resolved = only_notification(event="resolved")
    assert resolved.state == "pending" and smtp.data_commands == 1  # queued, not sent by the request
    assert flush() == {"sent": 1}

    mail = message_for(smtp, resolved)
    message = mail.message
    expected_to = intl_recipients + ["partner@agency.com", asha.email]
    assert sorted(addresses(message, "To")) == sorted(expected_to)
    assert addresses(message, "Cc") == []
    assert sorted(mail.rcpt_tos) == sorted(expected_to)
    assert not lower(mail.rcpt_tos) & {"zoya.founder@deyor.test", "omar.founder@deyor.test", ivan.email}
    assert message["In-Reply-To"] == created.message_id
    assert message["References"] == created.message_id
    assert message["Message-ID"] == resolved.message_id != created.message_id
    assert message["Subject"] == subject_of(fresh(ticket))

    text, html = parts(message)
    assert "Refund of 12,500 issued." in text and "Guest moved to the Taj <b>tonight</b>." in text
    assert "Refund of 12,500 issued." in html and "&lt;b&gt;tonight&lt;/b&gt;" in html
    assert "<b>tonight</b>" not in html
    assert "Carl Creator" in text  # who resolved it
    assert f"{BASE_URL}/tickets/show/{ticket.id}" in text and f"{BASE_URL}/tickets/show/{ticket.id}" in html


def test_resolution_with_nobody_else_goes_to_notify_emails(app, crew, founders, client_for, mail_to_smtp, monkeypatch):
    smtp = mail_to_smtp
    monkeypatch.setitem(app.config, "NOTIFY_EMAILS", "boss@deyor.test, Boss@Deyor.test,cfo@deyor.test")
    client = client_for(crew["creator"])
    ticket = add_ticket(client, team=str(team(DOM).id), assignees=None, notify_emails="", booking_id="DOM-9")

    # Creation: nobody in To; the active founders are still copied (NOTIFY_EMAILS is for resolutions).
    created = only_notification(event="created")
    assert created.to_addrs == ""
    assert created.cc_addrs.split(", ") == ["farah.founder@deyor.test", "zoya.founder@deyor.test"]

    post_status(client, ticket, "Resolved", "Sorted with the airline")
    resolved = only_notification(event="resolved")
    assert resolved.to_addrs.split(", ") == ["boss@deyor.test", "cfo@deyor.test"]
    assert resolved.cc_addrs == ""

    assert flush() == {"sent": 2}
    creation_mail = message_for(smtp, created)
    assert sorted(creation_mail.rcpt_tos) == ["farah.founder@deyor.test", "zoya.founder@deyor.test"]
    mail = message_for(smtp, resolved)
    assert sorted(mail.rcpt_tos) == ["boss@deyor.test", "cfo@deyor.test"]
    assert sorted(addresses(mail.message, "To")) == sorted(["boss@deyor.test", "cfo@deyor.test"])
    assert mail.message["In-Reply-To"] == created.message_id


def test_a_ticket_nobody_is_to_hear_about_writes_no_row(crew, client_for, mail_to_smtp):
    add_ticket(client_for(crew["creator"]), team=str(team(DOM).id), assignees=None, notify_emails="")
    assert notifications() == []


def test_an_inactive_assignee_gets_no_creation_email(crew, make_ticket, mail_to_smtp):
    """A ticket saved with a deactivated assignee (API, script, or a deactivation racing the form)."""
    ivan = db.session.get(Person, crew["ivan"].id)
    ivan.active = False
    db.session.commit()
    make_ticket(crew["creator"], INTL, assignees=[crew["asha"], ivan])
    row = only_notification(event="created")
    assert row.to_addrs.split(", ") == [crew["asha"].email]
    assert flush() == {"sent": 1}
    assert mail_to_smtp.messages[0].rcpt_tos == [crew["asha"].email]


def test_adding_an_assignee_on_edit_emails_only_the_newcomer(crew, client_for, mail_to_smtp):
    smtp = mail_to_smtp
    asha, zed, lead = crew["asha"], crew["zed"], crew["lead"]
    creator_client, lead_client = client_for(crew["creator"]), client_for(lead)
    ticket = add_ticket(creator_client, assignees=[str(asha.id)], notify_emails="partner@agency.com")
    assert flush() == {"sent": 1}
    created = only_notification(event="created")

    data = edit_form(lead_client, ticket.id)
    data["assignees"] = [str(asha.id), str(zed.id)]
    assert lead_client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    assert sorted(p.id for p in fresh(ticket).assignees) == sorted([asha.id, zed.id])

    assigned = only_notification(event="assigned")
    assert assigned.state == "pending"
    assert assigned.to_addrs == zed.email and assigned.cc_addrs == ""
    assert flush() == {"sent": 1}
    mail = message_for(smtp, assigned)
    assert mail.rcpt_tos == [zed.email]
    assert addresses(mail.message, "To") == [zed.email]
    assert mail.message["In-Reply-To"] == created.message_id
    assert mail.message["Subject"] == subject_of(fresh(ticket))
    text, html = parts(mail.message)
    assert f"ESC-{ticket.id}" in text and "assigned" in text.lower()
    assert f"{BASE_URL}/tickets/show/{ticket.id}" in text and f"{BASE_URL}/tickets/show/{ticket.id}" in html

    # Saving without an assignee change, or removing someone, sends nothing.
    data = edit_form(lead_client, ticket.id)
    data["subject"] = ["Visa appointment missed (consulate)"]
    assert lead_client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    data = edit_form(lead_client, ticket.id)
    data["assignees"] = [str(zed.id)]
    assert lead_client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    assert fresh(ticket).subject == "Visa appointment missed (consulate)"
    assert len(notifications()) == 2

    # Asha assigned again is a newcomer again.
    data = edit_form(lead_client, ticket.id)
    data["assignees"] = [str(zed.id), str(asha.id)]
    assert lead_client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    again = notifications(event="assigned")[-1]
    assert again.to_addrs == asha.email
    assert flush() == {"sent": 1}
    assert len(smtp.messages) == 3


def test_markup_in_subject_and_description_is_escaped_in_the_html_part(crew, client_for, mail_to_smtp):
    subject = '<script>alert("x")</script> & refund'
    description = "<img src=x onerror=alert(1)> call <b>now</b>"
    ticket = add_ticket(
        client_for(crew["creator"]), subject=subject, description=description, assignees=[str(crew["asha"].id)]
    )
    assert flush() == {"sent": 1}
    message = mail_to_smtp.messages[0].message
    assert message["Subject"] == f"[ESC-{ticket.id}][High] {subject} · Booking DEY-2001"
    text, html = parts(message)
    assert subject in text and description in text
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<b>now" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&amp; refund" in html


# --- transactional ---------------------------------------------------------------------------------


def test_the_email_of_a_ticket_deleted_before_sending_is_still_sent(crew, simple_ticket, client_for, mail_to_smtp):
    ticket = simple_ticket(booking_id="GONE-1")
    ticket_id = ticket.id
    assert client_for(crew["lead"]).post(f"/tickets/delete/{ticket_id}").status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket_id) is None
    row = only_notification()
    assert row.ticket_id is None and row.state == "pending"
    assert flush() == {"sent": 1}
    assert "GONE-1" in mail_to_smtp.messages[0].message["Subject"]


def test_a_refused_ticket_writes_no_notification(crew, client_for, mail_to_smtp):
    client = client_for(crew["creator"])
    response = client.post(
        "/tickets/add", data=new_ticket_form(booking_id="AB#12", assignees=[str(crew["asha"].id)])
    )
    assert response.status_code == 200  # the form again, with the error
    assert db.session.query(Ticket).count() == 0
    assert notifications() == []
    assert flush() == {}
    assert mail_to_smtp.data_commands == 0


def test_refused_changes_write_no_notification(crew, simple_ticket, client_for):
    ticket = simple_ticket()
    assert flush() == {"sent": 1}
    client = client_for(crew["lead"])

    post_status(client, ticket, "Resolved", "")  # notes are required
    assert fresh(ticket).status == "Open"

    stale = edit_form(client, ticket.id)
    post_status(client, ticket, "In Progress")  # someone else saved meanwhile
    stale["assignees"] = [str(crew["asha"].id), str(crew["zed"].id)]
    client.post(f"/tickets/edit/{ticket.id}", data=stale)
    assert [p.id for p in fresh(ticket).assignees] == [crew["asha"].id]

    assert [r.event for r in notifications()] == ["created"]


def test_without_smtp_host_notifications_are_recorded_as_skipped(app, simple_ticket, mail_to_smtp, monkeypatch, caplog):
    ticket = simple_ticket()
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    # Running the migrations in this process (alembic's fileConfig) disabled the loggers that existed.
    monkeypatch.setattr(logging.getLogger("app.notifications.sender"), "disabled", False)
    with caplog.at_level("INFO", logger="app.notifications.sender"):
        assert flush() == {"skipped": 1}
    row = only_notification()
    assert (row.state, row.attempts, row.sent_at, row.locked_by) == ("skipped", 1, None, None)
    assert "SMTP_HOST" in row.last_error
    assert any(f"ESC-{ticket.id}" in record.getMessage() for record in caplog.records), "logged"
    assert flush() == {}
    assert mail_to_smtp.data_commands == 0 and mail_to_smtp.messages == []


# --- faults ---------------------------------------------------------------------------------------


def test_smtp_down_then_back_delivers_exactly_once(crew, client_for, mail_to_smtp, outbox_settings):
    smtp = mail_to_smtp
    outbox_settings(backoff_seconds=30)
    smtp.stop()
    ticket = add_ticket(client_for(crew["creator"]), assignees=[str(crew["asha"].id)])
    assert fresh(ticket) is not None  # the request did not care about SMTP

    before = utcnow()
    assert flush() == {"pending": 1}
    row = only_notification()
    assert (row.state, row.attempts, row.sent_at, row.locked_by) == ("pending", 1, None, None)
    assert "ConnectionRefused" in row.last_error or "Connection refused" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=30)
    assert row.next_attempt_at <= utcnow() + timedelta(seconds=30) + SLACK

    smtp.start()
    assert flush() == {}, "not due before the backoff passed"
    assert smtp.messages == []

    make_due(row)
    assert flush() == {"sent": 1}
    assert flush() == {}
    assert len(smtp.wait_for(1, timeout=0.2)) == 1
    row = reload(row)
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, None)
    assert smtp.messages[0].message["Message-ID"] == row.message_id


def test_temporary_smtp_error_is_retried(simple_ticket, mail_to_smtp, outbox_settings):
    smtp = mail_to_smtp
    outbox_settings(backoff_seconds=60)
    simple_ticket()
    smtp.reply = "451 4.3.0 try later"
    assert flush() == {"pending": 1}
    row = only_notification()
    assert (row.state, row.attempts) == ("pending", 1)
    assert "451" in row.last_error and "try later" in row.last_error
    assert row.next_attempt_at > utcnow()
    assert smtp.messages == [] and smtp.refused == 1

    smtp.reply = None
    outbox_settings(backoff_seconds=0)
    make_due(row)
    assert flush() == {"sent": 1}
    assert flush() == {}
    assert len(smtp.messages) == 1
    assert reload(row).state == "sent" and reload(row).attempts == 2


def test_permanent_smtp_error_backs_off_more_each_time_then_fails(simple_ticket, mail_to_smtp, outbox_settings):
    smtp = mail_to_smtp
    outbox_settings(max_attempts=4, backoff_seconds=10, backoff_max_seconds=30)
    simple_ticket()
    smtp.reply = "550 5.1.1 no such user"
    row = only_notification()
    delays = []
    for attempt in (1, 2, 3):
        start = utcnow()
        assert flush() == {"pending": 1}
        end = utcnow()
        row = reload(row)
        assert (row.state, row.attempts) == ("pending", attempt)
        assert "550" in row.last_error and "no such user" in row.last_error
        expected = timedelta(seconds=min(10 * 2 ** (attempt - 1), 30))
        assert start + expected <= row.next_attempt_at <= end + expected
        delays.append(expected)
        assert flush() == {}, "not retried before its time"
        make_due(row)
    assert delays == sorted(delays) and delays[0] < delays[-1]

    assert flush() == {"failed": 1}
    row = reload(row)
    assert (row.state, row.attempts, row.sent_at) == ("failed", 4, None)
    assert "550" in row.last_error
    make_due(row)
    assert flush() == {}, "a failed row is left for an admin"
    assert smtp.data_commands == 4 and smtp.messages == []


def test_no_backoff_retries_within_one_pass_up_to_the_limit(simple_ticket, mail_to_smtp, outbox_settings):
    outbox_settings(max_attempts=3, backoff_seconds=0)
    simple_ticket()
    mail_to_smtp.reply = "550 5.1.1 no such user"
    assert flush() == {"pending": 2, "failed": 1}
    assert only_notification().state == "failed"
    assert mail_to_smtp.data_commands == 3


def test_a_hung_smtp_server_times_out_and_is_retried(app, simple_ticket, mail_to_smtp, monkeypatch):
    """The sender gives up after MAIL_TIMEOUT and the admin screen says it timed out."""
    smtp = mail_to_smtp
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 0.3)
    simple_ticket()
    smtp.delay, smtp.reply = 1.0, "451 4.4.2 too slow"
    started = time.monotonic()
    assert flush() == {"pending": 1}
    assert time.monotonic() - started < 1.0
    row = only_notification()
    assert row.attempts == 1 and "timed out" in row.last_error.lower()


def test_a_message_the_server_accepted_is_not_sent_again_when_quit_fails(app, simple_ticket, mail_to_smtp, monkeypatch):
    """The server said 250 to the message, then did not answer QUIT in time: the email went out."""
    smtp = mail_to_smtp
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 0.3)
    simple_ticket()
    smtp.quit_delay = 1.0
    outcome = flush()
    assert len(smtp.messages) == 1
    row = only_notification()
    assert (row.state, outcome) == ("sent", {"sent": 1}), f"recorded as {row.state}: {row.last_error}"
    smtp.quit_delay = 0
    make_due(row)
    flush()
    assert len(smtp.messages) == 1, "the accepted message was sent again"


def test_a_crashed_senders_row_waits_for_its_lease_then_is_sent_once(simple_ticket, mail_to_smtp):
    smtp = mail_to_smtp
    simple_ticket()
    row = only_notification()
    assert outbox.claim(db.session, "crashed-worker", 10, 300) == [row.id]
    row = reload(row)
    assert (row.state, row.locked_by) == ("sending", "crashed-worker")
    assert row.locked_until > utcnow() + timedelta(seconds=250)

    # The worker died here, before sending. While its lease holds, nobody takes the row.
    assert flush() == {}
    assert smtp.data_commands == 0
    assert outbox.claim(db.session, "another-worker", 10, 300) == []

    db.session.execute(
        update(Notification).where(Notification.id == row.id).values(locked_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert flush() == {"sent": 1}
    assert flush() == {}
    assert len(smtp.messages) == 1
    row = reload(row)
    assert (row.state, row.attempts, row.locked_by, row.locked_until) == ("sent", 1, None, None)

    # The stale worker waking up cannot overwrite the outcome.
    assert outbox.finish(db.session, row.id, "crashed-worker", state="pending", attempts=0) is False
    row = reload(row)
    assert (row.state, row.attempts) == ("sent", 1)
    assert flush() == {}
    assert len(smtp.messages) == 1


def test_a_zero_lease_expires_at_once(simple_ticket, mail_to_smtp):
    simple_ticket()
    row = only_notification()
    assert outbox.claim(db.session, "crashed-worker", 10, 0) == [row.id]
    assert flush() == {"sent": 1}
    assert len(mail_to_smtp.messages) == 1


def _create_tickets(make_ticket, creator, assignee, count: int) -> None:
    for n in range(count):
        make_ticket(creator, INTL, assignees=[assignee], booking_id=f"BULK-{n:03d}", subject=f"Bulk {n}")


def _nothing_left() -> bool:
    return not db.session.query(Notification.id).filter(Notification.state.in_(["pending", "sending"])).count()


def _run_senders(app, count: int, until_done: bool = False, **flush_kwargs) -> list[dict]:
    """`count` senders at once, each with its own app context and database session.

    until_done: each keeps making passes (as `flask outbox run` would, without the pause)
    until no row is pending or being sent, so the senders race for rows many times.
    """
    barrier = threading.Barrier(count)
    outcomes: list[dict] = []
    errors: list[BaseException] = []

    def work():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                total: dict[str, int] = {}
                deadline = time.monotonic() + 30
                while True:
                    for state, n in sender.flush(**flush_kwargs).items():
                        total[state] = total.get(state, 0) + n
                    db.session.commit()
                    if not until_done or _nothing_left() or time.monotonic() > deadline:
                        break
                outcomes.append(total)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a sender hung"
    assert errors == [], errors
    return outcomes


def test_two_senders_at_once_deliver_each_message_exactly_once(app, crew, make_ticket, mail_to_smtp):
    smtp = mail_to_smtp
    smtp.delay = 0.005
    _create_tickets(make_ticket, crew["creator"], crew["asha"], 30)
    rows = notifications()
    assert len(rows) == 30 and {r.state for r in rows} == {"pending"}

    outcomes = _run_senders(app, 2, until_done=True, limit=4)

    assert sum(o.get("sent", 0) for o in outcomes) == 30
    received = smtp.wait_for(30, timeout=1)
    ids = [m.message["Message-ID"] for m in received]
    assert len(ids) == 30, f"{len(ids)} messages for 30 notifications"
    assert len(set(ids)) == 30, "a message was sent twice"
    assert set(ids) == {r.message_id for r in rows}
    rows = notifications()
    assert {(r.state, r.attempts) for r in rows} == {("sent", 1)}
    assert flush() == {}


def test_a_slow_batch_is_not_sent_twice_when_its_lease_runs_out(app, crew, make_ticket, mail_to_smtp, outbox_settings):
    """Normal operation with a slow SMTP relay: a sender claims a batch and sends it one by one.

    When the batch takes longer than the lease, the rows still waiting in it look abandoned
    and a second sender takes them; the first one must not send them as well.
    """
    smtp = mail_to_smtp
    outbox_settings(lease_seconds=1)
    smtp.delay = 0.3
    _create_tickets(make_ticket, crew["creator"], crew["asha"], 6)
    rows = notifications()

    first = threading.Thread(target=lambda: _run_senders(app, 1))
    first.start()
    try:
        smtp.wait_for(1, timeout=5)
        leases = [r.locked_until for r in notifications() if r.state == "sending"]
        assert leases, "the first sender holds a batch"
        while utcnow() <= max(leases):  # until the batch's lease ran out
            time.sleep(0.05)
        second = sender.flush()
    finally:
        first.join(timeout=30)
    time.sleep(0.1)

    ids = [m.message["Message-ID"] for m in smtp.messages]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert len(ids) == 6 and not duplicates, (
        f"{len(ids)} messages for 6 notifications; sent twice: {duplicates}; second sender: {second}"
    )
    assert set(ids) == {r.message_id for r in rows}
    assert {r.state for r in notifications()} == {"sent"}


def test_message_ids_stay_unique_when_a_deleted_tickets_id_comes_back(crew, client_for, mail_to_smtp):
    """A recipient's mailbox drops (or threads wrongly) a message whose Message-ID it has seen."""
    creator_client = client_for(crew["creator"])
    first = add_ticket(creator_client, booking_id="DEL-1", assignees=[str(crew["asha"].id)])
    first_id = first.id
    assert flush() == {"sent": 1}
    response = client_for(crew["lead"]).post(f"/tickets/delete/{first_id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, first_id) is None

    second = add_ticket(creator_client, booking_id="NEW-2", assignees=[str(crew["asha"].id)])
    assert flush() == {"sent": 1}
    ids = [m.message["Message-ID"] for m in mail_to_smtp.messages]
    assert len(ids) == 2
    assert ids[0] != ids[1], (
        f"ESC-{second.id} reused the Message-ID of the deleted ESC-{first_id}'s email: {ids[0]}"
    )


# --- admin screen ----------------------------------------------------------------------------------


@pytest.fixture
def outbox_rows(crew, client_for, mail_to_smtp, outbox_settings):
    """One sent, one failed (550) and one pending notification, on distinguishable tickets."""
    smtp = mail_to_smtp
    client = client_for(crew["creator"])
    asha = str(crew["asha"].id)
    sent_ticket = add_ticket(client, subject="Sent subject", booking_id="SENT-1", assignees=[asha])
    assert flush() == {"sent": 1}
    outbox_settings(max_attempts=1)
    smtp.reply = "550 5.1.1 no such user"
    failed_ticket = add_ticket(client, subject="Failed subject", booking_id="FAIL-1", assignees=[asha],
                               notify_emails="ghost@agency.com")
    assert flush() == {"failed": 1}
    pending_ticket = add_ticket(client, subject="Pending subject", booking_id="PEND-1", assignees=[asha])
    smtp.reply = None
    return {
        "sent": only_notification(ticket_id=sent_ticket.id),
        "failed": only_notification(ticket_id=failed_ticket.id),
        "pending": only_notification(ticket_id=pending_ticket.id),
    }


def _rows_on_page(page: str) -> str:
    return page[page.find("<table"):]


def test_admin_sees_state_attempts_error_recipients_and_subject(crew, client_for, outbox_rows):
    client = client_for(crew["admin"])
    response = client.get("/notifications/list/")
    assert response.status_code == 200
    page = _rows_on_page(response.get_data(as_text=True))
    for state in ("Sent", "Failed", "Pending"):  # badges with words
        assert re.search(rf"notification-state\">\s*{state}\s*<", page), state
    assert "SMTP 550" in page and "no such user" in page
    assert "ghost@agency.com" in page and crew["asha"].email in page
    for subject in ("Sent subject", "Failed subject", "Pending subject"):
        assert subject in page

    failed = outbox_rows["failed"]
    show = client.get(f"/notifications/show/{failed.id}")
    assert show.status_code == 200
    body = show.get_data(as_text=True)
    assert failed.message_id.strip("<>") in body
    assert "SMTP 550" in body and "ghost@agency.com" in body


def test_admin_filters_by_state(crew, client_for, outbox_rows):
    client = client_for(crew["admin"])
    # FAB numbers a String column's filters: 0 starts with, 1 ends with, 2 contains, 3 equal …
    response = client.get("/notifications/list/?_flt_3_state=failed")
    assert response.status_code == 200
    page = _rows_on_page(response.get_data(as_text=True))
    assert "Failed subject" in page
    assert "Sent subject" not in page and "Pending subject" not in page

    page = _rows_on_page(client.get("/notifications/list/?_flt_3_state=pending").get_data(as_text=True))
    assert "Pending subject" in page and "Failed subject" not in page and "Sent subject" not in page


def test_retry_puts_a_failed_row_back_and_it_is_delivered(crew, client_for, outbox_rows, mail_to_smtp):
    smtp = mail_to_smtp
    client = client_for(crew["admin"])
    failed = outbox_rows["failed"]
    response = client.post("/notifications/action_post", data={"action": "retry", "rowid": str(failed.id)})
    assert response.status_code == 302
    row = reload(failed)
    assert (row.state, row.attempts, row.locked_by) == ("pending", 0, None)
    assert row.next_attempt_at <= utcnow()

    assert flush() == {"sent": 2}  # the retried row and the one that was pending anyway
    mail = message_for(smtp, failed)
    assert "ghost@agency.com" in mail.rcpt_tos
    assert (reload(failed).state, reload(failed).attempts) == ("sent", 1)


def test_retry_by_the_single_row_route(crew, client_for, outbox_rows, mail_to_smtp):
    client = client_for(crew["admin"])
    failed = outbox_rows["failed"]
    assert client.get(f"/notifications/action/retry/{failed.id}").status_code == 405
    assert reload(failed).state == "failed"
    assert client.post(f"/notifications/action/retry/{failed.id}").status_code == 302
    assert (reload(failed).state, reload(failed).attempts) == ("pending", 0)
    flush()
    message_for(mail_to_smtp, failed)


def test_retry_leaves_a_sent_row_alone(crew, client_for, outbox_rows, mail_to_smtp):
    client = client_for(crew["admin"])
    sent = outbox_rows["sent"]
    before = reload(sent)
    snapshot = (before.state, before.attempts, before.sent_at, before.next_attempt_at)
    response = client.post("/notifications/action_post", data={"action": "retry", "rowid": str(sent.id)})
    assert response.status_code == 302
    after = reload(sent)
    assert (after.state, after.attempts, after.sent_at, after.next_attempt_at) == snapshot
    assert flush() == {"sent": 1}  # only the pending one
    assert [m.message["Message-ID"] for m in mail_to_smtp.messages].count(sent.message_id) == 1


def test_retry_leaves_a_row_being_sent_alone(crew, client_for, simple_ticket, mail_to_smtp):
    """A row shown as 'sending' may be in a live sender's hands: a retry must not send it twice."""
    simple_ticket()
    row = only_notification()
    assert outbox.claim(db.session, "live-worker", 10, 300) == [row.id]
    client = client_for(crew["admin"])
    assert client.post("/notifications/action_post", data={"action": "retry", "rowid": str(row.id)}).status_code == 302
    after = reload(row)
    assert (after.state, after.locked_by) == ("sending", "live-worker"), "retry took the row from a live sender"
    assert flush() == {}


@pytest.mark.parametrize("role", ["Agent", "Lead"])
def test_staff_cannot_see_or_retry_notifications(make_person, client_for, outbox_rows, role):
    client = client_for(make_person(f"Staff {role}", role, (INTL,)))
    failed = outbox_rows["failed"]
    assert client.get("/notifications/list/").status_code == 403
    assert client.get(f"/notifications/show/{failed.id}").status_code == 403
    retry = {"action": "retry", "rowid": str(failed.id)}
    assert client.post("/notifications/action_post", data=retry).status_code == 403
    assert client.post(f"/notifications/action/retry/{failed.id}").status_code == 403
    row = reload(failed)
    assert (row.state, row.attempts) == ("failed", 1)
    menu = client.get("/tickets/list/").get_data(as_text=True)
    assert "/notifications/list/" not in menu


# --- command line ------------------------------------------------------------------------------------


def test_flask_outbox_flush_reports_the_outcome(app, simple_ticket, mail_to_smtp, outbox_settings):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["outbox", "flush"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Nothing due."

    simple_ticket(booking_id="CLI-1")
    simple_ticket(booking_id="CLI-2")
    result = runner.invoke(args=["outbox", "flush"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent: 2"
    assert len(mail_to_smtp.messages) == 2

    outbox_settings(backoff_seconds=60)
    mail_to_smtp.stop()
    simple_ticket(booking_id="CLI-3")
    result = runner.invoke(args=["outbox", "flush"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "pending: 1"
    assert only_notification(state="pending").attempts == 1
