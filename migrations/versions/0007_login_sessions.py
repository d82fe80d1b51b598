"""Sessions that can be ended, and a credentials version per person

login_session: one row per signed-in browser (the SHA-256 of the token its cookie carries),
deleted at logout. ab_user.credentials_version: raised by every password change; sessions and
API tokens issued under an older version are refused.

Revision ID: 0007_login_sessions
Revises: 0006_list_page_covering_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_login_sessions"
down_revision = "0006_list_page_covering_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credentials_version", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "login_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("credentials_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["ab_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_session_person_id"), ["person_id"], unique=False)


def downgrade():
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_session_person_id"))
    op.drop_table("login_session")
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.drop_column("credentials_version")
