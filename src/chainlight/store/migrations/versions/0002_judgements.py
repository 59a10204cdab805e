"""Resolution judgements: people saying two entities are the same, different, or unsure.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("left_id", sa.String(256), nullable=False),
        sa.Column("right_id", sa.String(256), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("undone_at", sa.DateTime, nullable=True),
        sa.Column("undone_by", sa.String(256), nullable=True),
    )
    op.create_index("ix_judgements_pair", "judgements", ["left_id", "right_id"])


def downgrade() -> None:
    op.drop_index("ix_judgements_pair", "judgements")
    op.drop_table("judgements")
