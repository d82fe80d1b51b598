"""Request schemas: what clients may send. Relations by id, rules from tickets/validation."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, post_dump, pre_load, validate

from ..models import PRIORITIES, STATUSES, Person, Team, Ticket
from ..tickets import validation as v
from ..tickets.people import assignable_clause
from ..tickets.visibility import current_person, visible_tickets_clause
from ..limits import INT64
from .fields import DomainString, RelatedId, RelatedIdList

MAX_TEAMS = 50
SERVER_SET = ("id", "created_by", "created_at", "updated_at", "resolved_at", "resolved_by", "author")


def _text(label: str, max_length: int, required: bool = False, multiline: bool = False):
    return lambda value: v.normalize_text(
        value, label=label, required=required, max_length=max_length, multiline=multiline
    )


def _visible_ticket():
    return visible_tickets_clause(current_person())


class StrictSchema(Schema):
    """Unknown keys are refused by name; server-set keys are ignored, whatever their value."""

    class Meta:
        unknown = RAISE

    @pre_load
    def drop_server_set(self, data, **kwargs):
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in SERVER_SET}
        return data

    @post_dump
    def text_is_never_null(self, data, **kwargs):
        # Rows made before a column was filled in hold NULL; the documented type is string.
        return {
            key: "" if value is None and isinstance(self.fields.get(key), fields.String) else value
            for key, value in data.items()
        }


class TicketPostSchema(StrictSchema):
    subject = DomainString(_text("Subject", 200, required=True), required=True)
    booking_id = DomainString(v.normalize_booking_id, required=True)
    team = RelatedId(Team, "team", required=True)
    priority = fields.String(validate=validate.OneOf(PRIORITIES), load_default="Medium")
    description = DomainString(_text("Description", 5000, multiline=True), load_default="")
    customer_name = DomainString(_text("Customer name", 120), load_default="")
    customer_contact = DomainString(v.normalize_customer_contact, load_default="")
    notify_emails = DomainString(v.normalize_email_list, load_default="")
    assignees = RelatedIdList(
        RelatedId(Person, "assignable person", scope=assignable_clause), v.MAX_ASSIGNEES, load_default=list
    )

    @pre_load
    def ignore_status_on_create(self, data, **kwargs):
        # A new ticket is Open; status and resolution are changed afterwards.
        if isinstance(data, dict):
            return {k: val for k, val in data.items() if k not in ("status", "resolution_notes", "version")}
        return data


def _current_assignees(schema) -> list[int]:
    """Who is on the ticket being edited (TicketApi.put_headless sets `schema.ticket`): they may
    be sent back unchanged even once deactivated; only newly added people must be assignable."""
    ticket = getattr(schema, "ticket", None)
    return [person.id for person in ticket.assignees] if ticket is not None else []


class TicketPutSchema(StrictSchema):
    subject = DomainString(_text("Subject", 200, required=True))
    booking_id = DomainString(v.normalize_booking_id)
    team = RelatedId(Team, "team")
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    description = DomainString(_text("Description", 5000, multiline=True))
    customer_name = DomainString(_text("Customer name", 120))
    customer_contact = DomainString(v.normalize_customer_contact)
    notify_emails = DomainString(v.normalize_email_list)
    assignees = RelatedIdList(
        RelatedId(Person, "assignable person", scope=assignable_clause, keep=_current_assignees), v.MAX_ASSIGNEES
    )
    status = fields.String(validate=validate.OneOf(STATUSES))
    resolution_notes = fields.String(load_only=True)
    reopen_reason = fields.String(load_only=True, metadata={
        "description": "Required when the status leaves Resolved (a reopen): why; it is added as your "
                       "comment on the ticket. The earlier resolution stays in the history.",
    })
    version = fields.Integer(strict=True, metadata={"description": "The version you read; a mismatch answers 409."})
    move_out_of_sight = fields.Boolean(load_only=True, metadata={
        "description": "Required (true) when after this change you could no longer see the ticket "
                       "(another team, or no longer assigned to you); otherwise 422 and nothing is saved.",
    })


class CommentPostSchema(StrictSchema):
    ticket = RelatedId(Ticket, "ticket", scope=_visible_ticket, required=True)
    body = DomainString(_text("Comment", 5000, required=True, multiline=True), required=True)


class TeamSchema(StrictSchema):
    name = DomainString(_text("Name", 80, required=True), required=True)
    default_emails = DomainString(v.normalize_email_list, load_default="")


class FounderSchema(StrictSchema):
    name = DomainString(_text("Name", 120, required=True), required=True)
    email = DomainString(v.normalize_email, required=True)
    active = fields.Boolean(load_default=True)


class _RoleId(fields.Integer):
    """A role by id: read as an integer (MemberApi looks the role up), written back as the role's id."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(getattr(value, "id", value), attr, obj, **kwargs)


class MemberSchema(StrictSchema):
    first_name = DomainString(_text("First name", 64, required=True), required=True)
    last_name = DomainString(_text("Last name", 64, required=True), required=True)
    email = DomainString(v.normalize_email, required=True, validate=validate.Length(max=128))  # the username column
    phone = DomainString(v.normalize_phone, load_default="")
    active = fields.Boolean(load_default=True)
    teams = RelatedIdList(RelatedId(Team, "team"), MAX_TEAMS, load_default=list)
    roles = fields.List(
        _RoleId(strict=True, validate=validate.Range(min=1, max=INT64 - 1, error="Unknown role id.")),
        required=True, validate=validate.Length(min=1),
    )
    # The password policy needs the email too: MemberApi applies it (app/credentials.py).
    password = fields.String(load_only=True, required=True, metadata={
        "description": "At least 10 characters, not a common password, not the email.",
    })
