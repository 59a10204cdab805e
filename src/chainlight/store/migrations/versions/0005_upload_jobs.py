"""Upload jobs: files uploaded through the web app and the progress of their ingest.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(256), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("mapping", sa.String(64), nullable=True),
        sa.Column("marking", sa.String(16), nullable=False),
        sa.Column("sharing_group", sa.String(64), nullable=True),
        sa.Column("file_name", sa.String(256), nullable=False),
        sa.Column("stored_path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("bytes_read", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_read", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_loaded", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_quarantined", sa.Integer, nullable=False, server_default="0"),
        sa.Column("statements_added", sa.Integer, nullable=False, server_default="0"),
        sa.Column("records_added", sa.Integer, nullable=False, server_default="0"),
        sa.Column("problem_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("problems", sa.Text, nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_upload_jobs_organisation", "upload_jobs", ["organisation", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_upload_jobs_organisation", "upload_jobs")
    op.drop_table("upload_jobs")
