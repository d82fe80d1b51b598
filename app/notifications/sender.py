"""Deliver claimed outbox rows with Flask-Mail: at least once, with backoff, never in a request."""
from __future__ import annotations

import logging
import os
import smtplib
import socket
import threading
import uuid
from datetime import timedelta

from flask import current_app
from flask_mail import Connection, Mail, Message

from ..extensions import db
from sqlalchemy import func, select

from ..inbound import tokens
from ..inbound.parse import REPLY_MARKER
from ..models import FAILED, PENDING, SENT, SKIPPED, Notification, Person, utcnow
from ..tickets.validation import fold_control_chars, split_email_list
from . import outbox, recipients

log = logging.getLogger(__name__)


class _TimeoutConnection(Connection):
    """Flask-Mail opens SMTP without a timeout; a hung server must not hang the sender."""

    def configure_host(self):
        timeout = current_app.config["MAIL_TIMEOUT"]
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(self, exc_type, exc_value, tb):
        """QUIT is a courtesy: once DATA is accepted the email is sent, whatever QUIT does,
        and a failed QUIT must not hide the error that ended the session."""
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                self.host.close()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:6]}"


def backoff(attempts: int) -> timedelta:
    """Exponential: base, 2×base, 4×base … capped."""
    config = current_app.config
    seconds = config["OUTBOX_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config["OUTBOX_BACKOFF_MAX_SECONDS"]))


def reply_to_for(row: Notification) -> str:
    """With an inbound mailbox: its address, with the person's token for this ticket when the
    email goes to exactly one person (a shared recipient must not see someone's token)."""
    if not tokens.mailbox_address():
        return ""
    addresses = recipients.unique(split_email_list(row.to_addrs), split_email_list(row.cc_addrs))
    person = None
    if len(addresses) == 1 and row.ticket_id is not None:
        person = db.session.scalars(
            select(Person).where(func.lower(Person.email) == addresses[0].lower(), Person.active.is_(True))
        ).first()
    return tokens.reply_address(person.id if person else None, row.ticket_id if person else None)


def _with_marker(text: str, html: str) -> tuple[str, str]:
    """A reply is cut at this line (app/inbound/parse.py): what is quoted from here is ours."""
    marker = REPLY_MARKER
    return (f"{marker}\n\n{text}",
            f'<p style="color:#888;font-size:12px">{marker}</p>\n{html}')


def _message(row: Notification, reply_to: str = "") -> Message:
    headers = {}
    if row.in_reply_to:
        headers = {"In-Reply-To": row.in_reply_to, "References": row.in_reply_to}
    text, html = (row.body_text, row.body_html) if not reply_to else _with_marker(row.body_text, row.body_html)
    message = Message(
        subject=fold_control_chars(row.subject),  # a row queued before the one-line rule
        recipients=split_email_list(row.to_addrs),
        cc=split_email_list(row.cc_addrs),
        body=text,
        html=html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        reply_to=reply_to or None,
        extra_headers=headers,
    )
    message.msgId = row.message_id
    return message


def _describe(exc: Exception) -> str:
    """What went wrong, for the admin screen: the SMTP reply or the error, never credentials."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {text}"[:1000]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"Recipients refused: {', '.join(exc.recipients)}"[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


def _not_kept(row: Notification) -> dict:
    """A sent password reset email's body is not kept: the outbox screen must not hand an admin
    a live reset link (app/password_reset.py)."""
    if row.event == "password_reset":
        return {"body_text": "(not kept: a password reset link)", "body_html": "(not kept: a password reset link)"}
    return {}


def deliver_one(notification_id: int, worker: str) -> str | None:
    """Send one claimed row and record the outcome; returns the new state (None: no longer ours)."""
    session = db.session
    config = current_app.config
    # A batch is sent one row at a time: renew this row's lease right before its turn,
    # and leave it if the lease ran out meanwhile and another sender took it.
    if not outbox.renew(session, notification_id, worker, config["OUTBOX_LEASE_SECONDS"]):
        log.info("Notification %s: lease lost to another sender, not sending", notification_id)
        return None
    row = session.get(Notification, notification_id)
    reply_to = reply_to_for(row)
    session.expunge(row)
    session.commit()  # no transaction stays open while talking SMTP
    attempts = row.attempts  # renew() counted this attempt before it starts
    if not config["MAIL_SERVER"]:
        log.info("No SMTP_HOST: notification %s (%s) recorded, not sent, to %s", row.id, row.subject, row.to_addrs)
        outbox.finish(session, row.id, worker, state=SKIPPED, attempts=attempts, last_error="SMTP_HOST is not set")
        return SKIPPED
    accepted = False
    try:
        # Settings are read at send time (not only at start-up) so a sender follows
        # the configuration it runs with.
        state = Mail().init_mail(config, testing=False)
        with _TimeoutConnection(state) as connection:
            _message(row, reply_to).send(connection)
            accepted = True
            # Recorded as soon as the server accepted the DATA, before QUIT: a sender stopped
            # or killed during QUIT leaves no accepted email to be sent a second time.
            outbox.finish(session, row.id, worker, state=SENT, attempts=attempts, sent_at=utcnow(), last_error=None,
                          **_not_kept(row))
            return SENT
    except Exception as exc:  # every failure is retried, then recorded; never raised
        if accepted:  # sent, but the database did not take the record: the lease will expire
            log.exception("Notification %s was sent but could not be recorded", row.id)
            return None
        error = _describe(exc)
        final = attempts >= config["OUTBOX_MAX_ATTEMPTS"]
        log.warning("Notification %s attempt %s failed: %s", row.id, attempts, error)
        outbox.finish(
            session, row.id, worker, state=FAILED if final else PENDING, attempts=attempts,
            last_error=error, next_attempt_at=utcnow() + backoff(attempts),
        )
        return FAILED if final else PENDING


def flush(limit: int = 50, stop: threading.Event | None = None) -> dict[str, int]:
    """One pass: claim and deliver every row that is due now (in batches). When `stop` is set
    it sends no further email: the rows claimed and not sent go back to pending at once."""
    worker = worker_id()
    outcome: dict[str, int] = {}
    config = current_app.config
    while not (stop and stop.is_set()):
        ids = outbox.claim(db.session, worker, limit, config["OUTBOX_LEASE_SECONDS"])
        if not ids:
            return outcome
        for index, notification_id in enumerate(ids):
            if stop and stop.is_set():
                outbox.release(db.session, ids[index:], worker)
                return outcome
            state = deliver_one(notification_id, worker)
            if state:
                outcome[state] = outcome.get(state, 0) + 1


