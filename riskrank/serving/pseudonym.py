"""Pseudonyms for personal identifiers in logs and the audit log: HMAC-SHA256 keyed by settings.pseudonym_key."""

from __future__ import annotations

import hashlib
import hmac


def pseudonymise(identifier: object, key: str) -> str:
    """A stable, non-reversible token for a case or person id (first 16 hex digits of the HMAC)."""
    return hmac.new(key.encode(), str(identifier).encode(), hashlib.sha256).hexdigest()[:16]
