"""Admin screens: teams and founders (people are the security manager's Team Members view)."""
from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from ..forms_util import rule
from ..models import Founder, Team
from ..tickets import validation as v
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
        "email": [rule(v.normalize_email)],
    }
