"""Bulk actions on the ticket list's selected rows, as FAB actions.

They come in through RowScopedActionsMixin (app/views/base.py), the one door for actions:
FAB's action permission first, then every selected row loaded in one query through the
view's base filters (the visibility rule), 404 when any is missing. Here each action checks
its values once, then the versions the list showed, then changes each row through the same
code a single change uses (app/tickets/bulk.py); the session hooks write each row's history,
emails and SLA clocks. One transaction: a refusal saves nothing.

Permissions: `can_bulk_edit` (agents, leads) for assignees, status and priority;
`can_bulk_team` (leads; admins have every permission) for moving tickets to another team.
"""
from __future__ import annotations

import re
from typing import Callable
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask_appbuilder.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from ..models import Person, Team, Ticket
from ..tickets import bulk
from ..tickets.people import assignable_clause
from ..tickets.validation import MAX_ASSIGNEES, InvalidValue
from ..tickets.visibility import current_person, visible_tickets_clause

BULK_EDIT, BULK_TEAM = "bulk_edit", "bulk_team"  # permissions: can_bulk_edit, can_bulk_team

RACE_MESSAGE = _l(
    "A selected ticket was changed by someone else while saving. Nothing was saved: reload the list and try again."
)


def _rows(items) -> list[Ticket]:
    # The per-row route (/action/<name>/<pk>) passes one item, action_post a list.
    return items if isinstance(items, list) else [items]


class BulkActionsMixin:
    """Put before ModelView (after RowScopedActionsMixin) in the ticket view's bases."""

    method_permission_name = {
        "bulk_assign_me": BULK_EDIT,
        "bulk_add_assignees": BULK_EDIT,
        "bulk_remove_assignees": BULK_EDIT,
        "bulk_status": BULK_EDIT,
        "bulk_priority": BULK_EDIT,
        "bulk_team": BULK_TEAM,
    }

    # --- the actions (multiple=False, single=False: FAB's own action menus show none of them;
    # the list's bulk toolbar, templates/tickets/_bulk_toolbar.html, offers them) -------------
    @action("bulk_assign_me", _l("Assign to me"), multiple=False, single=False)
    def bulk_assign_me(self, items):
        me = current_person()

        def checked() -> Callable[[Ticket], bool]:
            if me is None or self.datamodel.session.scalar(
                select(Person.id).where(Person.id == me.id, assignable_clause())
            ) is None:
                raise bulk.BulkRefused(_("Assign to me: only an active member of a team can be assigned."))
            return lambda ticket: bulk.add_assignees(ticket, [me])

        return self._bulk(_rows(items), checked, assignees_grow=True)

    @action("bulk_add_assignees", _l("Add assignees"), multiple=False, single=False)
    def bulk_add_assignees(self, items):
        def checked() -> Callable[[Ticket], bool]:
            people = self._chosen_people()
            return lambda ticket: bulk.add_assignees(ticket, people)

        return self._bulk(_rows(items), checked, assignees_grow=True)

    @action("bulk_remove_assignees", _l("Remove assignees"), multiple=False, single=False)
    def bulk_remove_assignees(self, items):
        def checked() -> Callable[[Ticket], bool]:
            people = self._chosen_people(assignable_only=False)
            return lambda ticket: bulk.remove_assignees(ticket, people)

        return self._bulk(_rows(items), checked)

    @action("bulk_status", _l("Change status"), multiple=False, single=False)
    def bulk_status(self, items):
        def checked() -> Callable[[Ticket], bool]:
            status = bulk.checked_status(request.form.get("status"))
            notes = bulk.checked_notes(status, request.form.get("resolution_notes"))
            # Asked once, as the notes are: each resolved ticket reopened gets it as a comment.
            reason = request.form.get("reopen_reason")
            me = current_person()
            return lambda ticket: bulk.set_status(ticket, status, me, notes, reason)

        return self._bulk(_rows(items), checked)

    @action("bulk_priority", _l("Change priority"), multiple=False, single=False)
    def bulk_priority(self, items):
        def checked() -> Callable[[Ticket], bool]:
            priority = bulk.checked_priority(request.form.get("priority"))
            return lambda ticket: bulk.set_priority(ticket, priority)

        return self._bulk(_rows(items), checked)

    @action("bulk_team", _l("Move to team"), multiple=False, single=False)
    def bulk_team(self, items):
        def checked() -> Callable[[Ticket], bool]:
            raw = (request.form.get("team") or "").strip()
            team = self.datamodel.session.get(Team, int(raw)) if re.fullmatch(r"\d{1,9}", raw) else None
            if team is None:
                raise bulk.BulkRefused(_("Team: choose one of the teams."))
            return lambda ticket: bulk.set_team(ticket, team)

        return self._bulk(_rows(items), checked)

    # --- shared ---------------------------------------------------------------------------------
    def _chosen_people(self, assignable_only: bool = True) -> list[Person]:
        """The people picked in the toolbar's `assignees` field: at least one, every id a
        person one may assign (active staff); removing takes anyone, a deactivated person too."""
        raw = [value.strip() for value in request.form.getlist("assignees") if value.strip()]
        label = _("Assignees")
        if not raw:
            raise bulk.BulkRefused(_("%(label)s: choose at least one person.", label=label))
        if len(set(raw)) > MAX_ASSIGNEES or not all(re.fullmatch(r"\d{1,9}", value) for value in raw):
            raise bulk.BulkRefused(_("%(label)s: at most %(count)d people.", label=label, count=MAX_ASSIGNEES))
        ids = {int(value) for value in raw}
        query = select(Person).where(Person.id.in_(ids))
        if assignable_only:
            query = query.where(assignable_clause())
        people = list(self.datamodel.session.scalars(query))
        if len(people) != len(ids):
            raise bulk.BulkRefused(
                _("%(label)s: choose active members of a team (someone chosen cannot be assigned).", label=label)
            )
        return people

    def _bulk_back(self) -> str:
        """The list the rows were selected on, with its filters, sort and page (the toolbar's
        `next`); only a path of this view, never another site."""
        target = (request.form.get("next") or "").strip()
        parts = urlsplit(target)
        base = url_for(".list").rsplit("/list", 1)[0] + "/"
        if target.startswith(base) and not parts.scheme and not parts.netloc and "\\" not in target:
            return target
        return url_for(".list")

    def _bulk(self, tickets: list[Ticket], checked: Callable[[], Callable[[Ticket], bool]],
              assignees_grow: bool = False):
        """Check the values (`checked` returns the per-row change or raises), then the
        versions, change each row, and save all or nothing."""
        session = self.datamodel.session
        back = self._bulk_back()
        try:
            change = checked()
            stale = bulk.changed_since_read(tickets, request.form)
            if stale:
                raise bulk.BulkRefused(_(
                    "Changed by someone else since the list was shown: %(tickets)s. Nothing was saved: "
                    "reload the list and try again.", tickets=bulk.esc_numbers(stale)))
            changed = [ticket for ticket in tickets if change(ticket)]
            crowded = bulk.too_many_assignees(changed) if assignees_grow else []
            if crowded:
                raise bulk.BulkRefused(_("%(label)s: at most %(count)d people on a ticket (%(tickets)s).",
                                         label=_("Assignees"), count=MAX_ASSIGNEES, tickets=bulk.esc_numbers(crowded)))
            if changed:
                session.flush()  # the hooks write each row's history, emails and clocks now
                self._refuse_out_of_sight(changed)
            session.commit()
        except InvalidValue as exc:
            session.rollback()
            flash(str(exc), "danger")
        except StaleDataError:
            session.rollback()
            flash(str(RACE_MESSAGE), "danger")
        else:
            count = len(changed)
            flash(_("1 ticket updated.") if count == 1 else _("%(num)d tickets updated.", num=count), "success")
        return redirect(back)

    def _refuse_out_of_sight(self, changed: list[Ticket]) -> None:
        """As a single edit does: a change after which the person would no longer see a ticket
        (moved to another team, themselves unassigned) needs the box ticked. One query for all."""
        if request.form.get("move_out_of_sight"):
            return
        ids = [ticket.id for ticket in changed]
        visible = set(self.datamodel.session.scalars(
            select(Ticket.id).where(Ticket.id.in_(ids), visible_tickets_clause(current_person()))
        ))
        hidden = [ticket for ticket in changed if ticket.id not in visible]
        if hidden:
            raise bulk.BulkRefused(_(
                "After this change you would no longer see %(tickets)s (another team, or no longer assigned "
                "to you). Nothing was saved: tick “Move them out of my sight” to save anyway.",
                tickets=bulk.esc_numbers(hidden)))
