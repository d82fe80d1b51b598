"""The weekly digest: Monday 09:00 in the calendar's zone, once per person and week, through
the outbox to a real SMTP server; the clock is injected (no test waits for a Monday)."""
from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import DigestSent, Founder, Notification, Ticket
from app.notifications import sender
from app.reports import digest
from tests.conftest import DOM, INTL

# The default calendar is Asia/Kolkata (UTC+05:30): Monday 7 December 2026, 09:05 there.
MONDAY_0905 = datetime(2026, 12, 7, 3, 35)
MONDAY_0855 = datetime(2026, 12, 7, 3, 25)
SUNDAY_0905 = datetime(2026, 12, 13, 3, 35)
NEXT_MONDAY_0905 = datetime(2026, 12, 14, 3, 35)
IN_THE_WEEK = datetime(2026, 12, 2, 10, 0)  # Wednesday of the week before MONDAY_0905


@pytest.fixture
def office(make_person, make_ticket):
    """Founders, leads (one with the digest off), an agent, and tickets of both teams."""
    people = {
        "lead_intl": make_person("Lena Lead", "Lead", (INTL,)),
        "lead_dom_off": make_person("Otto Lead", "Lead", (DOM,)),
        "lead_both": make_person("Bea Both", "Lead", (INTL, DOM)),
        "agent": make_person("Asha Agent", "Agent", (INTL,)),
        "admin": make_person("Ada Admin", "Admin"),
    }
    people["lead_dom_off"].digest_emails = False
    db.session.add_all([Founder(name="Farah Founder", email="farah@deyor.test"),
                        Founder(name="Gone Founder", email="gone@deyor.test", active=False)])
    db.session.commit()
    creator = people["agent"]
    tickets = {
        "intl_overdue": make_ticket(creator, INTL, subject="Visa stuck at embassy", booking_id="INT-1"),
        "intl_new": make_ticket(creator, INTL, subject="Seat change", booking_id="INT-2"),
        "intl_met": make_ticket(creator, INTL, subject="Refund done", booking_id="INT-3"),
        "intl_late": make_ticket(creator, INTL, subject="Refund late", booking_id="INT-4"),
        "dom_overdue": make_ticket(people["lead_dom_off"], DOM, subject="Train cancelled Zq", booking_id="DOM-1"),
    }
    old = datetime(2026, 11, 1, 10, 0)
    state = {
        "intl_overdue": dict(created_at=old, status="Open", sla_state="breached", resolved_at=None),
        "intl_new": dict(created_at=IN_THE_WEEK, status="Open", sla_state="on_track", resolved_at=None),
        "intl_met": dict(created_at=old, status="Resolved", sla_state="met", resolved_at=IN_THE_WEEK),
        "intl_late": dict(created_at=old, status="Resolved", sla_state="breached", resolved_at=IN_THE_WEEK),
        "dom_overdue": dict(created_at=old, status="In Progress", sla_state="breached", resolved_at=None),
    }
    for name, values in state.items():
        db.session.execute(update(Ticket).where(Ticket.id == tickets[name].id).values(**values))
    db.session.execute(delete(Notification))  # the creation emails: not what these tests read
    db.session.commit()
    return people, {name: ticket.id for name, ticket in tickets.items()}


def digests(smtp) -> dict[str, object]:
    return {mail.rcpt_tos[0]: mail.message for mail in smtp.messages
            if mail.message["Subject"].startswith("Weekly digest")}


def two_schedulers(app, now: datetime) -> list[int]:
    """Two scheduler passes at the same moment, each in its own thread, app context and session."""
    barrier, queued = threading.Barrier(2), []

    def scheduler() -> None:
        with app.app_context():
            barrier.wait()
            queued.append(digest.run(db.session, now=now))
            db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return queued


def send_all(app) -> None:
    with app.app_context():
        sender.flush()
        db.session.remove()


def test_two_schedulers_send_one_digest_each_on_monday_none_on_sunday_and_again_next_monday(
        app, office, mail_to_smtp):
    people, _ids = office
    assert sum(two_schedulers(app, MONDAY_0905)) == 3  # three digests between the two schedulers
    send_all(app)
    first = digests(mail_to_smtp)
    # active founders and leads with the digest on; not the lead who turned it off, nor agents, admins,
    # an inactive founder; one each
    assert set(first) == {"farah@deyor.test", "lena.lead@deyor.test", "bea.both@deyor.test"}
    assert len([m for m in mail_to_smtp.messages if m.message["Subject"].startswith("Weekly digest")]) == 3
    assert db.session.scalar(select(DigestSent.week).limit(1)) == date(2026, 12, 7)

    mail_to_smtp.clear()
    assert sum(two_schedulers(app, MONDAY_0905)) == 0  # later in the same window: already sent
    assert two_schedulers(app, SUNDAY_0905) == [0, 0]
    assert two_schedulers(app, MONDAY_0855) == [0, 0]
    send_all(app)
    assert digests(mail_to_smtp) == {}

    assert sum(two_schedulers(app, NEXT_MONDAY_0905)) == 3
    send_all(app)
    assert set(digests(mail_to_smtp)) == set(first)


def test_a_digest_has_the_weeks_figures_and_only_its_readers_overdue_tickets(app, office, mail_to_smtp):
    people, ids = office
    assert digest.run(db.session, now=MONDAY_0905) == 3
    send_all(app)
    received = digests(mail_to_smtp)
    lead = received["lena.lead@deyor.test"]
    text = lead.get_body(("plain",)).get_content()
    html = lead.get_body(("html",)).get_content()
    assert "Created: 1" in text and "Resolved: 2" in text and "Open now: 2" in text
    assert "Overdue now: 1" in text and "SLA met: 50%" in text
    assert f"https://esc.deyor.test/tickets/show/{ids['intl_overdue']}" in text
    assert f'href="https://esc.deyor.test/tickets/show/{ids["intl_overdue"]}"' in html
    assert "Train cancelled" not in text + html and str(ids["dom_overdue"]) not in text.split("Overdue tickets")[-1]
    assert lead["Subject"].startswith("Weekly digest, week of 30 Nov 2026: 1 created, 2 resolved, 1 overdue")

    founder = received["farah@deyor.test"].get_body(("plain",)).get_content()
    assert "Overdue now: 2" in founder and "Train cancelled Zq" in founder
    assert f"{DOM}: 0 created, 0 resolved, 1 open, 1 overdue" in founder
    both = received["bea.both@deyor.test"].get_body(("plain",)).get_content()
    assert "Overdue now: 2" in both  # a lead of both teams sees both


def test_a_founder_who_is_also_a_person_with_the_digest_off_gets_none(app, office, mail_to_smtp):
    people, _ids = office
    db.session.add(Founder(name="Otto Lead", email=people["lead_dom_off"].email))
    db.session.commit()
    assert digest.run(db.session, now=MONDAY_0905) == 3
    assert people["lead_dom_off"].email not in {row.to_addrs for row in db.session.scalars(select(Notification))}


def test_the_calendars_time_zone_decides_when_monday_0900_is(app, office):
    from app.models import Calendar

    db.session.execute(update(Calendar).values(timezone="Europe/London"))
    db.session.commit()
    assert digest.run(db.session, now=MONDAY_0905) == 0  # 03:35 in London: not yet
    assert digest.run(db.session, now=datetime(2026, 12, 7, 9, 5)) == 3
    assert digest.due_week(datetime(2026, 12, 8, 9, 5), "Europe/London") is None  # Tuesday: too late


def test_the_worker_loop_queues_and_sends_the_digest(app, office, mail_to_smtp):
    import time_machine

    from app import worker

    with time_machine.travel(MONDAY_0905.replace(tzinfo=timezone.utc), tick=False):
        worker.turn(app)
    assert set(digests(mail_to_smtp)) == {"farah@deyor.test", "lena.lead@deyor.test", "bea.both@deyor.test"}
    with time_machine.travel(MONDAY_0905.replace(tzinfo=timezone.utc), tick=False):
        worker.turn(app)
    assert len([m for m in mail_to_smtp.messages if m.message["Subject"].startswith("Weekly digest")]) == 3
