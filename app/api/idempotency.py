"""`Idempotency-Key`: the same key with the same request gets the same answer for 24 hours.

The key is claimed (a unique row, committed) before any work, so of two concurrent requests
only one does the work; the other waits for its answer and replays it. Another request under a
used key is a 409. If the worker dies mid-request the claim stays unanswered and the key keeps
answering 409 "in progress" until it expires: never buying twice is worth more than a retry.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.api.models import IdempotentRequest
from app.api.problems import ApiProblem
from app.db import utcnow
from app.extensions import db

KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
WAIT_SECONDS = 10.0  # how long a duplicate waits for the first request's answer
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join((method.encode(), path.encode(), body))).hexdigest()


def _checked(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiProblem(
            "invalid-request",
            f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} printable characters.",
            errors=[{"field": "Idempotency-Key", "message": "malformed"}],
        )
    return key


def claim(api_key_id: int, idempotency_key: str, fingerprint: str) -> int | Replay:
    """Claim the key for this request (returns the claim's id, the caller then does the work
    and calls answer()), or the answer already given to the same request."""
    key = _checked(idempotency_key)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        row = db.session.scalar(
            select(IdempotentRequest).where(
                IdempotentRequest.api_key_id == api_key_id,
                IdempotentRequest.idempotency_key == key,
            )
        )
        if row is not None and row.created_at < utcnow() - KEEP_FOR:
            db.session.delete(row)  # expired: the key may be used afresh
            db.session.commit()
            row = None
        if row is None:
            claim_row = IdempotentRequest(
                api_key_id=api_key_id,
                idempotency_key=key,
                request_hash=fingerprint,
                created_at=utcnow(),
            )
            db.session.add(claim_row)
            try:
                db.session.commit()
                return claim_row.id
            except IntegrityError:  # someone claimed it a moment before us
                db.session.rollback()
                continue
        if row.request_hash != fingerprint:
            db.session.rollback()
            raise ApiProblem(
                "idempotency-key-reused", "Use a new Idempotency-Key for a different request."
            )
        if row.status_code is not None:
            replay = Replay(row.status_code, row.response_body or b"")
            db.session.rollback()
            return replay
        db.session.rollback()  # end the snapshot, so the next look sees the answer
        if time.monotonic() >= deadline:
            raise ApiProblem(
                "idempotency-in-progress", "Retry shortly; the first request is still running."
            )
        time.sleep(POLL_SECONDS)


def answer(claim_id: int, status: int, body: bytes) -> None:
    """Keep the answer for replays — server errors too: the work may have been done before it
    failed, so a retry under the same key must not do it again. Commits."""
    db.session.rollback()
    row = db.session.get(IdempotentRequest, claim_id)
    if row is not None:
        row.status_code, row.response_body = status, body
        db.session.commit()


def purge_expired(limit: int = 5000) -> int:
    """The periodic job's work for one store: forget answers older than 24 hours."""
    cutoff = utcnow() - KEEP_FOR
    ids = db.session.scalars(
        select(IdempotentRequest.id).where(IdempotentRequest.created_at < cutoff).limit(limit)
    ).all()
    if ids:
        db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.id.in_(ids)))
        db.session.commit()
    return len(ids)
