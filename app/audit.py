"""The audit log: what an admin may later ask about ("who made Priya an Admin last week?").

One door, `record()`: it adds an event to the session of the change it records, so both commit
together or neither does (a failed change leaves no event). Who and from where default to the
request's signed-in person (session or API token) and client address (the proxy-aware one:
ProxyFix has rewritten `remote_addr` when PROXY_FIX_HOPS is set).

Changes to people, roles, teams, founders, SLA policies and calendars, and ticket deletions,
are recorded by session hooks (`install()`), not by the views: FAB's security screens and APIs,
our own screens and APIs, FAB's CLI and ours all write through the ORM, so every path is
covered by construction. (FAB's security signals fire only from the security manager's own
add/update/delete methods, not from its generic screens and APIs.) The hooks gather the
changes of a transaction at each flush and write one event per object and kind just before
it commits; a rollback forgets them.

The log is append-only: the ORM refuses to update or delete an event (AppendOnly), except
`prune()`, the retention job (AUDIT_RETENTION_DAYS, run by the scheduler).

Kinds (`details` is JSON; never password material):

Sign-in
- login: a person signed in (screen or API token). actor = the person.
- login_failed: wrong password, unknown or inactive email. actor = null; email = the email
  tried; object = the person whose email it is, when known and active.
- login_locked_out: the login rate limit refused a client (once per client and limit window).
  email = the email tried; details {limit}.
- logout: a person signed out.
Passwords
- password_changed: a password was set (one's own, by an admin, the member API or the CLI);
  it ends the person's sessions and tokens. object = the person.
- password_reset_requested: someone asked for a reset email ("forgot password"). email = the
  email given; object = the person when it is one (details {sent: true|false}), else none.
- password_reset: a person set a new password through a reset email's link.
People (object_type person)
- person_created: details {first_name, last_name, email, phone, active, roles, teams, ...}.
- person_changed: details {field: {before, after}} for the fields changed (not roles, active).
- person_roles_changed: details {roles: {before, after}}.
- person_deactivated, person_reactivated: active turned off / on.
- person_deleted: details: the person's values.
Roles (object_type role), from FAB's role screens and API or `flask setup`
- role_created: details {name, permissions}.
- role_changed: details {name: {before, after}} and/or {permissions: {added, removed}}.
- role_deleted: details {name, permissions}.
Teams, founders, service levels (object_type team, founder, sla_policy, calendar)
- team_created, team_changed, team_deleted; founder_created, founder_changed, founder_deleted;
  sla_policy_created, sla_policy_changed, sla_policy_deleted; calendar_created,
  calendar_changed, calendar_deleted. Created and deleted: the values; changed: {field:
  {before, after}}. A calendar's working hours and holidays are part of it (calendar_changed
  with {working_hours | holidays: {before, after}} or {added, removed}).
Tickets
- ticket_deleted: object = the ticket; details {subject, booking_id, team, status, priority}.
Recorded by their own features with `record()`
- export: tickets or notifications exported; details {what, format, rows, filters}.
- attachment_deleted: object = the attachment; details {ticket, filename, size}.
- quarantine_decided: an inbound email held in quarantine was posted or discarded; object = the
  quarantined message; details {decision: posted|discarded, ticket, sender}.
"""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, Optional

from flask import current_app, g, has_request_context, request
from flask_appbuilder.security.sqla.models import Role
from flask_login import current_user
from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session

from .extensions import db
from .models import Calendar, CalendarWindow, Founder, Holiday, Person, SlaPolicy, Team, Ticket, utcnow
from .models.audit import AuditEvent

# --- the vocabulary ------------------------------------------------------------------------
LOGIN, LOGIN_FAILED, LOGIN_LOCKED_OUT, LOGOUT = "login", "login_failed", "login_locked_out", "logout"
PASSWORD_CHANGED, PASSWORD_RESET_REQUESTED, PASSWORD_RESET = (
    "password_changed", "password_reset_requested", "password_reset")
PERSON_CREATED, PERSON_CHANGED, PERSON_ROLES_CHANGED, PERSON_DELETED = (
    "person_created", "person_changed", "person_roles_changed", "person_deleted")
PERSON_DEACTIVATED, PERSON_REACTIVATED = "person_deactivated", "person_reactivated"
TICKET_DELETED = "ticket_deleted"
EXPORT, ATTACHMENT_DELETED, QUARANTINE_DECIDED = "export", "attachment_deleted", "quarantine_decided"
OBJECT_TYPES = ("person", "role", "team", "founder", "sla_policy", "calendar")
KINDS: tuple[str, ...] = (
    LOGIN, LOGIN_FAILED, LOGIN_LOCKED_OUT, LOGOUT,
    PASSWORD_CHANGED, PASSWORD_RESET_REQUESTED, PASSWORD_RESET,
    PERSON_CREATED, PERSON_CHANGED, PERSON_ROLES_CHANGED, PERSON_DEACTIVATED, PERSON_REACTIVATED, PERSON_DELETED,
    *[f"{kind}_{change}" for kind in OBJECT_TYPES[1:] for change in ("created", "changed", "deleted")],
    TICKET_DELETED, EXPORT, ATTACHMENT_DELETED, QUARANTINE_DECIDED,
)

_CURRENT = object()  # "whoever is signed in", the default actor


class AppendOnly(RuntimeError):
    """An audit event may be added, never changed or removed (but by the retention pruning)."""


def _current_person() -> Any:
    """The signed-in person of this request: a browser session (Flask-Login) or an API token
    (load_user_jwt puts the person in g.user). None outside a request or when signed out."""
    if not has_request_context():
        return None
    for person in (current_user._get_current_object() if current_user else None, g.get("user")):
        if getattr(person, "is_authenticated", False) and getattr(person, "id", None):
            return person
    return None


def record(
    kind: str,
    *,
    object_type: Optional[str] = None,
    object_id: Any = None,
    details: Optional[dict] = None,
    actor: Any = _CURRENT,
    email: Optional[str] = None,
    session: Optional[Session] = None,
) -> AuditEvent:
    """Add one event to `session` (default: the request's) without committing it."""
    person = _current_person() if actor is _CURRENT else actor
    event_ = AuditEvent(
        kind=kind,
        actor_id=getattr(person, "id", None),
        email=(email or getattr(person, "email", None) or None),
        address=request.remote_addr if has_request_context() else None,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details or None,
    )
    if event_.email:
        event_.email = event_.email[:320]
    (session or db.session).add(event_)
    return event_


def mark_password_reset(person: Person) -> None:
    """The next password change of `person` in this transaction is a reset through an emailed
    link (password_reset, by the person), not a password_changed."""
    person._audit_password_kind = PASSWORD_RESET


# --- describing values ---------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A value as JSON: names for rows, sorted names for collections, ISO text for times."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set)) or hasattr(value, "__iter__") and not isinstance(value, (bytes, dict)):
        return sorted(str(_plain(item)) for item in value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _window(window: Any) -> str:
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[window.weekday] if window.weekday in range(7) else "?"
    return f"{day} {_plain(window.start)}-{_plain(window.end)}"


def _holiday(holiday: Any) -> str:
    return f"{_plain(holiday.day)} {holiday.name}"


# What each audited model's events tell: object type and the fields followed. Fields not listed
# (login counters, last login, FAB's changed_on, versions) change without an event; a
# password change is its own event, its value never written.
_FIELDS: dict[type, tuple[str, tuple[str, ...]]] = {
    Person: ("person", ("first_name", "last_name", "email", "phone", "active", "roles", "teams",
                        "comment_emails", "digest_emails")),
    Role: ("role", ("name", "permissions", "user")),  # user: its people (FAB's name)
    Team: ("team", ("name", "default_emails")),
    Founder: ("founder", ("name", "email", "active")),
    SlaPolicy: ("sla_policy", ("team", "priority", "first_response_minutes", "resolution_minutes", "calendar")),
    Calendar: ("calendar", ("name", "timezone", "around_the_clock", "windows", "holidays")),
}
_TICKET_FIELDS = ("subject", "booking_id", "team", "status", "priority")
_CHILD_TEXT = {"windows": _window, "holidays": _holiday}


def _value(obj: Any, field: str) -> Any:
    value = getattr(obj, field)
    if field in _CHILD_TEXT:
        return sorted(_CHILD_TEXT[field](item) for item in value)
    return _plain(value)


def _values(obj: Any, fields: tuple[str, ...]) -> dict:
    return {field: _value(obj, field) for field in fields}


def _history(obj: Any, field: str) -> Optional[dict]:
    """What became of a field since the last flush: {before, after}; for a list that was not
    loaded (changed from the other side, e.g. a role's people), {added, removed}. None if nothing."""
    state = inspect(obj)
    history = state.attrs[field].history
    if not history.has_changes():
        return None
    relationship = state.mapper.relationships.get(field)
    if relationship is not None and relationship.uselist:
        added = sorted(str(_plain(item)) for item in history.added)
        removed = sorted(str(_plain(item)) for item in history.deleted)
        if field not in state.dict:  # only what was added or removed is known
            return {"added": added, "removed": removed} if added != removed else None
        before = sorted(str(_plain(item)) for item in [*history.unchanged, *history.deleted])
        after = sorted(str(_plain(item)) for item in [*history.unchanged, *history.added])
    else:
        before = _plain(history.deleted[0]) if history.deleted else None
        after = _plain(history.added[0]) if history.added else None
    return {"before": before, "after": after} if before != after else None


# --- gathering a transaction's changes (session hooks) -------------------------------------
_PENDING = "deyor_audit_pending"


class _Change:
    """What happened to one object in the transaction so far."""

    def __init__(self, obj: Any, object_type: str, op: str) -> None:
        self.obj, self.object_type, self.op = obj, object_type, op
        self.fields: dict[str, dict] = {}  # field: {before, after} or {added, removed}
        self.values: dict = {}  # a deleted object's values, read before it goes
        self.object_id: Any = None
        self.password_kind: Optional[str] = None
        self.children: dict[str, dict[str, list]] = {}  # calendar: windows/holidays added, removed

    def change(self, field: str, change: dict) -> None:
        """Several flushes of one transaction: the first before, the last after."""
        known = self.fields.get(field)
        if known is None:
            self.fields[field] = dict(change)
        elif "before" in known and "before" in change:
            known["after"] = change["after"]
        elif "added" in known and "added" in change:
            known["added"] = sorted({*known["added"], *change["added"]} - set(change["removed"]))
            known["removed"] = sorted({*known["removed"], *change["removed"]} - set(change["added"]))
        else:
            self.fields[field] = dict(change)


def _pending(session: Session) -> dict:
    return session.info.setdefault(_PENDING, {})


def _entry(session: Session, obj: Any, object_type: str, op: str) -> _Change:
    pending = _pending(session)
    key = id(obj)
    if key not in pending:
        pending[key] = _Change(obj, object_type, op)
    return pending[key]


def _audited(obj: Any) -> Optional[tuple[str, tuple[str, ...]]]:
    for cls, spec in _FIELDS.items():
        if isinstance(obj, cls):
            return spec
    return None


def _refuse_changes_to_the_log(session: Session) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AppendOnly("Audit events are never deleted (only pruned after AUDIT_RETENTION_DAYS).")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj) and obj not in session.new:
            raise AppendOnly("Audit events are never changed.")


def _child_change(session: Session, obj: Any, op: str) -> None:
    """A window or holiday added, changed or removed on its own screen: its calendar changed."""
    field = "windows" if isinstance(obj, CalendarWindow) else "holidays"
    # (one taken out of its calendar's list is an orphan whose calendar is already unset)
    calendar = obj.calendar or next(iter(inspect(obj).attrs.calendar.history.deleted or ()), None)
    if calendar is None and obj.calendar_id is not None:
        calendar = session.get(Calendar, obj.calendar_id)
    if calendar is None or calendar in session.new:
        return  # a new calendar's events tell its windows as created
    entry = _entry(session, calendar, "calendar", "changed")
    if entry.op != "changed":
        return
    lists = entry.children.setdefault(field, {"added": [], "removed": []})
    text = _CHILD_TEXT[field]
    if op == "created":
        lists["added"].append(text(obj))
    elif op == "deleted":
        lists["removed"].append(text(obj))
    else:
        state = inspect(obj)
        attrs = ("weekday", "start", "end") if field == "windows" else ("day", "name")
        old = SimpleNamespace(**{attr: (state.attrs[attr].history.deleted or [getattr(obj, attr)])[0]
                                 for attr in attrs})
        if text(old) != text(obj):
            lists["removed"].append(text(old))
            lists["added"].append(text(obj))


def _removed_children(session: Session, calendar: Calendar) -> None:
    """Windows or holidays taken out of a calendar's lists (the API replaces them): orphans
    deleted by the flush itself, after this hook, so told from the lists' history."""
    for field, text in _CHILD_TEXT.items():
        removed = inspect(calendar).attrs[field].history.deleted
        if removed:
            entry = _entry(session, calendar, "calendar", "changed")
            if entry.op == "changed":
                lists = entry.children.setdefault(field, {"added": [], "removed": []})
                lists["removed"].extend(text(item) for item in removed)


def _collect(session: Session, flush_context, instances) -> None:
    _refuse_changes_to_the_log(session)
    with session.no_autoflush:
        for obj in session.new:
            spec = _audited(obj)
            if spec:
                _entry(session, obj, spec[0], "created")
            elif isinstance(obj, (CalendarWindow, Holiday)):
                _child_change(session, obj, "created")
        for obj in session.deleted:
            spec = _audited(obj)
            if spec or isinstance(obj, Ticket):
                object_type, fields = spec or ("ticket", _TICKET_FIELDS)
                entry = _entry(session, obj, object_type, "deleted")
                if entry.op == "created":  # made and removed in one transaction: nothing happened
                    del _pending(session)[id(obj)]
                    continue
                entry.op, entry.object_id = "deleted", obj.id
                entry.values = _values(obj, fields)
            elif isinstance(obj, (CalendarWindow, Holiday)) and obj.id is not None:
                _child_change(session, obj, "deleted")
        for obj in session.dirty:
            spec = _audited(obj)
            if spec is None:
                if isinstance(obj, (CalendarWindow, Holiday)) and session.is_modified(obj):
                    _child_change(session, obj, "changed")
                continue
            object_type, fields = spec
            # (a calendar's windows and holidays: from their own rows, below, as a list loaded
            # after a change would not tell what it held before)
            changes = {field: change for field in fields
                       if field not in _CHILD_TEXT and (change := _history(obj, field))}
            password = isinstance(obj, Person) and inspect(obj).attrs.password.history.has_changes()
            if isinstance(obj, Calendar):
                _removed_children(session, obj)
            if not changes and not password:
                continue
            entry = _entry(session, obj, object_type, "changed")
            if entry.op != "changed":
                continue  # a new object's event tells its final values
            for field, change in changes.items():
                entry.change(field, change)
            if password:
                entry.password_kind = getattr(obj, "_audit_password_kind", None) or PASSWORD_CHANGED


def _kinds(change: _Change) -> list[tuple[str, Optional[dict]]]:
    """The events one object's change makes."""
    object_type = change.object_type
    if change.op == "created":
        return [(f"{object_type}_created", _values(change.obj, _audited(change.obj)[1]))]
    if change.op == "deleted":
        return [(f"{object_type}_deleted", change.values)]
    fields = {field: values for field, values in change.fields.items()
              if values.get("before") != values.get("after") or values.get("added") or values.get("removed")}
    for field, lists in change.children.items():
        added = sorted({item for item in lists["added"] if item not in lists["removed"]})
        removed = sorted({item for item in lists["removed"] if item not in lists["added"]})
        if added or removed:
            fields.setdefault(field, {"added": sorted(added), "removed": sorted(removed)})
    events: list[tuple[str, Optional[dict]]] = []
    if object_type == "person":
        active = fields.pop("active", None)
        roles = fields.pop("roles", None)
        if roles:
            events.append((PERSON_ROLES_CHANGED, {"roles": roles}))
        if active:
            events.append((PERSON_REACTIVATED if active["after"] else PERSON_DEACTIVATED, None))
        if change.password_kind:
            events.append((change.password_kind, None))
    if object_type == "role" and "before" in fields.get("permissions", {}):
        before, after = fields["permissions"]["before"], fields["permissions"]["after"]
        fields["permissions"] = {"added": [p for p in after if p not in before],
                                 "removed": [p for p in before if p not in after]}
    if fields:
        events.insert(0, (f"{object_type}_changed", fields))
    return events


def _write_collected(session: Session) -> None:
    """Just before the commit: flush what is left, then one event per object and kind."""
    if session.new or session.deleted or session.dirty:
        session.flush()
    pending = session.info.pop(_PENDING, {})
    if not pending:
        return
    with session.no_autoflush:
        actor = _current_person()
        for change in pending.values():
            object_id = change.object_id if change.op == "deleted" else getattr(change.obj, "id", None)
            for kind, details in _kinds(change):
                if details and "user" in details:
                    details["people"] = details.pop("user")  # (a role's people: FAB calls them `user`)
                who = actor
                if kind == PASSWORD_RESET:
                    who = change.obj
                record(kind, object_type=change.object_type, object_id=object_id, details=details, actor=who,
                       session=session)
        for change in pending.values():
            if getattr(change.obj, "_audit_password_kind", None):
                del change.obj._audit_password_kind


def _forget(session: Session, *args) -> None:
    session.info.pop(_PENDING, None)


def _refuse_statements_on_the_log(state) -> None:
    """UPDATE or DELETE statements on the log through the ORM: only the retention pruning."""
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is AuditEvent and not state.execution_options.get("audit_pruning"):
        raise AppendOnly("Audit events are never changed or deleted (only pruned after AUDIT_RETENTION_DAYS).")


def install() -> None:
    for target, name, fn in (
        (Session, "before_flush", _collect),
        (Session, "before_commit", _write_collected),
        (Session, "after_soft_rollback", _forget),
        (Session, "do_orm_execute", _refuse_statements_on_the_log),
    ):
        if not event.contains(target, name, fn):
            event.listen(target, name, fn)


# --- retention ------------------------------------------------------------------------------
PRUNE_BATCH = 1000


def prune(session: Session, now: Optional[dt.datetime] = None, days: Optional[int] = None,
          batch: int = PRUNE_BATCH, stop=None) -> int:
    """Delete events older than `days` (default AUDIT_RETENTION_DAYS) before `now`, `batch` rows
    per transaction (short locks, bounded undo); return how many. `stop` is looked at between
    batches."""
    days = current_app.config["AUDIT_RETENTION_DAYS"] if days is None else days
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    removed = 0
    while not (stop and stop.is_set()):
        ids = list(session.scalars(
            select(AuditEvent.id).where(AuditEvent.created_at < cutoff).order_by(AuditEvent.id).limit(batch)))
        if not ids:
            break
        session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)).execution_options(audit_pruning=True))
        session.commit()
        removed += len(ids)
    return removed
