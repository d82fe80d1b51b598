"""Serving a file: the headers that make a browser treat it as data, never as a page of ours.

- the detected type only (no charset guessed, nothing else), and `nosniff` so it is not guessed;
- `attachment` (a download) for everything but images, which may show `inline`;
- a CSP of its own that allows nothing and sandboxes the document (a file opened in a tab runs
  no script and is of no origin, whatever it holds);
- `private` caching: a shared cache never keeps a ticket's file.
"""
from __future__ import annotations

from typing import Optional

from flask import Response
from sqlalchemy import select

from ..extensions import db
from ..models.attachment import Attachment, AttachmentThumbnail
from ..tickets.visibility import visible_to
from .names import content_disposition
from .sniff import IMAGES
from .storage import storage_for

FILE_CSP = "default-src 'none'; sandbox"
# The per-view options Flask-Talisman reads from a view function (`talisman_view_options`):
# no site-wide CSP from it (which would replace ours after the view): the response sets its own.
TALISMAN_OPTIONS = {"content_security_policy": None, "content_security_policy_nonce_in": []}


def file_view(function):
    """Mark a view that answers a file: the file's own CSP, not the site's."""
    function.talisman_view_options = dict(TALISMAN_OPTIONS)
    return function


def visible_attachment(attachment_id: int, person) -> Optional[Attachment]:
    """The attachment if `person` may see its ticket, else None (callers answer 404)."""
    return db.session.scalars(
        select(Attachment).where(Attachment.id == attachment_id, visible_to(person, Attachment.ticket_id))
    ).first()


def _secure(response: Response, disposition: str) -> Response:
    response.headers["Content-Disposition"] = disposition
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "private"
    return response


def download_response(attachment: Attachment) -> Response:
    """The file, streamed piece by piece from its storage."""
    storage = storage_for(attachment)
    body = storage.chunks(db.engine, attachment.id)
    response = Response(body, content_type=attachment.type, direct_passthrough=True)
    response.content_length = attachment.size
    response.set_etag(attachment.sha256)
    kind = "inline" if attachment.type in IMAGES else "attachment"
    return _secure(response, content_disposition(kind, attachment.name))


def thumbnail_response(attachment: Attachment) -> Optional[Response]:
    data = db.session.scalar(
        select(AttachmentThumbnail.data).where(AttachmentThumbnail.attachment_id == attachment.id))
    if data is None:
        return None
    response = Response(bytes(data), content_type="image/jpeg")
    return _secure(response, content_disposition("inline", f"thumbnail-{attachment.id}.jpg"))
