"""Bearer-token users with roles. Tokens are 256-bit random strings shown once; only their sha256 is stored.

Lookups go by the token's hash (an indexed column) and the stored hash is compared with
hmac.compare_digest. Successful lookups are cached briefly so the hot path makes no database round trip.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from riskrank.errors import UserError
from riskrank.serving.tables import users


class Role(StrEnum):
    investigator = "investigator"
    manager = "manager"
    data_scientist = "data_scientist"
    auditor = "auditor"


ROLES: tuple[str, ...] = tuple(Role)


@dataclass(frozen=True)
class User:
    name: str
    role: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(engine: Engine, name: str, role: str) -> str:
    """Create a user and return its bearer token (the only time it is ever available)."""
    name = name.strip()
    if not name or len(name) > 80:
        raise UserError("user name must be 1 to 80 characters")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
            raise UserError(f"user {name!r} already exists")
        conn.execute(
            users.insert().values(name=name, role=role, token_sha256=hash_token(token), created_at=datetime.now(UTC), active=True)
        )
    return token


def deactivate_user(engine: Engine, name: str) -> None:
    """Revoke a user's token: the row stays (the audit log names it); running services stop accepting the token
    within the Authenticator's cache lifetime."""
    with engine.begin() as conn:
        done = conn.execute(users.update().where(users.c.name == name.strip(), users.c.active.is_(True)).values(active=False))
    if done.rowcount == 0:
        raise UserError(f"no active user {name.strip()!r}")


class Authenticator:
    """Resolves bearer tokens to users, caching hits for `ttl_seconds` (so a deactivation takes effect within it)."""

    def __init__(self, engine: Engine, ttl_seconds: float = 30.0) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> User | None:
        """The user if a fresh lookup of `token` is cached, else None: no database round trip, so an async
        endpoint can call it on the event loop."""
        return self._fresh(hash_token(token), time.monotonic())

    def _fresh(self, digest: str, now: float) -> User | None:
        hit = self._cache.get(digest)
        return hit[1] if hit is not None and hit[0] > now else None

    def user_for(self, token: str) -> User | None:
        digest = hash_token(token)
        now = time.monotonic()
        if (user := self._fresh(digest, now)) is not None:
            return user
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.name, users.c.role, users.c.token_sha256).where(
                    users.c.token_sha256 == digest, users.c.active.is_(True)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.token_sha256, digest):
            return None
        user = User(name=row.name, role=row.role)
        with self._lock:
            self._cache[digest] = (now + self._ttl, user)
        return user
