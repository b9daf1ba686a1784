"""users: token expiry (`riskrank users add --expires-days`, `users rotate`); null for users made before it,
which keep working until their token is rotated.

Revision ID: 0002
Revises: 0001
Created: 2026-12-01 22:23:21.967319
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
