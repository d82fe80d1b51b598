"""Security manager subclass: the Person model, the Team Members screen, role definitions."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app, flash, g, has_request_context, jsonify, redirect, request, session, url_for
from flask_appbuilder import expose
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.actions import action
from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.api import SecurityApi as FabSecurityApi
from flask_appbuilder.security.decorators import has_access
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
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, StopValidation, ValidationError

from . import audit, credentials
from .api.base import NoDatabaseTextInErrors
from .api.contract import ContractApi
from .forms_util import rule
from .models import AuditEvent, Person, utcnow
from .tickets.queues import QUEUES
from .tickets.usage import person_in_use
from .tickets.validation import InvalidValue, normalize_email, normalize_phone, normalize_text
from .views.base import RowScopedActionsMixin
from .views.handover import HandoverMixin
from .views.roles import RoleView

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


class NotPublicRole(BaseFilter):
    """Role choices without FAB's Public role (anyone not signed in): nobody is given it."""

    name = "Not the public role"

    def apply(self, query, value):
        return query.filter(self.model.name != current_app.config["AUTH_ROLE_PUBLIC"])


_NOT_PUBLIC = {"roles": [["name", NotPublicRole, None]]}


def _names(rows) -> str:
    """Teams or roles as the names people read ("Corporate Travel, Visa"), not "[Corporate Travel]"."""
    return ", ".join(sorted(str(getattr(row, "name", row)) for row in rows or []))


def active_badge(active) -> Markup:
    if active:
        return Markup('<span class="label label-success person-active">{}</span>').format(_("Active"))
    return Markup('<span class="label label-default person-active">{}</span>').format(_("Deactivated"))


def _blank(value) -> str:
    return "" if value is None else escape(value)


class TeamMemberView(RowScopedActionsMixin, HandoverMixin, UserDBModelView):
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
    label_columns = {**UserDBModelView.label_columns, "phone": _l("Phone"), "teams": _l("Teams"),
                     "roles": _l("Roles"), "active": _l("Active")}
    # In the domain's words (FAB's speak of OpenID and "a list of permissions").
    description_columns = {
        "email": _l("They sign in with it, and their emails go to it."),
        "teams": _l("The teams they work in: their tickets, queues and assignee choices."),
        "roles": _l("What they may do: see Admin › Roles for each role in words."),
        "active": _l("Untick to deactivate: they can no longer sign in or receive email; their tickets stay, "
                     "and their open ones can be handed over."),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = search_form_query_rel_fields = _NOT_PUBLIC
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
    formatters_columns = {"active": active_badge, "teams": _names, "roles": _names, "phone": _blank}
    add_row_message = _l("Team member added.")
    edit_row_message = _l("Team member saved.")
    delete_row_message = _l("Team member deleted.")

    def post_add_redirect(self):
        return redirect(url_for(".list"))

    def post_edit_redirect(self):
        """Someone just deactivated who still has open tickets: offer to hand them over."""
        edited = g.pop("edited_person", None)
        return (self.handover_redirect([edited]) if edited is not None else None) or redirect(url_for(".list"))

    def post_update(self, item: Person) -> None:
        g.edited_person = item

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

    def pre_delete(self, item: Person) -> None:
        """Tickets keep who created, changed and commented on them: say so, and what to do
        instead (FAB's alert was empty)."""
        if item.id == g.user.id:
            raise ValueError(str(_l("You cannot delete yourself.")))
        reason = person_in_use(self.datamodel.session, item)
        if reason:
            raise ValueError(reason)

    @expose("/userinfo/")
    @has_access
    def userinfo(self):
        """One's profile: details, language and email settings (PersonInfoEditView saves them),
        teams and roles to read, and the password form (OwnPasswordView)."""
        person = self.appbuilder.sm.get_user_by_id(g.user.id)
        form = PersonInfoForm.refresh()
        for name in PROFILE_FIELDS:
            getattr(form, name).data = getattr(person, name)
        form.language.data = person.language or ""
        return self.render_template(
            "security/profile.html", title=_("My profile"), person=person, form=form,
            password_form=OwnPasswordForm.refresh(), appbuilder=self.appbuilder,
        )

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
        return self.handover_redirect(items) or redirect(self.get_redirect())


def _language_choices() -> list[tuple[str, str]]:
    languages = current_app.config["LANGUAGES"]
    return [("", _("The site's default"))] + [(code, info["name"]) for code, info in languages.items()]


class PersonInfoForm(DynamicForm):
    """One's own profile: name and phone (the same rules as the Team Members form), language
    and which emails to receive."""

    first_name = StringField(_l("First Name"), validators=[_name(_l("First Name"))], widget=BS3TextFieldWidget())
    last_name = StringField(_l("Last Name"), validators=[_name(_l("Last Name"))], widget=BS3TextFieldWidget())
    phone = StringField(_l("Phone"), validators=[rule(normalize_phone)], widget=BS3TextFieldWidget())
    # Any value that is no language is the site's default (a form sent without it included).
    language = SelectField(_l("Language"), choices=_language_choices, validate_choice=False)
    comment_emails = BooleanField(_l("Email me each new comment on tickets I am assigned to or follow"))
    digest_emails = BooleanField(_l("Email me the weekly digest (leads and founders receive it)"))


PROFILE_FIELDS = ("first_name", "last_name", "phone", "language", "comment_emails", "digest_emails")


def apply_language(person) -> None:
    """This browser speaks the person's chosen language (at sign-in, and when they choose it)."""
    if has_request_context() and getattr(person, "language", None) in current_app.config["LANGUAGES"]:
        session["locale"] = person.language


class PersonInfoEditView(UserInfoEditView):
    """FAB's profile edit re-read the raw form after validating it and stored what was typed
    (or flashed success while the database refused it): save the validated, trimmed values.
    The profile page (/users/userinfo/) shows this form; a refusal shows it here with the
    message beside the field."""

    form = PersonInfoForm
    route_base = "/userinfoeditview"  # FAB's URL, linked from the profile page
    class_permission_name = UserInfoEditView.__name__  # FAB's permission rows keep their name
    form_title = _l("My profile")
    message = _l("Your profile was saved.")

    def form_get(self, form) -> None:
        person = self.appbuilder.sm.get_user_by_id(g.user.id)
        for name in PROFILE_FIELDS:
            getattr(form, name).data = getattr(person, name)
        form.language.data = person.language or ""

    def form_post(self, form):
        person = self.appbuilder.sm.get_user_by_id(g.user.id)
        person.first_name, person.last_name = form.first_name.data, form.last_name.data
        person.phone = form.phone.data or None
        person.language = form.language.data if form.language.data in current_app.config["LANGUAGES"] else None
        person.comment_emails, person.digest_emails = bool(form.comment_emails.data), bool(form.digest_emails.data)
        if self.appbuilder.sm.update_user(person) is False:
            flash(_("Your profile could not be saved."), "danger")
        else:
            apply_language(person)
            flash(as_unicode(self.message), "info")
        return redirect(url_for(f"{self.appbuilder.sm.user_view.__class__.__name__}.userinfo"))


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
        return redirect(url_for(f"{sm.user_view.__class__.__name__}.userinfo"))


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
        if person is not None:
            audit.record(audit.LOGOUT, object_type="person", object_id=person.id, actor=person)
        credentials.end_session()  # (commits the event with the session's end)
        self.appbuilder.session.commit()
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
    rolemodelview = RoleView
    userstatschartview = None  # FAB's login-count chart: nothing an admin here needs
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
        user_logged_in.connect(lambda sender, user, **extra: apply_language(user), app, weak=False)
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
        self._advanced_menu()
        # FAB limits the login form's blueprint by itself, with a count of its own. The JWT
        # login (and refresh) is a door to the same passwords: both draw on one budget per
        # client, so alternating between them gains nothing. (FAB's own form limit stays;
        # it can never trip before the shared one.)
        if self.is_auth_limited:
            login_budget = self.limiter.shared_limit(self.auth_rate_limit, scope="login", methods=["POST"])
            for view in self.appbuilder.baseviews:
                if view is self.auth_view or isinstance(view, self.security_api):
                    login_budget(view.blueprint)

    # FAB's own security screens an admin rarely needs (groups, raw permissions and views),
    # kept reachable under "Advanced"; people and roles are in the Admin menu
    # (app/views/__init__.py).
    ADVANCED_MENU = "Security"  # FAB's category name: its menu_access permission keeps working
    MOVED_TO_ADMIN = ("List Users", "List Roles")

    def _advanced_menu(self) -> None:
        category = self.appbuilder.menu.find(self.ADVANCED_MENU)
        if category is None:
            return
        category.label = _l("Advanced")
        category.icon = "fa-cogs"
        category.childs = [item for item in category.childs if item.name not in self.MOVED_TO_ADMIN]
        while category.childs and category.childs[0].name == "-":
            category.childs.pop(0)

    def has_access(self, permission_name: str, view_name: str) -> bool:
        """Once this request has loaded the signed-in person's permissions, a check is a set
        lookup: FAB's own path resolves the person anew through Flask-Login's proxies for each
        of a page's twenty checks (menu, buttons), a measurable share of a list page."""
        if has_request_context():
            cached, user = g.get("_permissions"), g.get("_login_user")
            if cached is not None and user is not None and cached[0] == getattr(user, "id", None) \
                    and getattr(user, "is_active", False):
                return (permission_name, view_name) in cached[1]
        return super().has_access(permission_name, view_name)

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
        g._login_recorded = False
        if "\x00" in username or "\x00" in (password or ""):
            person = None  # PostgreSQL refuses NUL in a query parameter: no such person
        else:
            person = super().auth_user_db(username, password)
        if person is None and username and not g._login_recorded:
            # No such person, or an inactive one: FAB changes nothing, so the event commits alone.
            audit.record(audit.LOGIN_FAILED, actor=None, email=username.replace("\x00", ""))
            self.session.commit()
        return person

    def update_user_auth_stat(self, user, success=True):
        """Every sign-in attempt on a known person: the event commits with FAB's counters."""
        audit.record(
            audit.LOGIN if success else audit.LOGIN_FAILED, object_type="person", object_id=user.id,
            actor=user if success else None, email=user.email,
        )
        if has_request_context():
            g._login_recorded = True
        super().update_user_auth_stat(user, success)


def record_lock_out(request_limit) -> None:
    """RATELIMIT_ON_BREACH_CALLBACK: a login rate limit (FAB's on the form, or the shared one)
    refused a client. One event per client and limit window, however many attempts it goes on
    making (the log must not be flooded by the attack it records)."""
    if request.blueprint not in {"SignInView", "SecurityApi"}:
        return
    session = current_app.appbuilder.session
    window = timedelta(seconds=request_limit.limit.get_expiry())
    already = session.scalar(select(AuditEvent.id).where(
        AuditEvent.kind == audit.LOGIN_LOCKED_OUT, AuditEvent.address == request.remote_addr,
        AuditEvent.created_at >= utcnow() - window,
    ).limit(1))
    if already is None:
        body = request.get_json(silent=True) if request.is_json else None
        tried = (body.get("username") if isinstance(body, dict) else None) or request.form.get("username")
        audit.record(audit.LOGIN_LOCKED_OUT, actor=None,
                     email=tried.strip().replace("\x00", "") if isinstance(tried, str) else None,
                     details={"limit": str(request_limit.limit)})
        session.commit()


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
    # The dashboard (the home page) and its figures as JSON: over the tickets one may see.
    ("can_index", "DashboardView"),
    ("menu_access", "Dashboard"),
    ("can_summary", "ReportApi"),
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
    # A ticket's files (the ticket's visibility decides; deleting a file is for admins only).
    ("can_download", "AttachmentView"),
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
    ("can_get", "AttachmentApi"),
    ("can_post", "AttachmentApi"),
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
