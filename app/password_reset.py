"""Forgot password: a reset email with a single-use link valid for RESET_LINK_MINUTES.

- The link carries a token signed with the app's secret key (itsdangerous), naming the person,
  when it was issued, and a fingerprint of the person's current password hash: it dies when it
  is used (the hash changes), when the password is changed any other way, after 30 minutes, and
  when the person is deactivated.
- Asking answers the same whether or not the email is someone's, with the same work done (the
  email is rendered either way; only a person's is queued), and is rate limited per client
  (PASSWORD_RESET_RATE_LIMIT); one person gets at most RESET_EMAILS_PER_HOUR emails an hour
  whoever asks.
- The email goes through the outbox (written in the request's transaction, sent by the worker);
  once sent, its body is not kept in the outbox (app/notifications/sender.py).
- Setting the new password follows the one password policy (app/credentials.py), and raises
  the credentials version, which ends every session and API token of the person.
- Audited: password_reset_requested (the email given; sent or not), password_reset.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Optional

from flask import current_app, render_template
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .models import PENDING, AuditEvent, Notification, Person, utcnow
from .notifications.messages import mail_domain

RESET_EVENT = "password_reset"  # the outbox row's event
RESET_LINK_MINUTES = 30
RESET_EMAILS_PER_HOUR = 3
_SALT = "deyor-password-reset"


def now() -> datetime:
    """The clock of the reset links (naive UTC); tests replace it."""
    return utcnow()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(person: Person) -> str:
    return hashlib.sha256((person.password or "").encode()).hexdigest()[:20]


def make_token(person: Person, at: Optional[datetime] = None) -> str:
    issued = int(((at or now()) - datetime(1970, 1, 1)).total_seconds())
    return _serializer().dumps({"p": person.id, "h": _fingerprint(person), "t": issued})


def person_for_token(session: Session, token: str, at: Optional[datetime] = None) -> Optional[Person]:
    """The active person the token was made for, while it is valid; else None."""
    try:
        data = _serializer().loads(token or "")
        person_id, fingerprint, issued = int(data["p"]), str(data["h"]), int(data["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    age = ((at or now()) - datetime(1970, 1, 1)).total_seconds() - issued
    if not 0 <= age <= RESET_LINK_MINUTES * 60:
        return None
    person = session.get(Person, person_id)
    if person is None or not person.active or _fingerprint(person) != fingerprint:
        return None
    return person


def reset_link(token: str) -> str:
    return f"{current_app.config['BASE_URL']}/forgot-password/{token}"


def _recent_requests(session: Session, person: Person) -> int:
    return session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.kind == audit.PASSWORD_RESET_REQUESTED, AuditEvent.object_type == "person",
        AuditEvent.object_id == str(person.id), AuditEvent.created_at >= utcnow() - timedelta(hours=1),
    )) or 0


def request_reset(session: Session, email: str) -> None:
    """Queue a reset email if `email` is an active person's (and they have not had too many);
    record the request either way. Commits."""
    email = (email or "").strip().lower()
    person = session.scalars(
        select(Person).where(func.lower(Person.email) == email, Person.active.is_(True))).first() if email else None
    sent = person is not None and _recent_requests(session, person) < RESET_EMAILS_PER_HOUR
    context = {"person": person, "minutes": RESET_LINK_MINUTES,
               "link": reset_link(make_token(person) if person is not None else "x" * 80)}
    text = render_template("email/password_reset.txt", **context)
    html = render_template("email/password_reset.html", **context)
    if sent:
        session.add(Notification(
            ticket_id=None, event=RESET_EVENT, to_addrs=person.email, cc_addrs="",
            subject=_("Reset your Deyor Escalations password"), body_text=text, body_html=html,
            message_id=f"<password-reset.{uuid.uuid4().hex}@{mail_domain()}>", state=PENDING, attempts=0,
            next_attempt_at=utcnow(),
        ))
    audit.record(audit.PASSWORD_RESET_REQUESTED, actor=None, email=email[:320] or None,
                 object_type="person" if person is not None else None,
                 object_id=person.id if person is not None else None,
                 details={"sent": sent})
    session.commit()


def complete_reset(person: Person, password: str) -> None:
    """Set the new password (the policy checked by the caller's form); the flush hooks raise the
    credentials version and record password_reset in the same commit."""
    audit.mark_password_reset(person)
    current_app.appbuilder.sm.reset_password(person.id, password)
