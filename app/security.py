"""Security manager subclass: the Person model, the Team Members screen, role definitions."""
from __future__ import annotations

import logging

from flask import current_app, flash, g, has_request_context, jsonify, redirect, url_for
from flask_appbuilder.actions import action
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.orm import joinedload
from wtforms.validators import DataRequired, ValidationError

from .forms_util import rule
from .models import Person
from .tickets.validation import normalize_email, normalize_phone, normalize_text
from .views.base import RowScopedActionsMixin

log = logging.getLogger(__name__)

ADMIN, LEAD, AGENT = "Admin", "Lead", "Agent"


def _email_not_taken(form, field) -> None:
    """The email is the login name: unique whatever its case (FAB's own check is case-sensitive)."""
    query = current_app.appbuilder.session.query(Person.id).filter(
        func.lower(Person.email) == (field.data or "").lower()
    )
    own_id = getattr(form, "_id", None)  # set by FAB on edit
    if own_id is not None:
        query = query.filter(Person.id != own_id)
    if query.first() is not None:
        raise ValidationError(str(_l("A person with this email already exists.")))


def _text(label, max_length: int):
    return rule(lambda value: normalize_text(value, label=str(label), required=True, max_length=max_length))


def _name(label):
    return _text(label, 64)


class TeamMemberView(RowScopedActionsMixin, UserDBModelView):
    """People: add with name, email, phone, teams, roles and password in one form.

    The username is the email, so people log in with their email address.
    """

    list_title = _l("Team Members")
    show_title = _l("Team Member")
    add_title = _l("Add Team Member")
    edit_title = _l("Edit Team Member")
    list_columns = ["first_name", "last_name", "email", "phone", "teams", "roles", "active"]
    search_columns = ["first_name", "last_name", "email", "phone", "teams", "roles", "active"]
    add_columns = [
        "first_name", "last_name", "email", "phone", "teams", "roles", "active",
        "password", "conf_password",
    ]
    edit_columns = ["first_name", "last_name", "email", "phone", "teams", "roles", "active"]
    show_fieldsets = [
        (_l("Person"), {"fields": ["first_name", "last_name", "email", "phone", "teams", "roles", "active"]}),
        (_l("Audit"), {"fields": ["last_login", "login_count", "fail_login_count", "created_on", "changed_on"], "expanded": False}),
    ]
    user_show_fieldsets = [
        (_l("Person"), {"fields": ["first_name", "last_name", "email", "phone", "teams", "roles"]}),
    ]
    label_columns = {**UserDBModelView.label_columns, "phone": _l("Phone"), "teams": _l("Teams")}
    validators_columns = {
        "first_name": [_name(_l("First Name"))],
        "last_name": [_name(_l("Last Name"))],
        # (the email is also the login name, a 128-character column)
        "email": [DataRequired(), rule(normalize_email), _text(_l("Email"), 128), _email_not_taken],
        "phone": [rule(normalize_phone)],
        "roles": [DataRequired(message=_l("Choose at least one role."))],
    }
    base_order = ("first_name", "asc")
    add_row_message = _l("Team member added.")
    edit_row_message = _l("Team member saved.")

    def post_add_redirect(self):
        return redirect(url_for(".list"))

    post_edit_redirect = post_add_redirect

    @staticmethod
    def _username_from_email(item: Person) -> None:
        item.email = (item.email or "").strip().lower()
        item.username = item.email

    def pre_add(self, item: Person) -> None:
        self._username_from_email(item)
        super().pre_add(item)

    def pre_update(self, item: Person) -> None:
        self._username_from_email(item)
        if item.id == g.user.id and not item.active:
            raise ValueError(str(_l("You cannot deactivate yourself.")))
        super().pre_update(item)

    @action("deactivate", _l("Deactivate"), _l("Deactivate the selected people?"), "fa-ban", single=False)
    def deactivate(self, items):
        items = items if isinstance(items, list) else [items]
        for person in items:
            if person.id != g.user.id:
                person.active = False
        self.datamodel.session.commit()
        flash(str(_l("Deactivated: they can no longer log in or receive email.")), "success")
        return redirect(self.get_redirect())


class DeyorSecurityManager(SecurityManager):
    user_model = Person
    userdbmodelview = TeamMemberView

    def create_jwt_manager(self, app):
        """A malformed or forged token is 'not authorized' (401), not FAB's 422."""
        manager = super().create_jwt_manager(app)

        @manager.invalid_token_loader
        def _invalid_token(reason: str):
            return jsonify(message="Not authorized"), 401

        return manager

    def get_user_by_id(self, pk):
        """The person with roles and groups in one statement: every request loads them."""
        return self.session.get(
            self.user_model, pk, options=[joinedload(Person.roles), joinedload(Person.groups)]
        )

    def register_views(self) -> None:
        super().register_views()
        # FAB limits the login form's blueprint by itself, with a count of its own. The JWT
        # login (and refresh) is a door to the same passwords: both draw on one budget per
        # client, so alternating between them gains nothing. (FAB's own form limit stays;
        # it can never trip before the shared one.)
        if self.is_auth_limited:
            login_budget = self.limiter.shared_limit(self.auth_rate_limit, scope="login", methods=["POST"])
            for view in self.appbuilder.baseviews:
                if view is self.auth_view or isinstance(view, self.security_api):
                    login_budget(view.blueprint)

    def _has_view_access(self, user, permission_name: str, view_name: str) -> bool:
        """Load a person's permissions once per request instead of one query per check
        (the menu alone checks a dozen)."""
        if not has_request_context() or not getattr(user, "is_authenticated", False):
            return super()._has_view_access(user, permission_name, view_name)
        cached = g.get("_permissions")
        if cached is None or cached[0] != user.id:
            cached = (user.id, self.get_user_permissions(user))
            g._permissions = cached
        return (permission_name, view_name) in cached[1]

    def auth_user_db(self, username, password):
        # People paste their email with stray spaces; AUTH_USERNAME_CI handles case.
        username = (username or "").strip()
        if "\x00" in username or "\x00" in (password or ""):
            return None  # PostgreSQL refuses NUL in a query parameter: no such person
        return super().auth_user_db(username, password)


# --- Roles -------------------------------------------------------------------
# (permission, view) pairs each role needs for its job. Admin gets everything from
# FAB itself. Names of FAB's own views are read from the security manager so a
# subclassed view keeps working.
def _self_service(sm) -> list[tuple[str, str]]:
    user_view = sm.user_view.class_permission_name
    return [
        ("can_userinfo", user_view),
        ("resetmypassword", user_view),
        ("userinfoedit", user_view),
        ("can_this_form_get", "ResetMyPasswordView"),
        ("can_this_form_post", "ResetMyPasswordView"),
        ("can_this_form_get", "UserInfoEditView"),
        ("can_this_form_post", "UserInfoEditView"),
    ]


WORK_TICKETS = [
    ("can_list", "TicketModelView"),
    ("can_show", "TicketModelView"),
    ("can_add", "TicketModelView"),
    ("can_edit", "TicketModelView"),
    ("can_list", "CommentModelView"),
    ("can_show", "CommentModelView"),
    ("menu_access", "Tickets"),
    ("menu_access", "All tickets"),
    ("menu_access", "My tickets"),
    ("menu_access", "New ticket"),
    ("menu_access", "Comments"),
    # The REST API: the same work as the screens (rows scoped by the same rule).
    ("can_get", "TicketApi"),
    ("can_post", "TicketApi"),
    ("can_put", "TicketApi"),
    ("can_info", "TicketApi"),
    ("can_get", "CommentApi"),
    ("can_post", "CommentApi"),
    ("can_info", "CommentApi"),
    ("can_get", "TeamApi"),
    ("can_info", "TeamApi"),
]


def role_permissions(sm) -> dict[str, list[tuple[str, str]]]:
    agent = WORK_TICKETS + _self_service(sm)
    return {AGENT: agent, LEAD: agent + [("can_delete", "TicketModelView"), ("can_delete", "TicketApi")]}


def sync_roles(sm) -> None:
    """Create Admin, Lead and Agent if missing and give each what its job needs.

    Idempotent. Permissions an admin added to a role in the UI are kept.
    """
    sm.add_role(sm.auth_role_admin)
    sm.add_role(sm.auth_role_public)
    for name, pairs in role_permissions(sm).items():
        role = sm.add_role(name)
        granted = {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}
        for perm, view in pairs:
            if (perm, view) not in granted:
                sm.add_permission_role(role, sm.add_permission_view_menu(perm, view))
