"""/api/v1/attachment/: attach a file to a ticket (multipart), read a file's metadata, download it.
The ticket's visibility decides everything (404 otherwise); the uploader is the caller."""
from __future__ import annotations

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from ..attachments import too_large_message
from ..attachments.errors import AttachmentRefused
from ..attachments.http import download_response, file_view, visible_attachment
from ..attachments.service import add_attachment
from ..attachments.sniff import ACCEPTED
from ..extensions import db
from ..limits import INT64
from ..models import Comment
from ..tickets.visibility import current_person, get_visible_ticket
from .contract import ContractApi, _add
from .fields import UtcDateTime


class AttachmentSchema(Schema):
    """A file's metadata (never its content)."""

    __component_name__ = "Attachment"

    id = fields.Integer(required=True)
    ticket = fields.Integer(required=True, attribute="ticket_id", metadata={"description": "The ticket's id"})
    comment = fields.Integer(required=True, allow_none=True, attribute="comment_id",
                             metadata={"description": "The comment it came with, or null"})
    name = fields.String(required=True, metadata={"description": "The name as uploaded, cleaned for display"})
    type = fields.String(required=True, metadata={"description": "The type detected from the content",
                                                   "enum": list(ACCEPTED)})
    size = fields.Integer(required=True, metadata={"description": "Bytes"})
    sha256 = fields.String(required=True, metadata={"description": "SHA-256 of the content, hex"})
    uploaded_by = fields.Integer(required=True, attribute="uploaded_by_id")
    created_at = UtcDateTime(required=True)
    has_thumbnail = fields.Boolean(required=True)


_SCHEMA = AttachmentSchema()
_RESULT = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "result": {"$ref": "#/components/schemas/Attachment"}},
    "required": ["id", "result"],
}


def _id(raw) -> int | None:
    """A whole number that can be a row id, else None."""
    text = (raw or "").strip() if isinstance(raw, str) else ""
    if not text.isdigit() or len(text) > 19 or int(text) >= INT64:
        return None
    return int(text)


class AttachmentApi(ContractApi, BaseApi):
    resource_name = "attachment"
    openapi_spec_tag = "Attachments"
    openapi_spec_component_schemas = (AttachmentSchema,)
    method_permission_name = {"post": "post", "get": "get", "download": "get"}
    extra_responses = {
        "post": {"404": "No such ticket, or one the caller may not see",
                 "413": "The request body is larger than the server accepts (read from Content-Length)"},
    }

    @expose("/", methods=["POST"])
    @protect()
    @safe
    def post(self):
        """Attach a file to a ticket
        ---
        post:
          description: >-
            A multipart form with `ticket` (id), optional `comment` (id of a comment of that ticket)
            and `file`. The type is decided by the content (PNG, JPEG, GIF, WebP, PDF, plain text,
            CSV, Word .docx, Excel .xlsx, email .eml); a name whose extension disagrees with the
            content, HTML, SVG, an empty file, a file over ATTACHMENT_MAX_MB or a ticket over
            ATTACHMENT_TICKET_MAX_MB in all are refused (422), nothing stored.
          requestBody:
            required: true
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    ticket:
                      type: integer
                      description: The ticket's id
                    comment:
                      type: integer
                      description: A comment of that ticket the file goes with
                    file:
                      type: string
                      format: binary
                  required: [ticket, file]
          responses:
            201:
              description: Attached; the file's metadata
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/AttachmentApi.post.201'
            400:
              description: Not a multipart form
            422:
              description: Refused, with the reason per field
        """
        if not request.mimetype.startswith("multipart/form-data"):
            return self.response_400(message="Send a multipart/form-data body with `ticket` and `file`.")
        try:
            request.files  # read (and parse) the body here, not inside @safe's catch-all
        except RequestEntityTooLarge:
            return self.response(413, message=too_large_message())
        ticket_id = _id(request.form.get("ticket"))
        if ticket_id is None:
            return self.response_422(message={"ticket": ["A ticket id (a whole number) is required."]})
        ticket = get_visible_ticket(ticket_id, current_person())
        if ticket is None:
            return self.response_404()
        comment = None
        if request.form.get("comment") not in (None, ""):
            comment_id = _id(request.form.get("comment"))
            comment = db.session.scalar(select(Comment).where(Comment.id == comment_id)) if comment_id else None
            if comment is None or comment.ticket_id != ticket.id:
                return self.response_422(message={"comment": ["Not a comment of this ticket."]})
        files = request.files.getlist("file")
        if len(files) != 1 or not files[0].filename:
            return self.response_422(message={"file": ["Exactly one file, with its name, is required."]})
        try:
            attachment = add_attachment(ticket, current_person(), files[0].filename, files[0], comment=comment)
            db.session.commit()
        except AttachmentRefused as refused:
            db.session.rollback()
            return self.response_422(message={refused.field: [refused.message]})
        except SQLAlchemyError:
            db.session.rollback()
            raise
        return self.response(201, id=attachment.id, result=_SCHEMA.dump(attachment))

    @expose("/<pk>", methods=["GET"])
    @protect()
    @safe
    def get(self, pk: int):
        """A file's metadata
        ---
        get:
          parameters:
          - in: path
            name: pk
            required: true
            schema:
              type: integer
          responses:
            200:
              description: The file's metadata
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/AttachmentApi.get.200'
        """
        attachment = visible_attachment(pk, current_person())
        if attachment is None:
            return self.response_404()
        return self.response(200, id=attachment.id, result=_SCHEMA.dump(attachment))

    @expose("/<pk>/download", methods=["GET"])
    @protect()
    @safe
    @file_view
    def download(self, pk: int):
        """The file's content
        ---
        get:
          parameters:
          - in: path
            name: pk
            required: true
            schema:
              type: integer
          responses:
            200:
              description: >-
                The content, as the type detected at upload (Content-Type), as a download
                (images inline), with `X-Content-Type-Options: nosniff`
              content:
                application/octet-stream:
                  schema:
                    type: string
                    format: binary
        """
        attachment = visible_attachment(pk, current_person())
        if attachment is None:
            return self.response_404()
        return download_response(attachment)

    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        for name in ("AttachmentApi.post.201", "AttachmentApi.get.200"):
            _add(api_spec.components.schema, name, _RESULT)

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs) -> None:
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        if func.__name__ == "download":  # the real types, one per accepted type
            ok = operations["get"]["responses"]["200"]
            ok["content"] = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in ACCEPTED}
