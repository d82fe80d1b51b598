"""Security manager subclass: the Person model, the Team Members screen, role definitions."""
from __future__ import annotations

import logging

from flask import current_app, flash, g, has_request_context, jsonify, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.actions import action
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security.api import SecurityApi as FabSecurityApi
from flask_appbuilder.security.sqla.apis import (
    GroupApi, PermissionApi, PermissionViewMenuApi, RoleApi, UserApi, ViewMenuApi,
)
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.security.views import (
    AuthDBView, ResetMyPasswordView, ResetPasswordView, UserDBModelView, UserInfoEditView,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import logout_user, user_logged_in
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, StopValidation, ValidationError

from . import credentials
from .api.base import NoDatabaseTextInErrors
from .api.contract import ContractApi
from .forms_util import rule
from .models import Person
from .tickets.queues import QUEUES
from .tickets.validation import InvalidValue, normalize_email, normalize_phone, normalize_text
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


def _password_rule(email_of):
    """The password policy as a form validator; `email_of(form)` is the person's email."""

    def validator(form, field) -> None:
        try:
            credentials.check_password(field.data, email_of(form))
        except InvalidValue as exc:
            raise StopValidation(str(exc)) from exc

    return validator


def _password_fields(email_of) -> dict:
    return {
        "password": PasswordField(
            _l("Password"),
            description=_l("At least 10 characters; not a common password, not the email."),
            validators=[_password_rule(email_of)],
            widget=BS3PasswordFieldWidget(),
        ),
        "conf_password": PasswordField(
            _l("Confirm Password"),
            validators=[EqualTo("password", message=_l("Passwords must match"))],
            widget=BS3PasswordFieldWidget(),
        ),
    }


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
    add_form_extra_fields = _password_fields(lambda form: form.email.data)
    validators_columns = {
        "first_name": [_name(_l("First Name"))],
        "last_name": [_name(_l("Last Name"))],
        # (the email is also the login name, a 128-character column)
        "email": [DataRequired(), rule(normalize_email), _text(_l("Email"), 128), _email_not_taken],
        "phone": [rule(normalize_phone)],
        "roles": [DataRequired(message=_l("Choose at least one role."))],
    }
    base_order = ("first_name", "asc")
    formatters_columns = {"active": lambda active: _("Yes") if active else _("No")}  # not True/False
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

    # Actions about oneself: the row in the URL is ignored, so every id answers alike (the
    # existence of an account is not told by 302 against 404).
    SELF_SERVICE_ACTIONS = ("userinfoedit", "resetmypassword")

    def _run_action(self, name: str, pks: list[str], single: bool):
        if name in self.SELF_SERVICE_ACTIONS:
            pks = [str(g.user.id)]
        return super()._run_action(name, pks, single)

    @action("deactivate", _l("Deactivate"), _l("Deactivate the selected people?"), "fa-ban", single=False)
    def deactivate(self, items):
        items = items if isinstance(items, list) else [items]
        for person in items:
            if person.id != g.user.id:
                person.active = False
        self.datamodel.session.commit()
        flash(str(_l("Deactivated: they can no longer log in or receive email.")), "success")
        return redirect(self.get_redirect())


class PersonInfoForm(DynamicForm):
    """One's own name: the same rules as the Team Members form."""

    first_name = StringField(_l("First Name"), validators=[_name(_l("First Name"))], widget=BS3TextFieldWidget())
    last_name = StringField(_l("Last Name"), validators=[_name(_l("Last Name"))], widget=BS3TextFieldWidget())


class PersonInfoEditView(UserInfoEditView):
    """FAB's profile edit re-read the raw form after validating it and stored what was typed
    (or flashed success while the database refused it): save the validated, trimmed values."""

    form = PersonInfoForm
    route_base = "/userinfoeditview"  # FAB's URL, linked from the profile page
    class_permission_name = UserInfoEditView.__name__  # FAB's permission rows keep their name

    def form_post(self, form) -> None:
        person = self.appbuilder.sm.get_user_by_id(g.user.id)
        person.first_name, person.last_name = form.first_name.data, form.last_name.data
        if self.appbuilder.sm.update_user(person) is False:
            flash(_("Your name could not be saved."), "danger")
        else:
            flash(as_unicode(self.message), "info")


def _own_email(form) -> str:
    return g.user.email


OwnPasswordForm = type("OwnPasswordForm", (DynamicForm,), _password_fields(_own_email))


class OwnPasswordView(ResetMyPasswordView):
    """Changing one's own password ends every other session and token of the person; this
    browser stays signed in with a new session."""

    form = OwnPasswordForm
    class_permission_name = ResetMyPasswordView.__name__
    form_title = _l("Change my password")
    message = _l("Password changed. Your other sessions and API tokens have been signed out.")

    def form_post(self, form) -> None:
        sm = self.appbuilder.sm
        sm.reset_password(g.user.id, form.password.data)
        credentials.start_session(sm.get_user_by_id(g.user.id))
        flash(as_unicode(self.message), "info")


def _email_of_person_in_url(form) -> str:
    person = current_app.appbuilder.sm.get_user_by_id(request.args.get("pk", type=int) or 0)
    return person.email if person else ""


PersonPasswordForm = type("PersonPasswordForm", (DynamicForm,), _password_fields(_email_of_person_in_url))


class PersonPasswordView(ResetPasswordView):
    """An admin sets someone's password: that person's sessions and tokens end."""

    form = PersonPasswordForm
    class_permission_name = ResetPasswordView.__name__
    message = _l("Password changed. The person's sessions and API tokens have been signed out.")

    def form_post(self, form) -> None:
        person = self.appbuilder.sm.get_user_by_id(request.args.get("pk", type=int) or 0)
        if person is None:
            flash(_("Not found"), "danger")
            return
        self.appbuilder.sm.reset_password(person.id, form.password.data)
        flash(as_unicode(self.message), "info")


class SignInView(AuthDBView):
    """Sign-in starts a server-side session (credentials.start_session, on Flask-Login's
    signal); sign-out is a POST with a CSRF token that ends it. GET /logout/ asks first, so a
    link or an image on another site cannot sign anyone out."""

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        if request.method == "GET":
            if not (g.user is not None and g.user.is_authenticated):
                return redirect(self.appbuilder.get_url_for_login)
            return self.render_template("security/logout.html", appbuilder=self.appbuilder)
        person = self._get_authenticated_user()
        credentials.end_session()
        logout_user()
        if person is not None:
            self.appbuilder.sm.on_user_logout(person)
        return redirect(self.appbuilder.get_url_for_login)


# FAB's security APIs (admin only): same names, so the same permissions. Database errors
# never reach the client as SQL. People are written through /api/v1/member/ only, which
# applies the app's rules (email, password policy, roles); FAB's user API stays read-only.
# Like our own APIs (ContractApi): Bearer tokens only, integer ids in every route, and an
# OpenAPI description of what they really answer.
class RoleApi(NoDatabaseTextInErrors, ContractApi, RoleApi):
    pass


class GroupApi(NoDatabaseTextInErrors, ContractApi, GroupApi):
    pass


class PermissionApi(NoDatabaseTextInErrors, ContractApi, PermissionApi):
    pass


class ViewMenuApi(NoDatabaseTextInErrors, ContractApi, ViewMenuApi):
    pass


class PermissionViewMenuApi(NoDatabaseTextInErrors, ContractApi, PermissionViewMenuApi):
    pass


class UserApi(NoDatabaseTextInErrors, ContractApi, UserApi):
    include_route_methods = {"get", "get_list", "info"}


_TOKENS = {"type": "object", "required": ["access_token"], "properties": {
    "access_token": {"type": "string", "description": "Send as `Authorization: Bearer <token>`"},
    "refresh_token": {"type": "string", "description": "Only when `refresh` was true"},
}}


class SecurityApi(ContractApi, FabSecurityApi):
    """FAB's JWT login and refresh, documented as served: database logins only, a JWT (API keys
    are not enabled), and the login rate limit's 429."""

    extra_responses = {"post": {"429": "Too many attempts"}}
    openapi_spec_methods = {
        "login": {"post": {
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["username", "password", "provider"], "additionalProperties": False,
                "properties": {
                    "username": {"type": "string", "description": "The person's email"},
                    "password": {"type": "string", "format": "password"},
                    "provider": {"type": "string", "enum": ["db"]},
                    "refresh": {"type": "boolean", "description": "Also return a refresh token"},
                },
            }}}},
            "responses": {
                "200": {"description": "Logged in", "content": {"application/json": {"schema": _TOKENS}}},
                "400": {"$ref": "#/components/responses/400"},  # not a login body
                "401": {"$ref": "#/components/responses/401"},  # wrong email or password, or inactive
                "500": {"$ref": "#/components/responses/500"},
            },
        }},
    }

    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        jwt_scheme = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        api_spec.components.security_scheme("jwt", jwt_scheme)
        api_spec.components.security_scheme("jwt_refresh", jwt_scheme)


def fab_password_complexity(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: the policy on any FAB form we did not replace."""
    try:
        credentials.check_password(password)
    except InvalidValue as exc:
        raise PasswordComplexityValidationError(str(exc)) from exc


class DeyorSecurityManager(SecurityManager):
    user_model = Person
    userdbmodelview = TeamMemberView
    authdbview = SignInView
    userinfoeditview = PersonInfoEditView
    resetmypasswordview = OwnPasswordView
    resetpasswordview = PersonPasswordView
    security_api = SecurityApi
    role_api = RoleApi
    group_api = GroupApi
    permission_api = PermissionApi
    view_menu_api = ViewMenuApi
    permission_view_menu_api = PermissionViewMenuApi
    user_api = UserApi

    def create_login_manager(self, app):
        manager = super().create_login_manager(app)
        app = getattr(app, "_get_current_object", lambda: app)()  # FAB passes the current_app proxy
        user_logged_in.connect(lambda sender, user, **extra: credentials.start_session(user), app, weak=False)
        return manager

    def load_user(self, pk):
        """A browser session: only while its row exists and is current (see app/credentials.py)."""
        return credentials.person_for_session(pk)

    def load_user_jwt(self, _jwt_header, jwt_data):
        """An API token: only while its person is active and its credentials version current."""
        try:
            person = self.get_user_by_id(int(jwt_data["sub"]))
        except (KeyError, TypeError, ValueError):
            return None
        if credentials.token_is_current(person, jwt_data):
            g.user = person
            return person
        return None

    def reset_password(self, userid, password) -> None:
        """Every path that sets a password ends here or in add_user/the member API: FAB's own
        `flask fab reset-password` included. Screens and our CLI check first and say why."""
        person = self.get_user_by_id(userid)
        credentials.check_password(password, person.email if person else "")
        super().reset_password(userid, password)

    def add_user(self, username, first_name, last_name, email, role=None, password="", hashed_password="",
                 groups=None, commit=True):
        """Every person made from a plain password (flask fab create-admin/create-user, the first
        admin) meets the password policy; a refusal is logged and nobody is created."""
        if password and not hashed_password:
            try:
                credentials.check_password(password, email)
            except InvalidValue as exc:
                log.error("Not creating %s: %s", email, exc)
                return False
        return super().add_user(username, first_name, last_name, email, role=role, password=password,
                                hashed_password=hashed_password, groups=groups, commit=commit)

    def create_jwt_manager(self, app):
        """A missing, malformed, forged, expired or revoked token is 'not authorized' (401, not
        FAB's 422), with the `message` every other error answer has (not Flask-JWT's `msg`)."""
        manager = super().create_jwt_manager(app)

        def _not_authorized(*args):
            return jsonify(message="Not authorized"), 401

        for loader in (manager.invalid_token_loader, manager.unauthorized_loader, manager.expired_token_loader,
                       manager.revoked_token_loader, manager.needs_fresh_token_loader,
                       manager.user_lookup_error_loader, manager.token_verification_failed_loader):
            loader(_not_authorized)

        # Each token carries the credentials version it was issued under (load_user_jwt).
        manager.additional_claims_loader(credentials.token_claims)
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

    def get_user_permissions(self, user) -> set[tuple[str, str]]:
        """(permission, view) pairs of all of a person's roles in one Core query: FAB builds an
        ORM object per permission, one query per role, which for an admin (every permission)
        was a large share of each page's time."""
        result: set[tuple[str, str]] = set()
        role_ids = []
        for role in self.get_user_roles(user):
            if role.name in self.builtin_roles:
                result |= {(perm, view) for view, perm in self.builtin_roles[role.name]}
            else:
                role_ids.append(role.id)
        if role_ids:
            pv, granted = self.permissionview_model, assoc_permissionview_role
            result |= {(perm, view) for perm, view in self.session.execute(
                select(self.permission_model.name, self.viewmenu_model.name)
                .select_from(pv)
                .join(self.permission_model, pv.permission_id == self.permission_model.id)
                .join(self.viewmenu_model, pv.view_menu_id == self.viewmenu_model.id)
                .join(granted, granted.c.permission_view_id == pv.id)
                .where(granted.c.role_id.in_(role_ids))
            )}
        return result

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
    # Bulk actions on the list's rows (app/views/bulk.py): assignees, status, priority.
    ("can_bulk_edit", "TicketModelView"),
    # The list (and the API's list) to CSV or Excel: what the person sees, as they see it.
    ("can_export", "TicketModelView"),
    ("can_export", "TicketApi"),
    ("can_list", "CommentModelView"),
    ("can_show", "CommentModelView"),
    ("menu_access", "Tickets"),
    ("menu_access", "All tickets"),
    ("menu_access", "New ticket"),
    *[("menu_access", queue.name) for queue in QUEUES],
    ("menu_access", "Comments"),
    ("can_access", "SavedViews"),  # one's own saved views of the list
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
    # Service levels: everyone reads the targets their tickets run on; admins change them.
    ("can_get", "SlaPolicyApi"),
    ("can_info", "SlaPolicyApi"),
    ("can_get", "CalendarApi"),
    ("can_info", "CalendarApi"),
]


def role_permissions(sm) -> dict[str, list[tuple[str, str]]]:
    agent = WORK_TICKETS + _self_service(sm)
    lead = agent + [
        ("can_delete", "TicketModelView"), ("can_delete", "TicketApi"),
        # Moving many tickets to another team at once is a lead's call (agents do it one by one).
        ("can_bulk_team", "TicketModelView"),
    ]
    return {AGENT: agent, LEAD: lead}


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
