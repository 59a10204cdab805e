"""Alert triage: an organisation's decisions on red-flag alerts (new, confirmed, dismissed).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_triage",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_alert_triage_alert", "alert_triage", ["alert_id", "organisation"])


def downgrade() -> None:
    op.drop_index("ix_alert_triage_alert", "alert_triage")
    op.drop_table("alert_triage")
