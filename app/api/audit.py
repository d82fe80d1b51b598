"""/api/v1/audit/: the audit log, read-only, admins only (no other role is granted it).

Items are {created_at, kind, actor (the person's id, or null), email, address, object_type,
object_id, details}, newest first; filter with `q` on kind, actor, email, address,
object_type, object_id and created_at (a range: `gt` and `lt`)."""
from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import Schema, fields

from ..models import AuditEvent
from .base import DomainApi
from .fields import UtcDateTime


class AuditEventOut(Schema):
    created_at = UtcDateTime(required=True)
    kind = fields.String(required=True, metadata={"description": "What happened (see the README's list of kinds)"})
    actor = fields.Integer(attribute="actor_id", required=True, allow_none=True,
                           metadata={"description": "The person who did it; null: nobody signed in, or deleted since"})
    email = fields.String(required=True, allow_none=True,
                          metadata={"description": "The person's email at the time, or the email tried"})
    address = fields.String(required=True, allow_none=True, metadata={"description": "The client's address"})
    object_type = fields.String(required=True, allow_none=True)
    object_id = fields.String(required=True, allow_none=True)
    details = fields.Dict(required=True, allow_none=True,
                          metadata={"description": "What changed ({field: {before, after}} and the like)"})


class AuditApi(DomainApi):
    resource_name = "audit"
    datamodel = SQLAInterface(AuditEvent)
    include_route_methods = {"get_list"}
    list_model_schema = AuditEventOut()
    list_columns = ["created_at", "kind", "actor_id", "email", "address", "object_type", "object_id", "details"]
    order_columns = ["created_at"]
    base_order = ("created_at", "desc")
    search_columns = ["kind", "actor", "email", "address", "object_type", "object_id", "created_at"]
    page_size = 50
