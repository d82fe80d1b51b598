"""Where a file's content lives. Views and the service talk to `storage_for(attachment)` only,
so another place (an object store) can be added as one more class without touching them.

DatabaseStorage, the default: the content in `attachment_chunk`, CHUNK_SIZE bytes a row,
written in the uploader's transaction (a refused or failed upload leaves no piece behind)
and read back one piece per statement on a connection of its own, so neither a 10 MB upload
nor its download is ever held whole in memory, and the backups hold the files.
"""
from __future__ import annotations

import hashlib
from typing import BinaryIO, Iterator, Protocol

from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.orm import Session

from ..models.attachment import DATABASE_STORAGE, Attachment, AttachmentChunk

CHUNK_SIZE = 512 * 1024


class Storage(Protocol):
    name: str

    def write(self, session: Session, attachment: Attachment, stream: BinaryIO) -> None:
        """Store `stream`'s content (from its start) for the flushed `attachment`, in `session`'s
        transaction."""

    def chunks(self, engine: Engine, attachment_id: int) -> Iterator[bytes]:
        """The content, piece by piece; usable after the request's session is gone."""


class DatabaseStorage:
    name = DATABASE_STORAGE

    def write(self, session: Session, attachment: Attachment, stream: BinaryIO) -> None:
        stream.seek(0)
        seq = 0
        while piece := stream.read(CHUNK_SIZE):
            session.execute(insert(AttachmentChunk).values(attachment_id=attachment.id, seq=seq, data=piece))
            seq += 1

    def chunks(self, engine: Engine, attachment_id: int) -> Iterator[bytes]:
        table = AttachmentChunk.__table__
        query = select(table.c.data).where(table.c.attachment_id == attachment_id, table.c.seq == bindparam("seq"))
        seq = 0
        with engine.connect() as connection:
            while (piece := connection.scalar(query, {"seq": seq})) is not None:
                yield bytes(piece)
                seq += 1


_STORAGES: dict[str, Storage] = {DATABASE_STORAGE: DatabaseStorage()}


def default_storage() -> Storage:
    return _STORAGES[DATABASE_STORAGE]


def storage_for(attachment: Attachment) -> Storage:
    return _STORAGES[attachment.storage]


def sha256_of(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for piece in chunks:
        digest.update(piece)
    return digest.hexdigest()
