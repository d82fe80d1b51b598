"""Attachments: files on tickets and comments, content in the database

attachment: metadata (name, detected type, size, SHA-256, uploader), deleted with its ticket;
a comment's files stay with the ticket (SET NULL).
attachment_chunk: the content in numbered pieces, read and written one at a time (PostgreSQL:
stored out of line without compression).
attachment_thumbnail: an image's preview, made once at upload.

Revision ID: 0013_attachments
Revises: 0019_admin
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_attachments"
down_revision = "0019_admin"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("has_thumbnail", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("storage", sa.String(length=20), server_default="database", nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["comment_id"], ["comment.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachment_ticket_id", "attachment", ["ticket_id", "id"])
    op.create_index("ix_attachment_comment_id", "attachment", ["comment_id"])
    op.create_table(
        "attachment_chunk",
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attachment_id", "seq"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Pieces out of line and uncompressed: most files are compressed already (images, PDF,
        # Office zips), and compressing text pieces made a 10 MB upload three times slower and
        # its download slower too (bench/attachments.py).
        op.execute("ALTER TABLE attachment_chunk ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "attachment_thumbnail",
        sa.Column("attachment_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["attachment_id"], ["attachment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attachment_id"),
    )


def downgrade():
    op.drop_table("attachment_thumbnail")
    op.drop_table("attachment_chunk")
    op.drop_index("ix_attachment_comment_id", table_name="attachment")
    op.drop_index("ix_attachment_ticket_id", table_name="attachment")
    op.drop_table("attachment")
