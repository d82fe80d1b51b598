"""Admin screen of the audit log: read-only, newest first, filters by person, kind, time and
object; details in words. Admins only (no other role is granted its permissions)."""
from __future__ import annotations

from flask import jsonify, request
from flask_appbuilder import ModelView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import func, or_, select
from wtforms import Field, SelectField

from .. import audit
from ..models import AuditEvent, Person
from ..tickets.people import person_label
from .base import CappedCountInterface, format_local
from .widgets import PersonFilterWidget

KIND_LABELS = {
    audit.LOGIN: _l("Signed in"),
    audit.LOGIN_FAILED: _l("Sign-in failed"),
    audit.LOGIN_LOCKED_OUT: _l("Locked out of signing in"),
    audit.LOGOUT: _l("Signed out"),
    audit.PASSWORD_CHANGED: _l("Password changed"),
    audit.PASSWORD_RESET_REQUESTED: _l("Password reset asked for"),
    audit.PASSWORD_RESET: _l("Password reset by email"),
    audit.PERSON_CREATED: _l("Person added"),
    audit.PERSON_CHANGED: _l("Person changed"),
    audit.PERSON_ROLES_CHANGED: _l("Person's roles changed"),
    audit.PERSON_DEACTIVATED: _l("Person deactivated"),
    audit.PERSON_REACTIVATED: _l("Person reactivated"),
    audit.PERSON_DELETED: _l("Person deleted"),
    "role_created": _l("Role added"),
    "role_changed": _l("Role changed"),
    "role_deleted": _l("Role deleted"),
    "team_created": _l("Team added"),
    "team_changed": _l("Team changed"),
    "team_deleted": _l("Team deleted"),
    "founder_created": _l("Founder added"),
    "founder_changed": _l("Founder changed"),
    "founder_deleted": _l("Founder deleted"),
    "sla_policy_created": _l("SLA policy added"),
    "sla_policy_changed": _l("SLA policy changed"),
    "sla_policy_deleted": _l("SLA policy deleted"),
    "calendar_created": _l("Calendar added"),
    "calendar_changed": _l("Calendar changed"),
    "calendar_deleted": _l("Calendar deleted"),
    audit.TICKET_DELETED: _l("Ticket deleted"),
    audit.EXPORT: _l("Export"),
    audit.ATTACHMENT_DELETED: _l("Attachment deleted"),
    audit.QUARANTINE_DECIDED: _l("Quarantined email decided"),
}


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return f"{label} ({kind})" if label else kind


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


def details_html(details) -> Markup:
    """An event's details as lines: `field: before → after`, `field: + added − removed`."""
    if not details:
        return Markup("")
    lines = []
    for field, value in details.items() if isinstance(details, dict) else [("", details)]:
        if isinstance(value, dict) and ("before" in value or "after" in value):
            text = f"{_text(value.get('before'))} → {_text(value.get('after'))}"
        elif isinstance(value, dict) and ("added" in value or "removed" in value):
            parts = [f"+ {_text(value['added'])}"] if value.get("added") else []
            parts += [f"− {_text(value['removed'])}"] if value.get("removed") else []
            text = "; ".join(parts)
        else:
            text = _text(value)
        lines.append(Markup("<li><strong>{}</strong>: {}</li>").format(field, text) if field else
                     Markup("<li>{}</li>").format(text))
    return Markup('<ul class="list-unstyled audit-details">{}</ul>').format(Markup("").join(lines))


class AuditEventView(ModelView):
    route_base = "/audit"
    datamodel = CappedCountInterface(AuditEvent)
    base_permissions = ["can_list", "can_show"]
    base_order = ("created_at", "desc")
    page_size = 50
    list_title = _l("Audit log")
    show_title = _l("Audit event")
    label_columns = {
        "created_at": _l("When"), "kind": _l("What"), "actor": _l("Who"), "email": _l("Email"),
        "address": _l("Address"), "object_type": _l("Object"), "object_id": _l("Object ID"),
        "details": _l("Details"),
    }
    description_columns = {"email": _l("The person's email at the time, or the email tried.")}
    list_columns = ["created_at", "kind", "actor", "email", "address", "object_type", "object_id", "details"]
    show_columns = ["created_at", "kind", "actor", "email", "address", "object_type", "object_id", "details"]
    order_columns = ["created_at"]
    search_columns = ["actor", "kind", "created_at", "email", "address", "object_type", "object_id"]
    search_form_extra_fields = {
        "actor": Field(_l("Who"), widget=PersonFilterWidget("AuditEventView.people")),
        "kind": SelectField(_l("What"), choices=[(kind, kind_label(kind)) for kind in audit.KINDS]),
    }
    formatters_columns = {
        "created_at": format_local,
        "kind": kind_label,
        "details": details_html,
    }
    list_template = "list_with_person_filters.html"

    @expose("/people/")
    @has_access
    @permission_name("list")
    def people(self):
        """Anyone matching ?q= (name or email), for the person filter: unlike the ticket pickers
        (staff only) an admin or a former colleague may be who acted."""
        words = (request.args.get("q") or "").strip().lower()[:100]
        if not words:
            return jsonify([])
        pattern = f"%{words}%"
        name = func.lower(Person.first_name + " " + Person.last_name)
        found = self.datamodel.session.scalars(
            select(Person).where(or_(name.like(pattern), func.lower(Person.email).like(pattern)))
            .order_by(Person.first_name, Person.last_name, Person.id).limit(20))
        return jsonify([{"id": person.id, "text": person_label(person)} for person in found])
