"""/forgot-password/: ask for a reset email, and the emailed link's new-password form.
Open to anyone (no sign-in); the asking is rate limited per client (see register)."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, StopValidation

from .. import credentials, password_reset
from ..tickets.validation import InvalidValue


class ForgotPasswordForm(DynamicForm):
    email = StringField(_l("Email"), validators=[DataRequired(message=_l("Enter your email address.")),
                                                 Length(max=320)], widget=BS3TextFieldWidget())


def _policy(form, field) -> None:
    try:
        credentials.check_password(field.data, getattr(form, "person_email", ""))
    except InvalidValue as exc:
        raise StopValidation(str(exc)) from exc


class NewPasswordForm(DynamicForm):
    password = PasswordField(_l("New password"), validators=[_policy], widget=BS3PasswordFieldWidget(),
                             description=_l("At least 10 characters; not a common password, not the email."))
    conf_password = PasswordField(_l("Confirm the new password"), widget=BS3PasswordFieldWidget(),
                                  validators=[EqualTo("password", message=_l("Passwords must match"))])


class ForgotPasswordView(BaseView):
    route_base = "/forgot-password"
    default_view = "ask"
    template = "security/forgot_password.html"

    @expose("/", methods=["GET", "POST"])
    def ask(self):
        form = ForgotPasswordForm()
        if form.validate_on_submit():
            password_reset.request_reset(self.appbuilder.session, form.email.data)
            return self.render_template(self.template, form=None, sent=True)
        return self.render_template(self.template, form=form, sent=False)

    @expose("/<token>", methods=["GET", "POST"])
    def choose(self, token: str):
        session = self.appbuilder.session
        person = password_reset.person_for_token(session, token)
        if person is None:
            return self.render_template("security/new_password.html", form=None, expired=True), 410
        form = NewPasswordForm()
        form.person_email = person.email
        if form.validate_on_submit():
            password_reset.complete_reset(person, form.password.data)
            flash(_("Your password was changed. Sign in with the new one."), "success")
            return redirect(self.appbuilder.get_url_for_login)
        return self.render_template("security/new_password.html", form=form, expired=False), (
            422 if form.errors else 200)
