"""Bearer-token users with roles. Tokens are 256-bit random strings shown once; only their sha256 is stored.

Lookups go by the token's hash (an indexed column) and the stored hash is compared with
hmac.compare_digest. Successful lookups are cached briefly so the hot path makes no database round trip.
A token expires at `users.expires_at` (null: never, as for users made before tokens had an expiry) and can
be rotated: a new token replaces the old one's hash, so the old one stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
DEFAULT_EXPIRES_DAYS = 90
MAX_EXPIRES_DAYS = 3650


@dataclass(frozen=True)
class User:
    name: str
    role: str


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_user_input(name: str, role: str | None = None, expires_days: int = DEFAULT_EXPIRES_DAYS) -> str:
    """The stripped name, once name, role and expiry are valid (callers check before they touch the database)."""
    name = name.strip()
    if not name or len(name) > 80:
        raise UserError("user name must be 1 to 80 characters")
    if role is not None and role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise UserError(f"--expires-days must be between 1 and {MAX_EXPIRES_DAYS}, got {expires_days}")
    return name


def _new_token(expires_days: int, now: datetime | None) -> tuple[str, datetime]:
    return secrets.token_urlsafe(32), (now or datetime.now(UTC)) + timedelta(days=expires_days)


def add_user_token(engine: Engine, name: str, role: str, expires_days: int = DEFAULT_EXPIRES_DAYS,
                   now: datetime | None = None) -> IssuedToken:
    """Create a user; return its bearer token (the only time it is ever available) and when it expires."""
    name = check_user_input(name, role, expires_days)
    token, expires_at = _new_token(expires_days, now)
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.name).where(users.c.name == name)).first():
            raise UserError(f"user {name!r} already exists")
        conn.execute(users.insert().values(name=name, role=role, token_sha256=hash_token(token),
                                           created_at=now or datetime.now(UTC), active=True, expires_at=expires_at))
    return IssuedToken(token, expires_at)


def add_user(engine: Engine, name: str, role: str, expires_days: int = DEFAULT_EXPIRES_DAYS) -> str:
    """Create a user and return its bearer token."""
    return add_user_token(engine, name, role, expires_days).token


def rotate_user(engine: Engine, name: str, expires_days: int = DEFAULT_EXPIRES_DAYS, now: datetime | None = None) -> IssuedToken:
    """Give an active user a new token with a new expiry; the old token stops working (running services: within
    the Authenticator's cache lifetime)."""
    name = check_user_input(name, None, expires_days)
    token, expires_at = _new_token(expires_days, now)
    with engine.begin() as conn:
        done = conn.execute(users.update().where(users.c.name == name, users.c.active.is_(True))
                            .values(token_sha256=hash_token(token), expires_at=expires_at))
    if done.rowcount == 0:
        raise UserError(f"no active user {name!r}")
    return IssuedToken(token, expires_at)


def deactivate_user(engine: Engine, name: str) -> None:
    """Revoke a user's token: the row stays (the audit log names it); running services stop accepting the token
    within the Authenticator's cache lifetime."""
    with engine.begin() as conn:
        done = conn.execute(users.update().where(users.c.name == name.strip(), users.c.active.is_(True)).values(active=False))
    if done.rowcount == 0:
        raise UserError(f"no active user {name.strip()!r}")


def _epoch(moment: datetime | None) -> float:
    """Seconds since the epoch; no expiry is infinitely far. SQLite gives naive datetimes back: they are UTC."""
    if moment is None:
        return math.inf
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class Authenticator:
    """Resolves bearer tokens to users, caching hits for `ttl_seconds` (so a deactivation or rotation takes effect
    within it); a cached token still stops working at its expiry. `wall_clock` (seconds since the epoch) is
    injectable for tests."""

    def __init__(self, engine: Engine, ttl_seconds: float = 30.0, wall_clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._wall_clock = wall_clock
        self._cache: dict[str, tuple[float, float, User]] = {}  # digest -> (cached until, expires at, user)
        self._lock = threading.Lock()

    def cached(self, token: str) -> User | None:
        """The user if a fresh lookup of `token` is cached, else None: no database round trip, so an async
        endpoint can call it on the event loop."""
        return self._fresh(hash_token(token), time.monotonic())

    def _fresh(self, digest: str, now: float) -> User | None:
        hit = self._cache.get(digest)
        return hit[2] if hit is not None and hit[0] > now and hit[1] > self._wall_clock() else None

    def user_for(self, token: str) -> User | None:
        """The token's user; None for an unknown, inactive or expired token."""
        return self.user_for_digest(hash_token(token))

    def user_for_digest(self, digest: str) -> User | None:
        """The same by the token's sha256: a browser session keeps only the digest, and so still stops working
        when the token is deactivated, rotated or expires."""
        now = time.monotonic()
        if (user := self._fresh(digest, now)) is not None:
            return user
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.name, users.c.role, users.c.token_sha256, users.c.expires_at).where(
                    users.c.token_sha256 == digest, users.c.active.is_(True)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.token_sha256, digest):
            return None
        expires = _epoch(row.expires_at)
        if expires <= self._wall_clock():
            return None
        user = User(name=row.name, role=row.role)
        with self._lock:
            self._cache[digest] = (now + self._ttl, expires, user)
        return user
