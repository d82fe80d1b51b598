"""The worker: one loop for the outbox and the SLA ladder, stopping cleanly, sending each email once.

A real SMTP server (aiosmtpd, in-process) receives; `flask worker run` runs as a real process
for the SIGTERM test.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Notification, utcnow
from app.notifications import sender
from tests.conftest import ROOT, fresh
from tests.test_sla import floor  # noqa: F401 (fixture)


class StopAfter:
    """A stop signal that arrives after `n` looks (SIGTERM in the middle of a backlog)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def is_set(self) -> bool:
        self.n -= 1
        return self.n < 0


def test_a_stopping_worker_sends_the_email_in_flight_and_hands_back_the_rest(floor, make_ticket, mail_to_smtp):
    from app.models import PENDING, SENT

    tickets = [make_ticket(floor["agent"], assignees=[floor["other"]], booking_id=f"DEY-{n:04d}") for n in range(4)]
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 4
    # The loop looks once before claiming and once before each email: stop after two emails.
    outcome = sender.flush(stop=StopAfter(3))
    assert outcome == {SENT: 2}
    db.session.expire_all()
    states = sorted((n.state, n.locked_by) for n in db.session.query(Notification))
    assert states == [(PENDING, None), (PENDING, None), (SENT, None), (SENT, None)]
    assert len(mail_to_smtp.messages) == 2
    assert sender.flush() == {SENT: 2}  # the next worker sends the rest at once, each once
    assert len({m.message["Message-ID"] for m in mail_to_smtp.messages}) == 4 == len(tickets)


def test_one_worker_turn_sends_the_ladders_emails(app, floor, make_ticket, mail_to_smtp):
    from app import worker

    make_ticket(floor["agent"], priority="Urgent", created_at=utcnow() - timedelta(hours=1))
    worker.turn(app)
    subjects = [str(m.message["Subject"]) for m in mail_to_smtp.messages]
    assert any("] OVERDUE · FOUNDERS" in s or "] OVERDUE " in s for s in subjects), subjects



def test_an_email_is_recorded_sent_before_quit_and_a_killed_senders_attempt_counts(
    app, floor, make_ticket, mail_to_smtp
):
    from app.models import SENDING, SENT
    from app.notifications import outbox

    make_ticket(floor["agent"], assignees=[floor["other"]])
    row = db.session.scalars(select(Notification)).one()
    # A sender claims the row, starts its attempt and dies before recording anything.
    assert outbox.claim(db.session, "dead-sender", 10, 60) == [row.id]
    assert outbox.renew(db.session, row.id, "dead-sender", 60)
    db.session.execute(update(Notification).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    # The next sender takes the expired lease. Its SMTP server is slow to answer QUIT: the email
    # is recorded as sent while QUIT is still pending.
    mail_to_smtp.quit_delay = 3
    def send():
        with app.app_context():
            sender.flush()

    worker = threading.Thread(target=send)
    worker.start()
    deadline = time.monotonic() + 10
    state = SENDING
    while state != SENT and time.monotonic() < deadline:
        db.session.expire_all()
        state = db.session.get(Notification, row.id).state
    assert state == SENT and worker.is_alive(), "not recorded before QUIT was answered"
    worker.join(timeout=10)
    row = fresh(row)
    assert row.attempts == 2  # the dead sender's attempt (it may have sent a copy) and this one
    assert len(mail_to_smtp.messages) == 1


def test_sigterm_during_a_backlog_sends_every_email_exactly_once(app, floor, make_ticket, mail_to_smtp, tmp_path):
    """`flask worker run` as deployed, a backlog of 30 emails, a slow SMTP server: SIGTERM after
    the first few. The worker exits promptly without a half-done batch; what it had claimed
    and not sent is pending again; a second worker sends the rest; nothing arrives twice."""
    backlog = 30
    for n in range(backlog):
        make_ticket(floor["agent"], assignees=[floor["other"]], booking_id=f"DEY-{n:04d}")
    mail_to_smtp.delay = 0.1  # each DATA takes a while: the stop lands mid-backlog
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "TEAM_EMAILS_"))}
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], FLASK_SECRET_KEY="w" * 64, PYTHONUNBUFFERED="1",
        SMTP_HOST=mail_to_smtp.host, SMTP_PORT=str(mail_to_smtp.port), SMTP_USE_TLS="false",
        SMTP_USE_SSL="false", OUTBOX_POLL_SECONDS="0.2", SLA_POLL_SECONDS="60", NOTIFY_EMAILS="",
    )
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "run.py", "worker", "run"], cwd=ROOT,
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while len(mail_to_smtp.messages) < 5 and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, log.read_text()[-3000:]
    finally:
        if worker.poll() is None:
            worker.kill()
    sent_by_first = len(mail_to_smtp.messages)
    assert 5 <= sent_by_first < backlog, sent_by_first
    db.session.expire_all()
    states = dict(db.session.execute(select(Notification.state, func.count()).group_by(Notification.state)).all())
    assert states == {"sent": sent_by_first, "pending": backlog - sent_by_first}, states
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.locked_by.is_not(None))) == 0
    mail_to_smtp.delay = 0
    sender.flush()
    ids = [m.message["Message-ID"] for m in mail_to_smtp.messages]
    assert len(ids) == backlog == len(set(ids))
    assert "Worker stopped" in log.read_text()
