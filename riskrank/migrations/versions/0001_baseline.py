"""Baseline: the schema of riskrank at commit fd2737b, the last one made by create_all.

Exactly the tables, columns, keys and indexes that code created, so a store it made is recognised and stamped
at this revision (riskrank.migrations.runner.adopt). Never edit this file: a change of schema is a new revision.

Revision ID: 0001
Revises:
Created: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _outcomes() -> None:
    op.create_table(
        "outcomes",
        sa.Column("investigation_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("benefit", sa.String(40), nullable=False),
        sa.Column("sex", sa.String(1), nullable=True),
        sa.Column("selection", sa.String(20), nullable=False),
        sa.Column("opened_date", sa.Date, nullable=False),
        sa.Column("closed_date", sa.Date, nullable=False),
        sa.Column("action", sa.Boolean, nullable=False),
        sa.Column("action_type", sa.String(20), nullable=True),
        sa.Column("detected_sek", sa.Float, nullable=False),
        sa.Column("prevented_sek", sa.Float, nullable=False),
        sa.Column("police_report", sa.Boolean, nullable=False),
        sa.Column("disagreed_with_score", sa.Boolean, nullable=False),
        sa.Column("disagreement_reason", sa.Text, nullable=True),
        sa.Column("model_version", sa.String(20), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outcomes_case_id", "outcomes", ["case_id"])


def _users() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.UniqueConstraint("token_sha256"),
    )


def _audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("model_version", sa.String(20), nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def _audit_head() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def _worklists() -> None:
    op.create_table(
        "worklists",
        sa.Column("worklist_id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("benefit", sa.String(40), nullable=True),
        sa.Column("k", sa.Integer, nullable=False),
        sa.Column("objective", sa.String(20), nullable=False),
        sa.Column("random_share", sa.Float, nullable=False),
        sa.Column("model_version", sa.String(20), nullable=True),
        sa.Column("features_as_of", sa.Date, nullable=True),
    )


def _worklist_items() -> None:
    op.create_table(
        "worklist_items",
        sa.Column("worklist_id", sa.String(36), sa.ForeignKey("worklists.worklist_id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("case_id", sa.BigInteger, nullable=False),
        sa.Column("benefit", sa.String(40), nullable=False),
        sa.Column("selection", sa.String(20), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_worklist_items_case_id", "worklist_items", ["case_id"])


def _score_runs() -> None:
    op.create_table(
        "score_runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("model_name", sa.String(80), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("feature_set_version", sa.String(40), nullable=False),
        sa.Column("reasons_share", sa.Float, nullable=False),
        sa.Column("cases", sa.BigInteger, nullable=False),
        sa.Column("base_value", sa.Float(53), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )


def _case_scores() -> None:
    op.create_table(
        "case_scores",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("score_runs.run_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("case_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("benefit", sa.String(40), nullable=False),
        sa.Column("score", sa.Float(53), nullable=False),
        sa.Column("percentile", sa.Float(53), nullable=True),
        sa.Column("explanation", sa.LargeBinary, nullable=True),
    )


def _feature_snapshots() -> None:
    op.create_table(
        "feature_snapshots",
        sa.Column("feature_set_version", sa.String(40), primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )


def _promotions() -> None:
    op.create_table(
        "promotions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("promoted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("promoted_by", sa.String(80), nullable=False),
        sa.Column("model_name", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("from_alias", sa.String(40), nullable=True),
        sa.Column("to_alias", sa.String(40), nullable=False),
        sa.Column("previous_version", sa.Integer, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("forced", sa.Boolean, nullable=False),
        sa.Column("gates", sa.Text, nullable=True),
        sa.Column("metrics", sa.Text, nullable=True),
    )


# In foreign-key order. The adoption of a store made before migrations creates the ones it lacks (that code made
# each part's tables on first use) through these same functions.
TABLES: dict[str, Callable[[], None]] = {
    "outcomes": _outcomes, "users": _users, "audit_log": _audit_log, "audit_head": _audit_head,
    "worklists": _worklists, "worklist_items": _worklist_items, "score_runs": _score_runs,
    "case_scores": _case_scores, "feature_snapshots": _feature_snapshots, "promotions": _promotions,
}


def upgrade() -> None:
    for create in TABLES.values():
        create()


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
