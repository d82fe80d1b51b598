"""Form widgets of our own."""
from __future__ import annotations

import re

from flask import current_app, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.widgets import html_params

from ..tickets import validation as v
from ..tickets.people import people_by_ids, person_label


class PersonFilterWidget:
    """A person picker for list filters that asks the server as one types.

    FAB renders every choice of a relation filter into the list page. With a thousand staff
    in two person filters that was most of the page's time and weight, on every list
    request; this select carries only the people already chosen in the URL and fetches
    the rest from `endpoint` (see static/js/person_filter.js).
    """

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def __call__(self, field, **kwargs) -> Markup:
        chosen = people_by_ids(current_app.appbuilder.session, _filter_values(field.name))
        options = "".join(
            f'<option value="{person.id}">{escape(person_label(person))}</option>' for person in chosen
        )
        attrs = html_params(
            id=field.id, name=field.name, class_="form-control person-filter",
            data_endpoint=url_for(self.endpoint), data_placeholder=_("Type a name or email"),
        )
        return Markup(f"<select {attrs}>{options}</select>")


def assignee_label(person) -> str:
    """"Name <email>", and "(deactivated)" for someone who can no longer be assigned: an edit
    form shows a deactivated assignee as such rather than dropping them unseen."""
    label = person_label(person)
    return label if person.active else _("%(person)s (deactivated)", person=label)


class PersonPickerWidget:
    """The assignee picker of the ticket forms: a multiple select that carries only the people
    already chosen and asks `endpoint` for the others as one types (static/js/ticket_form.js),
    the team chosen in the form's `team_field` first. A form page never lists every staff
    member: with a thousand people that alone would be most of its weight."""

    def __init__(self, endpoint: str, team_field: str = "team"):
        self.endpoint = endpoint
        self.team_field = team_field

    def __call__(self, field, **kwargs) -> Markup:
        options = "".join(
            f'<option value="{person.id}" selected>{escape(assignee_label(person))}</option>'
            for person in field.data or []
        )
        attrs = html_params(
            id=field.id, name=field.name, multiple=True, class_="form-control person-picker",
            data_endpoint=url_for(self.endpoint), data_team_field=self.team_field,
            data_placeholder=_("Type a name or email"), data_maximum=v.MAX_ASSIGNEES,
        )
        return Markup(f"<select {attrs}>{options}</select>")


def _filter_values(column: str) -> list[int]:
    """Person ids in this request's FAB filter arguments for `column` (_flt_<op>_<column>)."""
    pattern = re.compile(rf"_flt_\d+_{re.escape(column)}")
    return [int(value) for key, values in request.args.lists() if pattern.fullmatch(key)
            for value in values if value.isdigit()][:20]


def person_filter(label) -> Field:
    """A list filter field on a person relation, rendered as the as-you-type picker."""
    return Field(label, widget=PersonFilterWidget("TicketModelView.people"))
