"""Console sign-in sessions, kept in the database so that they can be ended.

The browser's cookie holds only a random token; the table holds its sha256 (a copy of the
table opens no console), the user, a fingerprint of the user's password hash at sign-in, and
an absolute end (`[http] session_hours` after sign-in; use does not extend it). A session ends
when its user signs out (every session of that user), when the user's password changes (the
fingerprint no longer matches) or the user is removed from the users file, and when its time
is up. Instances sharing a PostgreSQL database share their sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from .models import ConsoleSession, utcnow


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(user: str, credential: str, lifetime: timedelta, now: datetime | None = None) -> str:
    """A new session for `user`; returns the token for the cookie."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    ConsoleSession.create(token_hash=_digest(token), user=user, credential=credential, created_at=now,
                          expires_at=now + lifetime)
    ConsoleSession.delete().where(ConsoleSession.expires_at <= now).execute()  # the table stays small
    return token


def find_session(token: str, now: datetime | None = None) -> ConsoleSession | None:
    """The live session of a cookie's token, or None (unknown, ended or expired)."""
    if not token or len(token) > 128:
        return None
    row = ConsoleSession.get_or_none(ConsoleSession.token_hash == _digest(token))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row


def end_session(token: str) -> None:
    ConsoleSession.delete().where(ConsoleSession.token_hash == _digest(token)).execute()


def end_user_sessions(user: str) -> int:
    """End every session of `user`; returns how many there were."""
    return ConsoleSession.delete().where(ConsoleSession.user == user).execute()
