"""/attachments/: a file's download and thumbnail (same visibility as its ticket: 404 otherwise)
and an admin's deletion of a file (in the ticket's history and the audit log)."""
from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext as _

from .. import audit
from ..attachments.http import download_response, file_view, thumbnail_response, visible_attachment
from ..extensions import db
from ..models import TicketEvent, utcnow
from ..tickets.visibility import current_person, is_admin


class AttachmentView(BaseView):
    route_base = "/attachments"
    base_permissions = ["can_download", "can_delete"]
    default_view = "download"

    @expose("/<int:pk>/download")
    @has_access
    @permission_name("download")
    @file_view
    def download(self, pk: int):
        attachment = visible_attachment(pk, current_person())
        if attachment is None:
            abort(404)
        return download_response(attachment)

    @expose("/<int:pk>/thumbnail")
    @has_access
    @permission_name("download")
    @file_view
    def thumbnail(self, pk: int):
        attachment = visible_attachment(pk, current_person())
        response = thumbnail_response(attachment) if attachment is not None else None
        if response is None:
            abort(404)
        return response

    @expose("/<int:pk>/delete", methods=["POST"])
    @has_access
    @permission_name("delete")
    def delete(self, pk: int):
        """An admin removes a file: gone from the ticket, its name kept in the history."""
        person = current_person()
        attachment = visible_attachment(pk, person)
        if attachment is None:
            abort(404)
        if not is_admin(person):
            abort(403)
        ticket_id, name = attachment.ticket_id, attachment.name
        session = db.session
        session.add(TicketEvent(ticket_id=ticket_id, actor=person, field="attachment", old_value=name,
                                new_value=None, created_at=utcnow()))
        audit.record("attachment_deleted", object_type="attachment", object_id=attachment.id, details={
            "ticket_id": ticket_id, "name": name, "type": attachment.type, "size": attachment.size,
            "sha256": attachment.sha256,
        })
        session.delete(attachment)
        session.commit()
        flash(_("File “%(name)s” deleted.", name=name), "success")
        return redirect(url_for("TicketModelView.show", pk=ticket_id) + "#attachments")
