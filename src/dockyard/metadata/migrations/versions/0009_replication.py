"""replication: configurations, per-image statuses, backfills

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replication_configurations",
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "region", name=op.f("pk_replication_configurations")),
    )
    op.create_table(
        "replication_statuses",
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=200), nullable=False),
        sa.Column("destination", sa.String(length=512), nullable=False),
        sa.Column("destination_kind", sa.String(length=32), nullable=False),
        sa.Column("destination_account", sa.String(length=12), nullable=True),
        sa.Column("destination_region", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_replication_statuses_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "repository_id", "digest", "destination", name=op.f("pk_replication_statuses")
        ),
    )
    op.create_table(
        "replication_backfills",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=False),
        sa.Column("repository", sa.String(length=256), nullable=True),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("walked", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("stopped", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replication_backfills")),
    )
    op.create_index(
        op.f("ix_replication_backfills_account_id_region_created_at"),
        "replication_backfills",
        ["account_id", "region", "created_at"],
        unique=False,
    )
    op.create_table(
        "replication_backfill_items",
        sa.Column("backfill_id", sa.String(length=36), nullable=False),
        sa.Column("repository", sa.String(length=256), nullable=False),
        sa.Column("digest", sa.String(length=200), nullable=False),
        sa.Column("destination", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["backfill_id"],
            ["replication_backfills.id"],
            name=op.f("fk_replication_backfill_items_backfill_id_replication_backfills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "backfill_id",
            "repository",
            "digest",
            "destination",
            name=op.f("pk_replication_backfill_items"),
        ),
    )


def downgrade() -> None:
    op.drop_table("replication_backfill_items")
    op.drop_index(
        op.f("ix_replication_backfills_account_id_region_created_at"),
        table_name="replication_backfills",
    )
    op.drop_table("replication_backfills")
    op.drop_table("replication_statuses")
    op.drop_table("replication_configurations")
