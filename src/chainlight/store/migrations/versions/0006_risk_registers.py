"""Corruption risk registers (WCO Guide to Corruption Risk Mapping): a register per organisation
and port, its rows (process stage x actor type), their controls, actions and review history.
Reviews are append-only (a trigger refuses updates); deleting a register takes its rows,
controls, actions and reviews with it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER risk_register_reviews_no_update BEFORE UPDATE ON risk_register_reviews
       BEGIN SELECT RAISE(ABORT, 'register reviews are append-only'); END""",
)
POSTGRES_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION risk_register_reviews_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'register reviews are append-only'; END $$""",
    """CREATE TRIGGER risk_register_reviews_append_only BEFORE UPDATE ON risk_register_reviews
       FOR EACH ROW EXECUTE FUNCTION risk_register_reviews_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "risk_registers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("port_id", sa.String(256), nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("marking", sa.String(16), nullable=False),
        sa.Column("sharing_group_id", sa.Integer, sa.ForeignKey("sharing_groups.id"), nullable=True),
        sa.Column("evidence_datasets", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("owner_id", "port_id", name="uq_risk_registers_owner_port"),
    )
    op.create_index("ix_risk_registers_port_id", "risk_registers", ["port_id"])
    op.create_table(
        "risk_register_rows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("register_id", sa.Integer, sa.ForeignKey("risk_registers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(256), nullable=True),
        sa.Column("likelihood", sa.Integer, nullable=False),
        sa.Column("impact", sa.Integer, nullable=False),
        sa.Column("factors", sa.Text, nullable=False, server_default="[]"),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("residual_likelihood", sa.Integer, nullable=True),
        sa.Column("residual_impact", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("register_id", "stage", "actor", name="uq_risk_register_rows_cell"),
    )
    op.create_table(
        "risk_register_controls",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("row_id", sa.Integer, sa.ForeignKey("risk_register_rows.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("control", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.UniqueConstraint("row_id", "control", name="uq_risk_register_controls_control"),
    )
    op.create_table(
        "risk_register_actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("row_id", sa.Integer, sa.ForeignKey("risk_register_rows.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("owner", sa.String(256), nullable=False),
        sa.Column("due", sa.Date, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed", sa.Date, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_risk_register_actions_row_id", "risk_register_actions", ["row_id"])
    op.create_table(
        "risk_register_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("row_id", sa.Integer, sa.ForeignKey("risk_register_rows.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reviewed_on", sa.Date, nullable=False),
        sa.Column("reviewer", sa.String(256), nullable=False),
        sa.Column("likelihood", sa.Integer, nullable=False),
        sa.Column("impact", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_risk_register_reviews_row_id", "risk_register_reviews", ["row_id"])
    triggers = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER risk_register_reviews_append_only ON risk_register_reviews")
        op.execute("DROP FUNCTION risk_register_reviews_append_only()")
    op.drop_table("risk_register_reviews")
    op.drop_table("risk_register_actions")
    op.drop_table("risk_register_controls")
    op.drop_table("risk_register_rows")
    op.drop_index("ix_risk_registers_port_id", "risk_registers")
    op.drop_table("risk_registers")
