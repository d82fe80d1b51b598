"""Ticket screens at /tickets/: list with one search box, detail with comments, history and status buttons."""
from __future__ import annotations

from typing import Optional

from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.validators import DataRequired

from ..forms_util import rule
from ..models import (
    PRIORITIES,
    STATUS_IN_PROGRESS,
    STATUS_OPEN,
    STATUS_RESOLVED,
    STATUS_WAITING,
    Comment,
    Team,
    Ticket,
)
from ..sla.display import due_badge, state_label
from ..sla.summary import sla_summary
from ..tickets import validation as v
from ..tickets.duplicates import booking_id_or_none, open_duplicates
from ..tickets.followers import follow, unfollow
from ..tickets.mentions import check_mentions, mention_candidates
from ..tickets.people import default_team, find_staff, person_label
from ..tickets.visibility import (
    TicketVisibilityFilter,
    current_person,
    get_visible_ticket,
    may_delete,
    still_visible_after_change,
)
from ..tickets.workflow import change_status
from ..tickets.queues import QUEUES
from ..attachments.errors import AttachmentRefused
from ..attachments.service import add_attachments
from .attachment_fields import AttachmentsField
from .base import KeepTypedOnRefusalMixin, RowScopedActionsMixin, format_local
from .bulk import BulkActionsMixin
from .fields import AssigneeField
from .ticket_list import TicketInterface, TicketListMixin
from .ticket_page import attachment_context, history_rows

MAX_COMMENT = 5000


def _text(label, max_length: int, required: bool = False, multiline: bool = False):
    """A length/required rule whose message names the field in the reader's language."""
    return rule(lambda value: v.normalize_text(
        value, label=str(label), required=required, max_length=max_length, multiline=multiline
    ))


def _names(people) -> str:
    return ", ".join(person.full_name for person in people or [])


def _teams_by_name() -> list[Team]:
    return list(current_app.appbuilder.session.scalars(select(Team).order_by(Team.name)))


CONFLICT_MESSAGE = _l(
    "This ticket was changed by someone else while you were editing it. "
    "Your changes were not saved: reload the ticket and apply them again."
)
# When what was typed is shown again: the form now carries the ticket's current version.
TYPED_CONFLICT_MESSAGE = _l(
    "This ticket was changed by someone else while you were working on it. Nothing was saved; "
    "what you typed is kept below. Check the ticket as it is now, then send again: that applies "
    "what the form shows."
)


class StaleTicket(ValueError):
    http_status = 409


OUT_OF_SIGHT_MESSAGE = _l(
    "After this change you would no longer see this ticket (another team, or no longer assigned "
    "to you). Nothing was saved: tick “Move it out of my sight” to save it anyway."
)
DELETE_REFUSED_MESSAGE = _l("Only an admin or a lead of the ticket's team can delete it.")


def check_version(ticket: Ticket, expected) -> None:
    """Refuse a save based on an older version of the ticket than the one stored."""
    if str(ticket.version) != str(expected or "").strip():
        raise StaleTicket(str(CONFLICT_MESSAGE))


class TicketModelView(KeepTypedOnRefusalMixin, TicketListMixin, RowScopedActionsMixin, BulkActionsMixin, ModelView):
    route_base = "/tickets"
    datamodel = TicketInterface(Ticket)
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_export"]
    base_filters = [["id", TicketVisibilityFilter, lambda: None]]
    base_order = ("updated_at", "desc")
    page_size = 25
    list_template = "tickets/list.html"
    show_template = "tickets/show.html"
    add_template = "tickets/add.html"
    edit_template = "tickets/edit.html"
    list_title = _l("Tickets")
    show_title = _l("Ticket")
    add_title = _l("New ticket")
    edit_title = _l("Edit ticket")
    add_row_message = _l("Ticket created.")
    edit_row_message = _l("Ticket saved.")

    label_columns = {
        "id": _l("ID"),
        "subject": _l("Subject"),
        "booking_id": _l("Booking ID"),
        "team": _l("Team"),
        "priority": _l("Priority"),
        "status": _l("Status"),
        "description": _l("Description"),
        "customer_name": _l("Customer name"),
        "customer_contact": _l("Customer contact"),
        "notify_emails": _l("Notify emails"),
        "new_files": _l("Files"),
        "assignees": _l("Assignees"),
        "created_by": _l("Created by"),
        "created_at": _l("Created"),
        "updated_at": _l("Updated"),
        "resolved_at": _l("Resolved"),
        "resolved_by": _l("Resolved by"),
        "resolution_notes": _l("Resolution notes"),
        "due": _l("Due"),
        "sla_state": _l("SLA"),
        "resolve_due_at": _l("Resolution due"),
        "first_response_due_at": _l("First response due"),
        "first_responded_at": _l("First response"),
        "age": _l("Age"),
        "escalation_level": _l("Escalation level"),
    }
    description_columns = {
        "booking_id": _l("3–40 letters, digits, '-' or '/'; stored upper-case."),
        "customer_contact": _l("The customer's email address or phone number."),
        "notify_emails": _l("Extra people to email, comma-separated."),
    }
    list_columns = ["id", "subject", "booking_id", "team", "priority", "status", "due", "assignees", "updated_at"]
    order_columns = ["id", "subject", "booking_id", "priority", "status", "due", "created_at", "updated_at",
                     "resolved_at"]
    # The list's filters are app/tickets/filters.py's, one per column (TicketListMixin).
    search_columns = [
        "team", "status", "priority", "assignees", "created_by", "created_at", "updated_at", "resolved_at",
        "sla_state", "booking_id",
    ]
    formatters_columns = {
        "assignees": _names,
        "status": _,
        "priority": _,
        "created_at": format_local,
        "updated_at": format_local,
        "resolved_at": format_local,
        "due": due_badge,
        "sla_state": state_label,
    }
    add_columns = [
        "subject", "booking_id", "team", "priority", "customer_name", "customer_contact",
        "description", "assignees", "notify_emails", "new_files",
    ]
    edit_columns = add_columns + ["move_out_of_sight", "expected_version"]
    show_fieldsets = [
        (_l("Ticket"), {"fields": ["subject", "booking_id", "team", "priority", "status", "assignees", "description"]}),
        (_l("Customer"), {"fields": ["customer_name", "customer_contact", "notify_emails"]}),
        (_l("Resolution"), {"fields": ["resolution_notes", "resolved_at", "resolved_by"]}),
        (_l("Audit"), {"fields": ["created_by", "created_at", "updated_at"]}),
    ]
    validators_columns = {
        "subject": [_text(_l("Subject"), 200, required=True)],
        "booking_id": [rule(v.normalize_booking_id)],
        "customer_name": [_text(_l("Customer name"), 120)],
        "customer_contact": [rule(v.normalize_customer_contact)],
        "description": [_text(_l("Description"), 5000, multiline=True)],
        "notify_emails": [rule(v.normalize_email_list)],
    }
    _priority = SelectField(
        _l("Priority"),
        choices=[(p, _l(p)) for p in PRIORITIES],
        default="Medium",
        validators=[DataRequired()],
        widget=Select2Widget(),
    )
    # Assignees: the as-you-type picker (never every staff member in the page), checked by the
    # field itself: only active staff are added, a deactivated assignee stays until removed.
    _assignees = AssigneeField(_l("Assignees"))
    add_form_extra_fields = {
        "priority": _priority,
        "assignees": _assignees,
        "new_files": AttachmentsField(_l("Files")),
        # Teams by name, and a blank to choose from for someone who has no team of their own
        # (else the first team would be saved unnoticed); the creator's team is preselected.
        "team": QuerySelectField(
            _l("Team"), query_func=lambda: _teams_by_name(), get_pk_func=lambda team: team.id,
            allow_blank=True, blank_text=_l("Choose a team"), validators=[DataRequired()], widget=Select2Widget(),
        ),
    }
    edit_form_extra_fields = {
        "priority": _priority,
        "assignees": _assignees,
        "new_files": AttachmentsField(_l("Add files")),
        "expected_version": HiddenField(),
        "move_out_of_sight": BooleanField(
            _l("Move it out of my sight"),
            description=_l("Needed only when, after your change, you could no longer see this ticket."),
        ),
    }

    # --- list -------------------------------------------------------------------
    @expose("/mine/")
    @has_access
    @permission_name("list")
    def mine(self):
        """My tickets: the "My open tickets" queue (kept for old bookmarks)."""
        return redirect(QUEUES[0].href)

    @expose("/people/")
    @has_access
    @permission_name("list")
    def people(self):
        """Staff matching ?q= (name or email) for the person pickers, as Select2 results.
        `team=<id>`: that team's people first; `assignable=1`: only people who may be assigned."""
        team = request.args.get("team", "").strip()
        found = find_staff(
            self.datamodel.session, request.args.get("q", ""),
            team_id=int(team) if team.isdigit() and len(team) < 10 else None,
            assignable=request.args.get("assignable") in ("1", "true"),
        )
        return jsonify([{"id": person.id, "text": person_label(person)} for person in found])

    @expose("/mentions/<pk>")
    @has_access
    @permission_name("show")
    def mentions(self, pk):
        """The comment form's @ picker: people who may see this ticket matching ?q= (name or
        email), with what choosing one inserts. A ticket one may not see is 404."""
        ticket = self._visible_or_404(pk)
        found = mention_candidates(self.datamodel.session, ticket, request.args.get("q", ""))
        return jsonify([
            {"id": person.id, "name": person.full_name, "email": person.email, "insert": f"@{person.email}"}
            for person in found
        ])

    # --- add / edit ---------------------------------------------------------------
    @expose("/duplicates/")
    @has_access
    @permission_name("add")
    def duplicates(self):
        """Open tickets on ?booking_id= that the person may see, for the create form's warning.
        The booking ID is read as validation reads it; anything that cannot be one finds nothing."""
        raw = request.args.get("booking_id", "")
        found = open_duplicates(self.datamodel.session, raw, current_person())
        return jsonify({
            "booking_id": booking_id_or_none(raw) or "",
            "tickets": [{
                "id": ticket.id,
                "ref": f"ESC-{ticket.id}",
                "url": url_for(".show", pk=ticket.id),
                "subject": ticket.subject,
                "status": _(ticket.status),
                "status_code": ticket.status,
                "assignees": [person.full_name for person in ticket.assignees],
            } for ticket in found],
        })

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        """A new ticket starts in the creator's team (their first team by name)."""
        if request.method == "GET" and form.team.data is None:
            form.team.data = default_team(current_person())
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def prefill_form(self, form, pk) -> None:
        form.expected_version.data = self.datamodel.get(pk).version

    @staticmethod
    def _attach_new_files(item: Ticket) -> None:
        """The files of the form (checked at validation), in the save's own transaction."""
        uploads = getattr(item, "new_uploads", None)
        if uploads:
            add_attachments(item, current_person(), uploads)

    def pre_add(self, item: Ticket) -> None:
        if getattr(item, "new_uploads", None):
            self.datamodel.session.add(item)
            try:
                self._attach_new_files(item)
            except AttachmentRefused:
                self.datamodel.session.rollback()
                raise

    def pre_update(self, item: Ticket) -> None:
        check_version(item, getattr(item, "expected_version", None))
        # Write now: a save racing ours since the check fails here with the
        # conflict message (FAB would only say "Database Error" at commit).
        session = self.datamodel.session
        try:
            self._attach_new_files(item)
            visible = still_visible_after_change(item, current_person())
        except StaleDataError as exc:
            session.rollback()
            raise StaleTicket(str(CONFLICT_MESSAGE)) from exc
        if not visible and not getattr(item, "move_out_of_sight", False):
            session.rollback()
            raise ValueError(str(OUT_OF_SIGHT_MESSAGE))

    def refused_form(self, form, item: Ticket, error: Exception) -> None:
        """The edit form shown again after a refusal is based on the ticket as stored now, and a
        conflict says what sending it again does."""
        form.expected_version.data = item.version
        if isinstance(error, StaleTicket):
            error.args = (str(TYPED_CONFLICT_MESSAGE),)

    def pre_delete(self, item: Ticket) -> None:
        if not may_delete(current_person(), item):
            raise ValueError(str(DELETE_REFUSED_MESSAGE))

    def post_edit_redirect(self):
        """Saved or refused (flashed), the ticket page shows where things stand; a ticket just
        moved out of the editor's sight has no page for them: back to the list."""
        pk = request.view_args["pk"]
        if self.datamodel.get(pk, self._base_filters) is None:
            return redirect(url_for(".list"))
        return redirect(url_for(".show", pk=pk))

    def post_add(self, item: Ticket) -> None:
        g.added_ticket_id = item.id

    def post_add_redirect(self):
        """A new ticket opens on its own page."""
        ticket_id = g.pop("added_ticket_id", None)
        return redirect(url_for(".show", pk=ticket_id)) if ticket_id else super().post_add_redirect()

    # --- detail -------------------------------------------------------------------
    def _visible_or_404(self, pk) -> Ticket:
        """The ticket through the visibility rule, its files' metadata joined to the same query
        (the page lists them; their content is in other tables, never read here)."""
        filters = self._base_filters.copy()
        filters.add_filter(self.datamodel.get_pk_name(), self.datamodel.FilterEqual, pk)
        query = self.datamodel.session.query(Ticket).options(joinedload(Ticket.attachments))
        ticket = self.datamodel.apply_all(query, filters).one_or_none()
        if ticket is None:
            abort(404)
        return ticket

    def _ticket_page(self, ticket: Ticket, typed: Optional[dict] = None, open_form: str = "", status: int = 200):
        """The ticket page; after a refused post, with what was typed (`typed`) back in its form
        and that form open (`open_form`: "resolve" or "reopen"), answered with `status`."""
        page = self.render_template(
            self.show_template,
            pk=ticket.id,
            title=f"ESC-{ticket.id} · {ticket.subject}",
            ticket=ticket,
            comments=ticket.comments,
            **attachment_context(ticket),
            history=history_rows(ticket.events),
            next_statuses=self._next_statuses(ticket.status),
            sla=sla_summary(self.datamodel.session, ticket),
            followers=ticket.followers,
            me=current_person(),
            can_edit=self.appbuilder.sm.has_access("can_edit", self.class_permission_name),
            typed=typed or {},
            open_form=open_form,
        )
        return page, status

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        # The followers come joined to the ticket's own statement (the page's query budget).
        ticket = get_visible_ticket(pk, current_person(), joinedload(Ticket.followers))
        if ticket is None:
            abort(404)
        self.update_redirect()
        return self._ticket_page(ticket)

    @staticmethod
    def _next_statuses(status: str) -> list[tuple[str, str]]:
        return {
            STATUS_OPEN: [(STATUS_IN_PROGRESS, _("Start")), (STATUS_WAITING, _("Wait")), (STATUS_RESOLVED, _("Resolve"))],
            STATUS_IN_PROGRESS: [
                (STATUS_OPEN, _("Back to Open")), (STATUS_WAITING, _("Wait")), (STATUS_RESOLVED, _("Resolve")),
            ],
            STATUS_WAITING: [(STATUS_IN_PROGRESS, _("Resume")), (STATUS_RESOLVED, _("Resolve"))],
            STATUS_RESOLVED: [(STATUS_OPEN, _("Reopen")), (STATUS_IN_PROGRESS, _("Reopen and start"))],
        }[status]

    @expose("/status/<pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def status(self, pk):
        """A status button. Refused (a conflict, missing notes or reason), nothing changes; what
        was typed comes back in its open form with the message, on the ticket as it is now."""
        ticket = self._visible_or_404(pk)
        session = self.datamodel.session
        notes, reason = request.form.get("resolution_notes"), request.form.get("reopen_reason")
        was_resolved = ticket.status == STATUS_RESOLVED
        try:
            check_version(ticket, request.form.get("version"))
            change_status(ticket, request.form.get("status", ""), current_person(), notes, reason)
            session.commit()
        except (ValueError, StaleDataError) as exc:
            session.rollback()
            conflict = isinstance(exc, (StaleTicket, StaleDataError))
            if notes is None and reason is None:  # a plain button: nothing typed to keep
                flash(str(CONFLICT_MESSAGE if conflict else exc), "danger")
                return redirect(url_for(".show", pk=pk))
            flash(str(TYPED_CONFLICT_MESSAGE if conflict else exc), "danger")
            return self._ticket_page(
                self._visible_or_404(pk), typed={"resolution_notes": notes, "reopen_reason": reason},
                open_form="reopen" if was_resolved else "resolve", status=409 if conflict else 422,
            )
        flash(_("Status changed to %(status)s.", status=_(ticket.status)), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/comment/<pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def comment(self, pk):
        """A comment, with files or not; refused (empty, too long, a file refused, a write racing
        ours), the page comes back with the typed text in the form and the message."""
        ticket = self._visible_or_404(pk)
        session = self.datamodel.session
        typed = request.form.get("body")
        files = [item for item in request.files.getlist("files") if item.filename]
        try:
            # Files alone make a comment too (a photo of a voucher needs no words).
            body = v.normalize_text(typed, label=_("Comment"), required=not files, max_length=MAX_COMMENT,
                                    multiline=True)
            check_mentions(session, ticket, body)
            comment = Comment(ticket=ticket, author=current_person(), body=body)
            session.add(comment)
            if files:
                add_attachments(ticket, current_person(), [(item.filename, item) for item in files], comment=comment)
            session.commit()
        except (v.InvalidValue, AttachmentRefused, StaleDataError) as exc:
            session.rollback()
            conflict = isinstance(exc, StaleDataError)
            flash(str(TYPED_CONFLICT_MESSAGE if conflict else exc), "danger")
            return self._ticket_page(self._visible_or_404(pk), typed={"comment": typed}, status=409 if conflict else 422)
        flash(_("Comment added."), "success")
        return redirect(url_for(".show", pk=pk) + "#comments")

    @expose("/follow/<pk>", methods=["POST"])
    @has_access
    @permission_name("show")
    def follow(self, pk):
        """Follow (`follow=1`) or stop following (`follow=0`) a ticket one may see: whoever may
        read the ticket may ask for its comment emails."""
        ticket = self._visible_or_404(pk)
        person = current_person()
        if request.form.get("follow") == "0":
            unfollow(self.datamodel.session, ticket, person)
            message = _("You no longer follow this ticket.")
        else:
            follow(self.datamodel.session, ticket, person)
            message = _("You follow this ticket: you get an email for each new comment by someone else.")
            if not person.comment_emails:
                message += " " + _("Comment emails are turned off in your profile, so none will come until you turn them on.")
        self.datamodel.session.commit()
        flash(message, "success")
        return redirect(url_for(".show", pk=pk) + "#followers")
