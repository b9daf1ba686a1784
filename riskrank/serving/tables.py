"""Tables owned by serving in the operational store: users, audit log, worklists and their items.
A change here needs a migration (docs/operations.md, "Schema migrations")."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    # sha256 of a 256-bit random token; the token itself is shown once and never stored.
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    # When the token stops working (set by `users add` and `users rotate`); null: never (rows made before expiry existed).
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),  # ISO-8601 UTC, kept as text so the hash input is exact
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("subject", sa.String(64), nullable=True),  # pseudonymised case id
    sa.Column("model_version", sa.String(20), nullable=True),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("details", sa.Text, nullable=False),  # canonical JSON: reasons shown, worklist items, outcome
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# The chain's last seq and hash, updated in the same transaction as each append.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

worklists = sa.Table(
    "worklists",
    metadata,
    sa.Column("worklist_id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("benefit", sa.String(40), nullable=True),  # null: all benefits
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("objective", sa.String(20), nullable=False),
    sa.Column("random_share", sa.Float, nullable=False),
    sa.Column("model_version", sa.String(20), nullable=True),
    sa.Column("features_as_of", sa.Date, nullable=True),
)

# Which cases a worklist handed out and why: `selection` (model | random) is never shown to investigators;
# outcomes take it from here so hit rates of the random control sample stay unbiased.
worklist_items = sa.Table(
    "worklist_items",
    metadata,
    sa.Column("worklist_id", sa.String(36), sa.ForeignKey("worklists.worklist_id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("benefit", sa.String(40), nullable=False),
    sa.Column("selection", sa.String(20), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

