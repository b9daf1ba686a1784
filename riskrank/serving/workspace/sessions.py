"""Workspace sessions, kept in the service's memory: the cookie holds only a random session id; the server maps
it to the user, the digest of the token they signed in with (rechecked on every request, so deactivation,
rotation and expiry end the session), the page's CSRF token, and the opaque handles that stand for cases in
URLs (a case id never appears in an address, a browser history or an access log).

A restart signs everyone out; several service processes would need a shared store (not built: `riskrank serve`
runs one process).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from riskrank.serving.auth import User

SESSION_SECONDS = 8 * 3600  # one working day; then sign in again


@dataclass
class Session:
    user: User
    token_digest: str
    csrf: str
    expires: float
    language: str | None = None
    handles: dict[str, tuple[str, int]] = field(default_factory=dict)  # handle -> (worklist id, case id)
    investigations: dict[str, str] = field(default_factory=dict)  # handle -> the outcome form's investigation id
    _by_case: dict[tuple[str, int], str] = field(default_factory=dict)

    def handle_for(self, worklist_id: str, case_id: int) -> str:
        """The same handle for the same worklist item within a session, a new random one per session."""
        key = (worklist_id, case_id)
        if key not in self._by_case:
            handle = secrets.token_urlsafe(12)
            self._by_case[key] = handle
            self.handles[handle] = key
        return self._by_case[key]


    def investigation_for(self, handle: str) -> str:
        """The outcome form's suggested investigation id: one per case page, so a form sent twice is recorded once."""
        return self.investigations.setdefault(handle, f"ws-{secrets.token_hex(6)}")


class SessionStore:
    def __init__(self, lifetime_seconds: float = SESSION_SECONDS) -> None:
        self._lifetime = lifetime_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: User, token_digest: str, csrf: str) -> str:
        session_id = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._sessions = {k: s for k, s in self._sessions.items() if s.expires > now}  # drop the expired
            self._sessions[session_id] = Session(user, token_digest, csrf, now + self._lifetime)
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None and session.expires <= time.monotonic():
                del self._sessions[session_id]
                return None
        return session

    def drop(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)
