"""Form fields of our own."""
from __future__ import annotations

from typing import Optional

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import Field
from wtforms.validators import StopValidation

from ..limits import INT64
from ..models import Person
from ..tickets import validation as v
from ..tickets.people import assignable_clause, people_with_ids, staff_clause
from ..tickets.visibility import current_person, get_visible_ticket
from .widgets import PersonPickerWidget


class AssigneeField(Field):
    """A ticket's assignees, sent as person ids by the as-you-type picker and checked here.

    Anyone newly added must be assignable (an active member of a team); someone already on the
    ticket stays when the form is saved unchanged, even once deactivated, and goes only when
    the editor removes them. At most v.MAX_ASSIGNEES people. The checks are the server's: the
    picker only offers, it decides nothing.
    """

    widget = PersonPickerWidget("TicketModelView.people")

    def __init__(self, label=None, validators=None, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.data: list[Person] = []
        self._sent_ids: list[int] = []
        self._unreadable = False

    def process_data(self, value) -> None:
        self.data = list(value or [])

    def process_formdata(self, valuelist: list[str]) -> None:
        ids: list[int] = []
        for raw in valuelist:
            text = (raw or "").strip()
            if not text.isdigit() or int(text) >= INT64:
                self._unreadable = True
                continue
            if int(text) not in ids:
                ids.append(int(text))
        self._sent_ids = ids
        # More than the limit is refused in pre_validate: look up no more than needed to say so.
        self.data = people_with_ids(current_app.appbuilder.session, ids[: v.MAX_ASSIGNEES + 1])

    def pre_validate(self, form) -> None:
        label = _("Assignees")
        if len(self._sent_ids) > v.MAX_ASSIGNEES:
            raise StopValidation(_("%(label)s: at most %(count)d people.", label=label, count=v.MAX_ASSIGNEES))
        if self._unreadable or len(self.data) < len(self._sent_ids):
            raise StopValidation(_("%(label)s: choose people from the list.", label=label))
        kept = _current_assignee_ids(form)
        added = [person.id for person in self.data if person.id not in kept]
        if not added:
            return
        session = current_app.appbuilder.session
        assignable = set(session.scalars(select(Person.id).where(Person.id.in_(added), assignable_clause())))
        refused = [person for person in self.data if person.id in added and person.id not in assignable]
        if not refused:
            return
        staff = set(session.scalars(select(Person.id).where(Person.id.in_([p.id for p in refused]), staff_clause())))
        deactivated = [person for person in refused if person.id in staff and not person.active]
        if deactivated and len(deactivated) == len(refused):
            # Only staff are named: an id of anyone else tells nothing about that account.
            raise StopValidation(_(
                "%(label)s: %(names)s is deactivated and cannot be newly assigned.",
                label=label, names=", ".join(person.full_name for person in deactivated),
            ))
        raise StopValidation(_("%(label)s: only active members of a team can be assigned.", label=label))

    def populate_obj(self, obj, name: str) -> None:
        setattr(obj, name, list(self.data))


def _current_assignee_ids(form) -> set[int]:
    """Who is on the ticket being edited now (nobody for a new ticket). FAB sets `form._id` on
    an edit; the route's pk is the fallback. The ticket is read through the visibility rule
    (the edit route has already answered 404 for a ticket the editor may not see)."""
    pk: Optional[object] = getattr(form, "_id", None)
    if pk is None:
        pk = (request.view_args or {}).get("pk")
    if pk is None:
        return set()
    ticket = get_visible_ticket(pk, current_person())
    return {person.id for person in ticket.assignees} if ticket is not None else set()
