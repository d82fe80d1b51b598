"""Saved views: a person's named ticket list (filters, search and sort)

saved_view: one row per view, private to its person (deleted with them); a name is unique per
person whatever its case (a unique index on person_id, lower(name)).

Revision ID: 0011_saved_views
Revises: 0010_list_sort_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_saved_views"
down_revision = "0010_list_sort_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "saved_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["ab_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_saved_view_person_name", "saved_view", ["person_id", sa.text("lower(name)")], unique=True
    )


def downgrade():
    op.drop_index("uq_saved_view_person_name", table_name="saved_view")
    op.drop_table("saved_view")
