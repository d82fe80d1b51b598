"""Passwords, sessions and API tokens: one policy for every password, and credentials that end.

- A password is at least MIN_PASSWORD_LENGTH characters, not one of the common passwords
  (zxcvbn's list of the 30,000 most used ones), and not the person's email. Every path that
  sets one checks it here: the Team Members form, the reset screens, the member API, the CLI
  and FAB's own `create-user`/`create-admin` (through the security manager's add_user).
- A browser session is a row (models.LoginSession) whose random token the cookie carries:
  logout deletes it, so a copy of the cookie taken before stops working.
- Every password change raises the person's credentials_version (a flush hook, so every path
  does it). Sessions and API tokens carry the version they were issued under; an older one
  is refused: a password change ends every session and token of that person. Deactivation
  ends them too (an inactive person is never loaded).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, Optional

from flask import current_app, session
from flask_babel import gettext as _
from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session, joinedload
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from .models import LoginSession, Person, utcnow
from .tickets.validation import InvalidValue

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
SESSION_TOKEN_KEY = "_session_token"
TOKEN_VERSION_CLAIM = "cv"
_COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"])


# --- the password policy -----------------------------------------------------------------
def check_password(password: Optional[str], email: Optional[str] = None) -> str:
    """The password if it may be used, else InvalidValue with a message naming the field."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(_("Password must be at least %(min)d characters.", min=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue(_("Password must be at most %(max)d characters.", max=MAX_PASSWORD_LENGTH))
    if "\x00" in password:
        raise InvalidValue(_("Password must not contain NUL characters."))
    folded = password.casefold()
    if folded in _COMMON_PASSWORDS:
        raise InvalidValue(_("Password is one of the most common passwords; choose another."))
    if email and folded in {email.strip().casefold(), email.strip().casefold().split("@")[0]}:
        raise InvalidValue(_("Password must not be your email address."))
    return password


# --- browser sessions ----------------------------------------------------------------------
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _max_age() -> timedelta:
    return timedelta(hours=current_app.config["SESSION_MAX_AGE_HOURS"])


def start_session(person: Person) -> None:
    """A new server-side session for this browser (on sign-in, and after changing one's own
    password). The person's sessions past their age are pruned on the way."""
    db_session = current_app.appbuilder.session
    token = secrets.token_urlsafe(32)
    db_session.execute(
        delete(LoginSession).where(
            LoginSession.person_id == person.id, LoginSession.created_at < utcnow() - _max_age()
        )
    )
    db_session.add(LoginSession(
        id=_digest(token), person_id=person.id, credentials_version=person.credentials_version or 0,
        created_at=utcnow(),
    ))
    db_session.commit()
    session[SESSION_TOKEN_KEY] = token


def end_session() -> None:
    """Delete this browser's session row: the cookie, or any copy of it, signs in no more."""
    token = session.pop(SESSION_TOKEN_KEY, None)
    if token:
        db_session = current_app.appbuilder.session
        db_session.execute(delete(LoginSession).where(LoginSession.id == _digest(token)))
        db_session.commit()


def person_for_session(person_id: Any) -> Optional[Person]:
    """The signed-in person of this browser, with roles and groups, in one statement; None when
    the session was ended, is too old, predates a password change, or the person is inactive."""
    token = session.get(SESSION_TOKEN_KEY)
    try:
        person_id = int(person_id)
    except (TypeError, ValueError):
        return None
    if not token:
        return None
    query = (
        select(Person)
        .join(LoginSession, LoginSession.person_id == Person.id)
        .where(
            Person.id == person_id,
            Person.active.is_(True),
            LoginSession.id == _digest(token),
            LoginSession.credentials_version == Person.credentials_version,
            LoginSession.created_at >= utcnow() - _max_age(),
        )
        # The saved views are for the person's menu, which every page shows: loaded here
        # they cost no statement of their own.
        .options(joinedload(Person.roles), joinedload(Person.groups), joinedload(Person.saved_views))
    )
    return current_app.appbuilder.session.scalars(query).unique().first()


# --- API tokens ----------------------------------------------------------------------------
def token_claims(identity: Any) -> dict:
    """Claims added to every access and refresh token: the credentials version of its person."""
    try:
        person = current_app.appbuilder.session.get(Person, int(identity))
    except (TypeError, ValueError):
        person = None
    return {TOKEN_VERSION_CLAIM: person.credentials_version if person else None}


def token_is_current(person: Optional[Person], claims: dict) -> bool:
    return (
        person is not None
        and bool(person.is_active)
        and claims.get(TOKEN_VERSION_CLAIM) == (person.credentials_version or 0)
    )


# --- every password change ends every session and token ------------------------------------
def _raise_version_on_password_change(db_session: Session, flush_context, instances) -> None:
    for obj in db_session.dirty:
        if isinstance(obj, Person) and inspect(obj).attrs.password.history.has_changes():
            obj.credentials_version = (obj.credentials_version or 0) + 1


def install() -> None:
    if not event.contains(Session, "before_flush", _raise_version_on_password_change):
        event.listen(Session, "before_flush", _raise_version_on_password_change)
