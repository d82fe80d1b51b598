"""Admin screens: teams and founders (people are the security manager's Team Members view)."""
from __future__ import annotations

from flask import current_app
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms.validators import ValidationError

from ..forms_util import rule
from ..models import Founder, Team
from ..tickets import validation as v
from ..tickets.usage import team_in_use
from .base import RowScopedActionsMixin
from .widgets import person_filter


class TeamModelView(RowScopedActionsMixin, ModelView):
    route_base = "/teams"
    datamodel = SQLAInterface(Team)
    list_title = _l("Teams")
    add_title = _l("Add a team")
    edit_title = show_title = _l("Team")
    label_columns = {"name": _l("Name"), "default_emails": _l("Default recipients"), "members": _l("Members")}
    description_columns = {
        "default_emails": _l(
            "Comma-separated; emailed on every ticket of this team, besides TEAM_EMAILS_<TEAM> from the environment."
        )
    }
    list_columns = ["name", "default_emails"]
    show_columns = ["name", "default_emails", "members"]
    search_columns = ["name", "default_emails", "members"]
    search_form_extra_fields = {"members": person_filter(_l("Members"))}
    list_template = "list_with_person_filters.html"
    add_columns = edit_columns = ["name", "default_emails"]
    validators_columns = {
        "name": [rule(lambda value: v.normalize_text(value, label=str(_l("Name")), required=True, max_length=80))],
        "default_emails": [rule(v.normalize_email_list)],
    }
    add_row_message = _l("Team added.")
    edit_row_message = _l("Team saved.")
    delete_row_message = _l("Team deleted.")

    def pre_delete(self, item: Team) -> None:
        """Tickets keep their team: say so, and what to do instead (FAB's alert was empty)."""
        reason = team_in_use(self.datamodel.session, item)
        if reason:
            raise ValueError(reason)


def _founder_email_not_taken(form, field) -> None:
    """One founder per address whatever its case (also a unique index on lower(email))."""
    query = select(Founder.id).where(func.lower(Founder.email) == (field.data or "").lower())
    own_id = getattr(form, "_id", None)  # set by FAB on edit
    if own_id is not None:
        query = query.where(Founder.id != int(own_id))
    if current_app.appbuilder.session.scalar(query) is not None:
        raise ValidationError(str(_l("A founder with this email already exists.")))


class FounderModelView(RowScopedActionsMixin, ModelView):
    route_base = "/founders"
    datamodel = SQLAInterface(Founder)
    list_title = _l("Founders")
    add_title = _l("Add a founder")
    edit_title = show_title = _l("Founder")
    label_columns = {"name": _l("Name"), "email": _l("Email"), "active": _l("Active")}
    description_columns = {"active": _l("Active founders are CC'd on every new-ticket email.")}
    list_columns = show_columns = add_columns = edit_columns = ["name", "email", "active"]
    validators_columns = {
        "name": [rule(lambda value: v.normalize_text(value, label=str(_l("Name")), required=True, max_length=120))],
        "email": [rule(v.normalize_email), _founder_email_not_taken],
    }
    add_row_message = _l("Founder added.")
    edit_row_message = _l("Founder saved.")
    delete_row_message = _l("Founder deleted.")
