"""Active sign-in sessions of staff and platform accounts: one row per sign-in (device, address,
when), listed on the account page and revocable; a revoked session is signed out on its next
request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UtcDateTime, utcnow
from app.extensions import db

SESSION_KEY = "_sid"
# last_seen_at is written at most this often per session (not on every request).
TOUCH_EVERY = timedelta(minutes=1)


class SignInSessionMixin:
    """Columns of a sign-in session table (staff_sessions, platform_sessions)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    # SHA-256 of the random id kept in the (signed) session cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(user, *, user_agent: str, ip: str) -> str:
    """Record a sign-in of `user`; returns the token to keep in the session cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        user.session_model(
            user_id=user.id, token_hash=_hash(token), user_agent=(user_agent or "")[:300], ip=ip
        )
    )
    return token


def current_row(user, token: str | None):
    """The live session row of `user` for this token, or None (unknown, revoked, someone else's)."""
    if not token:
        return None
    model = user.session_model
    row = db.session.scalar(select(model).where(model.token_hash == _hash(token)))
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return None
    return row


def touch(row) -> None:
    """Note that the session was seen now (at most once a minute, in its own small commit)."""
    now = utcnow()
    if now - row.last_seen_at < TOUCH_EVERY:
        return
    model = type(row)
    db.session.execute(update(model).where(model.id == row.id).values(last_seen_at=now))
    db.session.commit()


def list_sessions(user) -> list:
    model = user.session_model
    return list(
        db.session.scalars(
            select(model)
            .where(model.user_id == user.id, model.revoked_at.is_(None))
            .order_by(model.last_seen_at.desc(), model.id.desc())
        )
    )


def revoke(user, session_id: int) -> bool:
    """Revoke one of the user's own sessions; False if there is no such live session."""
    model = user.session_model
    row = db.session.get(model, session_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def revoke_all(user, *, except_token: str | None = None) -> int:
    """Revoke every live session of `user` (but the one of `except_token`); returns how many."""
    model = user.session_model
    statement = update(model).where(model.user_id == user.id, model.revoked_at.is_(None))
    if except_token:
        statement = statement.where(model.token_hash != _hash(except_token))
    return db.session.execute(statement.values(revoked_at=utcnow())).rowcount
