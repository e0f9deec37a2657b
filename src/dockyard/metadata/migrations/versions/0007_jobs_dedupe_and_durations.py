"""jobs: one pending job per kind and key; run times recorded

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PENDING = sa.text("state IN ('queued', 'running')")


def upgrade() -> None:
    # The periodic lifecycle run over every repository is now a sweep that queues one
    # job per repository; rows of the old run (and its history) get the sweep's kind.
    op.execute(
        "UPDATE jobs SET kind = 'lifecycle-sweep' WHERE kind = 'lifecycle' AND key = 'periodic'"
    )
    # Older versions could queue one key twice (nothing but SQLite's single writer
    # stopped it); keep the first pending job of each, so the unique index can exist.
    op.execute(
        "UPDATE jobs SET state = 'failed', lease_until = NULL,"
        " error = 'superseded: a job of this kind and key was already pending'"
        " WHERE key IS NOT NULL AND state IN ('queued', 'running') AND id > ("
        "SELECT MIN(j.id) FROM jobs j WHERE j.kind = jobs.kind AND j.key = jobs.key"
        " AND j.state IN ('queued', 'running'))"
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration_seconds", sa.Float(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        took = "EXTRACT(EPOCH FROM finished_at - started_at)"
    else:
        took = "(julianday(finished_at) - julianday(started_at)) * 86400.0"
    op.execute(
        f"UPDATE jobs SET duration_seconds = {took}"
        " WHERE state IN ('done', 'failed') AND started_at IS NOT NULL"
        " AND finished_at IS NOT NULL"
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "uq_jobs_pending_kind_key",
            ["kind", "key"],
            unique=True,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("uq_jobs_pending_kind_key")
        batch_op.drop_column("duration_seconds")
