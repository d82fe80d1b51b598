"""/api/v1/ticket/ and /api/v1/comment/: the same visibility, validation and workflow as the screens."""
from __future__ import annotations

from flask import current_app, request
from flask_appbuilder.api import expose, protect, rison, safe
from flask_appbuilder.exceptions import ApplyFilterException, FABException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy.exc import SQLAlchemyError

from ..models import STATUS_RESOLVED, Comment, Ticket
from ..reports import export as exports
from ..reports.ticket_export import ticket_columns, ticket_rows
from ..tickets.duplicates import MAX_DUPLICATES, open_duplicates
from ..tickets.followers import follow, is_following, unfollow
from ..tickets.mentions import MentionRefused, check_mentions
from ..tickets.ordering import SeverityOrder
from ..tickets.search import TicketSearchFilter
from ..tickets.validation import InvalidValue, normalize_text
from ..tickets.visibility import (
    CommentVisibilityFilter,
    TicketVisibilityFilter,
    current_person,
    may_delete,
    still_visible_after_change,
)
from ..tickets.workflow import MAX_NOTES, WorkflowError, change_status
from .base import ApiError, DomainApi
from .schemas import CommentPostSchema, TicketPostSchema, TicketPutSchema

PERSON = ["id", "first_name", "last_name"]
OUT_OF_SIGHT = ("After this change you would no longer see this ticket (another team, or no longer "
                "assigned to you); send move_out_of_sight: true to save it anyway.")


class TicketInterface(SeverityOrder, SQLAInterface):
    pass


class TicketApi(DomainApi):
    resource_name = "ticket"
    datamodel = TicketInterface(Ticket)
    base_filters = [["id", TicketVisibilityFilter, lambda: None]]
    base_order = ("updated_at", "desc")
    list_columns = [
        "id", "subject", "booking_id", "team.id", "team.name", "priority", "status",
        "assignees.id", "assignees.first_name", "assignees.last_name", "created_by.id",
        "created_at", "updated_at", "resolved_at", "version",
        # Service level, computed by the server (read-only: not in the POST/PUT schemas).
        "first_response_due_at", "first_responded_at", "resolve_due_at", "sla_state", "escalation_level",
    ]
    show_columns = list_columns + [
        "description", "customer_name", "customer_contact", "notify_emails", "resolution_notes",
        "resolved_by.id", "created_by.first_name", "created_by.last_name",
        # The ticket's files (metadata; content at /api/v1/attachment/<id>/download).
        "attachments.id", "attachments.name", "attachments.type", "attachments.size",
    ]
    order_columns = [
        "id", "subject", "booking_id", "priority", "status", "created_at", "updated_at", "resolved_at",
        "resolve_due_at",
    ]
    search_columns = [
        "subject", "booking_id", "team", "status", "priority", "assignees", "created_by",
        "created_at", "updated_at", "resolved_at", "sla_state", "escalation_level", "resolve_due_at",
    ]
    # q=(filters:!((col:subject,opr:search,value:goa))) searches the same five fields as the list page.
    search_filters = {"subject": [TicketSearchFilter]}
    add_columns = list(TicketPostSchema().fields)
    edit_columns = list(TicketPutSchema().fields)
    add_model_schema = TicketPostSchema()
    edit_model_schema = TicketPutSchema()

    def post_headless(self):
        def create():
            data = self.load(self.add_model_schema, self.json_body())
            ticket = Ticket(status="Open", **data)
            self.datamodel.session.add(ticket)
            self.commit()
            # The open tickets already on this booking that the caller may see (as the create
            # form warns about them): a client can point the person at them.
            duplicates = open_duplicates(
                self.datamodel.session, ticket.booking_id, current_person(), exclude_id=ticket.id)
            return self.response(201, id=ticket.id, result=self.result(ticket),
                                 duplicates=[other.id for other in duplicates])

        return self.handle(create)

    def q_schemas(self) -> dict[str, dict]:
        """The export reads the list's `q` without paging: filters and order only."""
        schemas = super().q_schemas()
        listing = schemas["get_list"]
        schemas["export"] = {**listing, "properties": {
            key: listing["properties"][key] for key in ("filters", "order_column", "order_direction")
        }}
        return schemas

    @expose("/export", methods=["GET"])
    @protect()
    @safe
    @permission_name("export")
    @rison()
    def export(self, **kwargs):
        """The tickets the list would give for `q` (filters, order), every page, as a file
        ---
        get:
          description: >-
            Every ticket the caller may see that matches `q` (its filters and order, as for the
            list; no paging), as CSV (UTF-8 with a byte-order mark) or Excel. Columns: the
            ticket's fields, team, assignees' names and emails, creator, resolver, service-level
            fields and the number of comments; times in the server's display time zone, named in
            each time column's header. Cells a spreadsheet would run as a formula start with `'`.
            More tickets than the server's export limit (EXPORT_MAX_ROWS): 400, nothing exported.
          parameters:
          - in: query
            name: format
            required: true
            schema:
              type: string
              enum: [csv, xlsx]
          - in: query
            name: q
            content:
              application/json:
                schema:
                  type: object
          responses:
            200:
              description: The file, as an attachment named with the date
              content:
                text/csv:
                  schema:
                    type: string
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet:
                  schema:
                    type: string
                    format: binary
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            500:
              $ref: '#/components/responses/500'
        """
        fmt = request.args.get("format", "")
        if fmt not in exports.FORMATS:
            return self.response_400(message="format: csv or xlsx")
        args = kwargs.get("rison", {})
        session = self.datamodel.session
        try:
            filters = self._handle_filters_args(args)
            order_column, order_direction = self._handle_order_args(args)
            ids = self.datamodel._apply_inner_all(
                session.query(Ticket.id), filters, order_column, order_direction, aliases_mapping={})
            rows = exports.count_rows(session, ids, current_app.config["EXPORT_MAX_ROWS"])
        except exports.TooManyRows as refused:
            return self.response_400(message=(
                f"{refused.count} tickets match; an export holds at most {refused.cap}. Nothing was exported: "
                "narrow q's filters and ask again."))
        except FABException as exc:
            return self.response_400(message=str(exc))
        except (ApplyFilterException, SQLAlchemyError, ValueError, TypeError, AttributeError, OverflowError):
            session.rollback()
            return self.response_400(message="A filter value does not fit its column.")
        exports.record_export(session, "ticket", fmt, request.args.get("q", ""), rows)
        return exports.response(fmt, "tickets", ticket_columns(), ticket_rows(session, ids), sheet="Tickets")

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs) -> None:
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        created = operations.get("post", {}).get("responses", {}).get("201", {})
        schema = created.get("content", {}).get("application/json", {}).get("schema", {})
        if "result" in schema.get("properties", {}):
            schema["properties"]["duplicates"] = {
                "type": "array", "items": {"type": "integer"},
                "description": (f"Ids of the open (not Resolved) tickets on the same booking ID that the caller "
                                f"may see, the new one excluded; the newest {MAX_DUPLICATES} at most"),
            }
            schema["required"] = [*schema.get("required", []), "duplicates"]

    def put_headless(self, pk):
        def update():
            ticket = self.datamodel.get(pk, self._base_filters)
            if ticket is None:
                return self.response_404()
            schema = TicketPutSchema()
            schema.ticket = ticket  # its current assignees stay acceptable (schemas._current_assignees)
            data = self.load(schema, self.json_body(), partial=True)
            version = data.pop("version", None)
            if version is not None and version != ticket.version:
                raise ApiError(409, "This ticket was changed by someone else meanwhile; reload it and apply your change again.")
            status = data.pop("status", None)
            notes = data.pop("resolution_notes", None)
            reason = data.pop("reopen_reason", None)
            move_out_of_sight = data.pop("move_out_of_sight", False)
            for name, value in data.items():
                setattr(ticket, name, value)
            self._apply_status(ticket, status, notes, reason)
            if not move_out_of_sight and not still_visible_after_change(ticket, current_person()):
                raise ApiError(422, {"move_out_of_sight": [OUT_OF_SIGHT]})
            self.commit()
            return self.response(200, id=ticket.id, result=self.result(ticket))

        return self.handle(update)

    _FOLLOWING = """
          parameters:
          - in: path
            name: pk
            schema:
              type: integer
          responses:
            200:
              description: Whether the caller now follows the ticket
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      following:
                        type: boolean
                    required: [following]
            404:
              description: No such ticket, or one the caller may not see
        """

    def _set_following(self, pk, on: bool):
        ticket = self.datamodel.get(pk, self._base_filters)
        if ticket is None:
            return self.response_404()
        session, person = self.datamodel.session, current_person()
        (follow if on else unfollow)(session, ticket, person)
        session.commit()
        return self.response(200, following=is_following(session, ticket, person))

    @expose("/<pk>/follow", methods=["POST"])
    @protect()
    @safe
    @permission_name("get")  # whoever may read a ticket may follow it
    def follow(self, pk):
        return self._set_following(pk, True)

    follow.__doc__ = """Follow a ticket
        ---
        post:
          description: >-
            Follow the ticket: an email for each new comment by someone else (unless comment
            emails are turned off in the profile). Following twice is one follow.""" + _FOLLOWING

    @expose("/<pk>/follow", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("get")
    def unfollow(self, pk):
        return self._set_following(pk, False)

    unfollow.__doc__ = """Stop following a ticket
        ---
        delete:
          description: Stop following the ticket. Not following it already is no error.""" + _FOLLOWING

    def check_delete(self, ticket: Ticket) -> None:
        if not may_delete(current_person(), ticket):
            raise ApiError(403, "Only an admin or a lead of the ticket's team can delete it.")

    @staticmethod
    def _apply_status(ticket: Ticket, status, notes, reason=None) -> None:
        try:
            if status is not None and status != ticket.status:
                change_status(ticket, status, current_person(), notes, reason)
                return
            if reason is not None:
                raise WorkflowError("reopen_reason", "A reopen reason goes with reopening a resolved ticket.")
            if notes is not None:
                if ticket.status != STATUS_RESOLVED:
                    raise WorkflowError("resolution_notes", "Resolution notes go with resolving the ticket.")
                ticket.resolution_notes = normalize_text(
                    notes, label="Resolution notes", required=True, max_length=MAX_NOTES, multiline=True
                )
        except WorkflowError as exc:
            raise ApiError(422, {exc.field: [str(exc)]}) from exc
        except InvalidValue as exc:
            raise ApiError(422, {"resolution_notes": [str(exc)]}) from exc


class CommentApi(DomainApi):
    resource_name = "comment"
    datamodel = SQLAInterface(Comment)
    include_route_methods = {"get", "get_list", "post", "info"}  # comments are never edited or deleted
    base_filters = [["id", CommentVisibilityFilter, lambda: None]]
    base_order = ("created_at", "asc")
    list_columns = ["id", "ticket.id", "author.id", "author.first_name", "author.last_name", "body", "created_at"]
    show_columns = list_columns
    order_columns = ["id", "created_at"]
    search_columns = ["ticket", "author", "body", "created_at"]
    add_columns = list(CommentPostSchema().fields)
    add_model_schema = CommentPostSchema()
    # Comments are never edited, but FAB still describes edit columns in `_info`: without these
    # it lists every ticket (id and subject) as a choice for `ticket`, whoever asks.
    edit_columns = add_columns
    edit_model_schema = add_model_schema
    extra_responses = {"post": {"404": "No such ticket, or one you may not see"}}

    def post_headless(self):
        def create():
            body = self.json_body()
            try:
                data = self.load(self.add_model_schema, body)
            except ApiError as err:
                # A hidden ticket looks exactly like a missing one.
                if isinstance(err.message, dict) and "ticket" in err.message and isinstance(body.get("ticket"), int) \
                        and not isinstance(body.get("ticket"), bool):
                    return self.response_404()
                raise
            try:
                check_mentions(self.datamodel.session, data["ticket"], data["body"])
            except MentionRefused as exc:
                raise ApiError(422, {"body": [str(exc)]}) from exc
            comment = Comment(author=current_person(), **data)
            self.datamodel.session.add(comment)
            self.commit()
            return self.response(201, id=comment.id, result=self.result(comment))

        return self.handle(create)
