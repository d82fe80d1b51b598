"""Files on tickets (and on their comments): metadata here, content in its own tables.

The content is never a column of `attachment`: a query of tickets or attachments never reads
it. `attachment_chunk` holds it in numbered pieces written and read one at a time (a 10 MB
file is never one value in memory); `attachment_thumbnail` holds the small preview of an
image, made once at upload. Both go with their attachment (ON DELETE CASCADE), which goes
with its ticket. A comment's files stay with the ticket (SET NULL).
"""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import backref, relationship

from .people import Person
from .ticket import Comment, Ticket, utcnow

MAX_NAME = 255
DATABASE_STORAGE = "database"


class Attachment(Model):
    __tablename__ = "attachment"
    __table_args__ = (
        Index("ix_attachment_ticket_id", "ticket_id", "id"),  # the ticket page's list, the per-ticket total
        Index("ix_attachment_comment_id", "comment_id"),
    )

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False)
    # Deleting the ticket deletes its files in the database itself (passive_deletes: the ORM
    # never loads them to do it).
    ticket = relationship(
        Ticket,
        backref=backref("attachments", order_by="Attachment.id", cascade="all, delete-orphan", passive_deletes=True),
    )
    comment_id = Column(Integer, ForeignKey("comment.id", ondelete="SET NULL"), nullable=True)
    comment = relationship(Comment, backref=backref("attachments", order_by="Attachment.id", passive_deletes=True))
    name = Column(String(MAX_NAME), nullable=False)  # as uploaded, cleaned for display
    # The type detected from the content (app/attachments/sniff.py), the only one it is served as.
    type = Column("content_type", String(100), nullable=False)
    size = Column(BigInteger, nullable=False)  # bytes
    sha256 = Column(String(64), nullable=False)  # hex
    uploaded_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False)
    uploaded_by = relationship(Person, lazy="joined")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    has_thumbnail = Column(Boolean, nullable=False, default=False, server_default="0")
    # Where the content is (app/attachments/storage.py): only "database" so far.
    storage = Column(String(20), nullable=False, default=DATABASE_STORAGE, server_default=DATABASE_STORAGE)

    @property
    def is_image(self) -> bool:
        return self.type.startswith("image/")

    def __repr__(self) -> str:
        return self.name


class AttachmentChunk(Model):
    """One piece of a file's content, in order (`seq` from 0)."""

    __tablename__ = "attachment_chunk"
    attachment_id = Column(Integer, ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True)
    seq = Column(Integer, primary_key=True, autoincrement=False)
    data = Column(LargeBinary, nullable=False)


class AttachmentThumbnail(Model):
    """An image's preview (JPEG, at most THUMBNAIL_SIZE pixels a side)."""

    __tablename__ = "attachment_thumbnail"
    attachment_id = Column(Integer, ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True,
                           autoincrement=False)
    data = Column(LargeBinary, nullable=False)
