"""Adding files to a ticket: the one path every upload takes (forms, the API, inbound email).

Every check runs before anything is added to the session: the name, the size (read as it
streams, never past the limit), emptiness, the type by content, an image's pixels, the count
per request and the ticket's total. A refusal raises AttachmentRefused with a message naming
the file and the problem; nothing is stored, no row or piece is left behind. Accepted files are
added to the caller's session (metadata, content pieces, thumbnail) without committing: they
commit, or roll back, with the caller's change.
"""
from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterable, Optional, Sequence

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session, object_session

from ..extensions import db
from ..models import Comment, Person, Ticket, TicketEvent, utcnow
from ..models.attachment import Attachment, AttachmentThumbnail
from . import images, sniff
from .errors import AttachmentRefused
from .names import clean_name
from .storage import CHUNK_SIZE, default_storage

__all__ = ["AttachmentRefused", "add_attachment", "add_attachments", "new_attachments", "limits"]

SPOOL_IN_MEMORY = 1024 * 1024  # a stream that cannot seek is copied to a temporary file past this
_NEW = "deyor_new_attachments"  # session.info: the files added in the open transaction


@dataclass(frozen=True)
class Limits:
    file_bytes: int
    ticket_bytes: int
    files_per_request: int


def limits() -> Limits:
    config = current_app.config
    return Limits(
        file_bytes=int(float(config["ATTACHMENT_MAX_MB"]) * 1024 * 1024),
        ticket_bytes=int(float(config["ATTACHMENT_TICKET_MAX_MB"]) * 1024 * 1024),
        files_per_request=int(config["ATTACHMENT_MAX_FILES"]),
    )


def megabytes(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


@dataclass
class Upload:
    """A file that passed every check of its own, ready to store."""

    name: str
    type: str
    size: int
    sha256: str
    stream: BinaryIO  # seekable, from its start
    thumbnail: bytes


def _source_stream(source: Any) -> BinaryIO:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    stream = getattr(source, "stream", source)  # werkzeug's FileStorage wraps a file
    if not hasattr(stream, "read"):
        raise TypeError("stream_or_bytes must be bytes or a binary file object")
    return stream


def _measure(source: Any, name: str, max_bytes: int) -> tuple[BinaryIO, int, str]:
    """A seekable copy (or the seekable source itself) with its size and SHA-256, read piece by
    piece; refused as soon as more than `max_bytes` came in."""
    stream = _source_stream(source)
    seekable = getattr(stream, "seekable", lambda: False)()
    target = stream if seekable else tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    if seekable:
        stream.seek(0)
    digest, size = hashlib.sha256(), 0
    while piece := stream.read(CHUNK_SIZE):
        size += len(piece)
        if size > max_bytes:
            raise AttachmentRefused(_(
                "“%(name)s” is larger than %(max)s MB, the most one file may be.", name=name, max=megabytes(max_bytes)))
        digest.update(piece)
        if not seekable:
            target.write(piece)
    target.seek(0)
    return target, size, digest.hexdigest()


def prepare(filename: Any, source: Any) -> Upload:
    """Check one file on its own (name, size, content, pixels) and make its thumbnail."""
    name = clean_name(filename)
    stream, size, sha256 = _measure(source, name, limits().file_bytes)
    if size == 0:
        raise AttachmentRefused(_("“%(name)s” is empty (0 bytes): nothing to attach.", name=name))
    content_type = sniff.detect(stream, name)
    preview = images.thumbnail(stream, content_type, name) if content_type in sniff.IMAGES else b""
    return Upload(name, content_type, size, sha256, stream, preview)


def stored_bytes(session: Session, ticket: Ticket) -> int:
    """The size of the ticket's files, those added in this transaction included."""
    if ticket.id is None:
        stored = 0
    else:
        with session.no_autoflush:
            stored = session.scalar(
                select(func.coalesce(func.sum(Attachment.size), 0)).where(Attachment.ticket_id == ticket.id))
    pending = sum(a.size for a in session.info.get(_NEW, ()) if a.ticket is ticket and a.id is None)
    return int(stored or 0) + pending


def add_attachments(ticket: Ticket, uploader: Person, files: Sequence[Any],
                    comment: Optional[Comment] = None, session: Optional[Session] = None) -> list[Attachment]:
    """Attach `files` ((filename, bytes or binary stream) pairs, or Uploads already prepared)
    to `ticket`, and to `comment`
    when given (a comment of this ticket), uploaded by `uploader`. All or none: the first file
    refused raises AttachmentRefused and nothing is added. Adds to `session` (default: the
    app's) without committing."""
    session = session or db.session
    bounds = limits()
    if len(files) > bounds.files_per_request:
        raise AttachmentRefused(_("%(count)s files were sent; at most %(max)s may be sent at once.",
                                  count=len(files), max=bounds.files_per_request))
    if comment is not None and comment.ticket is not ticket:
        raise AttachmentRefused(_("That comment is not on this ticket."), field="comment")
    uploads = [item if isinstance(item, Upload) else prepare(*item) for item in files]
    total = stored_bytes(session, ticket) + sum(upload.size for upload in uploads)
    if total > bounds.ticket_bytes:
        raise AttachmentRefused(_(
            "This ticket's files would come to %(total)s MB; a ticket may hold at most %(max)s MB of files.",
            total=megabytes(total), max=megabytes(bounds.ticket_bytes)))
    return _store(session, ticket, uploader, uploads, comment)


def add_attachment(ticket: Ticket, uploader: Person, filename: Any, stream_or_bytes: Any,
                   comment: Optional[Comment] = None, session: Optional[Session] = None) -> Attachment:
    """One file: see add_attachments (for inbound email and other callers)."""
    return add_attachments(ticket, uploader, [(filename, stream_or_bytes)], comment, session=session)[0]


def _store(session: Session, ticket: Ticket, uploader: Person, uploads: Iterable[Upload],
           comment: Optional[Comment]) -> list[Attachment]:
    storage = default_storage()
    added = []
    with session.no_autoflush:
        for upload in uploads:
            attachment = Attachment(
                ticket=ticket, comment=comment, name=upload.name, type=upload.type, size=upload.size,
                sha256=upload.sha256, uploaded_by=uploader, created_at=utcnow(),
                has_thumbnail=bool(upload.thumbnail), storage=storage.name,
            )
            session.add(attachment)
            # Before any flush: the emails that flush may enqueue (a new ticket's) list them all.
            session.info.setdefault(_NEW, []).append(attachment)
            added.append((attachment, upload))
    session.flush()  # ids for the content's rows
    for attachment, upload in added:
        storage.write(session, attachment, upload.stream)
        if upload.thumbnail:
            session.execute(insert(AttachmentThumbnail).values(attachment_id=attachment.id, data=upload.thumbnail))
    return [attachment for attachment, _upload in added]


def new_attachments(ticket: Ticket) -> list[Attachment]:
    """The files added to `ticket` in its session's open transaction (what an email about this
    change lists)."""
    session = object_session(ticket)
    if session is None:
        return []
    return [a for a in session.info.get(_NEW, ()) if a.ticket is ticket]


# --- session hooks ---------------------------------------------------------------------------
def _record_uploads(session: Session, flush_context, instances) -> None:
    """An upload is in the ticket's history, whatever path added it."""
    for obj in list(session.new):
        if isinstance(obj, Attachment):
            session.add(TicketEvent(ticket=obj.ticket, actor=obj.uploaded_by, field="attachment",
                                    old_value=None, new_value=obj.name, created_at=utcnow()))


def _forget(session: Session, *args) -> None:
    session.info.pop(_NEW, None)


def install() -> None:
    """Call after app/tickets/history.install(): a new ticket's "created" comes first."""
    for name, fn in (("before_flush", _record_uploads), ("after_commit", _forget), ("after_soft_rollback", _forget)):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
