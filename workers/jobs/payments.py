"""Payment jobs: executing refunds at the gateway (safe to run again: idempotent on refund_no)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.payments.models import Refund
from app.payments.refunds import execute_refund as run_refund


def execute_refund(refund_no: str) -> str:
    return run_refund(refund_no).status


def retry_failed_refunds(limit: int = 100) -> int:
    """Periodic: try failed refunds again (the gateway may have been down), and pending ones
    whose job was lost."""
    stale = utcnow() - timedelta(minutes=5)
    numbers = db.session.scalars(
        select(Refund.refund_no)
        .where(
            (Refund.status == "failed")
            | ((Refund.status == "pending") & (Refund.created_at < stale)),
            Refund.attempts < 10,
        )
        .order_by(Refund.id)
        .limit(limit)
    ).all()
    for refund_no in numbers:
        run_refund(refund_no)
    return len(numbers)
