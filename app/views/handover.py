"""Handing over a leaver's open tickets, from the Team Members screen.

Deactivating someone with open tickets (the edit form or the Deactivate action) leads here: their
open tickets, and a choice: give them all to one or several people (app/tickets/handover.py, the
workspace's bulk path: history and emails per ticket), or leave them, marked "assignee
deactivated" in the list, where leads find them in their Unassigned queue.
"""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..models import Person
from ..tickets import bulk, handover
from ..tickets.people import assignable_clause
from ..tickets.queues import QUEUES
from ..tickets.validation import InvalidValue
from ..tickets.visibility import current_person
from .bulk import RACE_MESSAGE


class HandoverMixin:
    """Put before the Team Members view's FAB base. Its routes need the view's can_edit."""

    def _person_or_404(self, pk: int) -> Person:
        person = self.datamodel.get(pk, self._base_filters)
        if person is None:
            abort(404)
        return person

    def handover_redirect(self, people: list[Person]):
        """After a deactivation: the handover page of the first one with open tickets, or None."""
        session = self.datamodel.session
        leaving = [person for person in people if not person.active and handover.open_ticket_count(session, person)]
        if not leaving:
            return None
        if len(leaving) > 1:
            flash(_("Open tickets are also left with: %(names)s. Hand them over from each one's Edit page.",
                    names=", ".join(person.full_name for person in leaving[1:])), "warning")
        return redirect(url_for(f"{type(self).__name__}.handover", pk=leaving[0].id))

    @expose("/handover/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def handover(self, pk: int):
        person = self._person_or_404(pk)
        session = self.datamodel.session
        tickets = handover.open_tickets_of(session, person, current_person())
        if request.method == "POST":
            if request.form.get("do") == "leave":
                flash(_("%(num)d open ticket(s) stay with %(name)s, marked “assignee deactivated”: leads see them "
                        "in their Unassigned queue.", num=len(tickets), name=person.full_name), "warning")
                return redirect(url_for(".list"))
            answer = self._hand_over(person, tickets)
            if answer is not None:
                return answer
            tickets = handover.open_tickets_of(session, person, current_person())
        staff = list(session.scalars(select(Person).where(assignable_clause(), Person.id != person.id)
                                     .options(selectinload(Person.teams))
                                     .order_by(Person.first_name, Person.last_name, Person.id)))
        unassigned = next(queue for queue in QUEUES if queue.key == "unassigned")
        return self.render_template(
            "security/handover.html", title=_("Hand over %(name)s's open tickets", name=person.full_name),
            person=person, tickets=tickets, staff=staff, chosen=set(request.form.getlist("people")),
            mode=request.form.get("mode", handover.ALL), unassigned_href=unassigned.href,
            appbuilder=self.appbuilder,
        ), (422 if request.method == "POST" else 200)

    def _hand_over(self, person: Person, tickets):
        session = self.datamodel.session
        try:
            people = handover.chosen_people(session, request.form.getlist("people"), person)
            mode = request.form.get("mode") if request.form.get("mode") in (handover.ALL, handover.SHARE) else handover.ALL
            changed = handover.hand_over(tickets, person, people, mode, request.form)
            session.commit()
        except InvalidValue as exc:
            session.rollback()
            flash(str(exc), "danger")
            return None
        except StaleDataError:
            session.rollback()
            flash(str(RACE_MESSAGE), "danger")
            return None
        flash(_("%(num)d ticket(s) handed over from %(from)s to %(to)s.", num=len(changed), **{
            "from": person.full_name, "to": ", ".join(p.full_name for p in people)}), "success")
        return redirect(url_for(".list"))
