"""outcomes: born_abroad and age_band beside sex, the groups the fairness gate judges, recorded for measurement only
(never a score input; read only by the manager and auditor metrics). Null for outcomes recorded before this revision,
which the group figures count as unknown.

Revision ID: 0003
Revises: 0002
Created: 2026-12-02 00:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("born_abroad", sa.Boolean, nullable=True))
        batch_op.add_column(sa.Column("age_band", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_column("age_band")
        batch_op.drop_column("born_abroad")
