"""Settlement (结算): held money moves from pending to available once its hold is due.

One ledger transaction per hold, keyed `settle:<hold id>`, so running the job twice (or two
workers at once) settles once. A party that owes the platform (a refund after settlement larger
than its available balance) pays that off first.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select

from app.db import utcnow
from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerHold, LedgerTransaction
from app.ledger.parties import Party
from app.ledger.services import lock_accounts, post

log = logging.getLogger(__name__)


def settle_due(now: datetime | None = None, *, batch: int = 500) -> int:
    """Settle every hold due by `now`; returns how many this call settled."""
    now = now or utcnow()
    settled, after_id = 0, 0
    while True:
        ids = db.session.scalars(
            select(LedgerHold.id)
            .where(
                LedgerHold.settled_at.is_(None),
                LedgerHold.due_at <= now,
                LedgerHold.id > after_id,
            )
            .order_by(LedgerHold.id)
            .limit(batch)
        ).all()
        db.session.rollback()
        for hold_id in ids:
            settled += settle_hold(hold_id, now)
        if len(ids) < batch:
            return settled
        after_id = ids[-1]


def still_pending(account_code: str, currency: str, reference: str) -> int:
    """What the party is still owed on this reference's pending lot (positive)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(
            LedgerTransaction.reference == reference,
            LedgerAccount.code == account_code,
            LedgerAccount.currency == currency,
        )
    )
    return -int(total)


def settle_hold(hold_id: int, now: datetime) -> bool:
    """Settle one hold in its own transaction; False if it is settled or being settled."""
    hold = db.session.scalar(
        select(LedgerHold)
        .where(LedgerHold.id == hold_id, LedgerHold.settled_at.is_(None))
        .with_for_update(skip_locked=True)
    )
    if hold is None:
        db.session.rollback()
        return False
    party = Party.holding(hold.account_code)
    accounts = lock_accounts((party.pending, party.available, party.owed), hold.currency)
    amount = still_pending(hold.account_code, hold.currency, hold.reference)
    to_available = 0
    if amount > 0:
        repay = min(amount, max(0, accounts[party.owed].balance_cents))
        to_available = amount - repay
        post(
            f"settle:{hold.id}",
            "settlement",
            [(party.pending, amount), (party.owed, -repay), (party.available, -to_available)],
            currency=hold.currency,
            tenant_id=party.tenant_id,
            reference=hold.reference,
            description=f"settlement of {hold.reference}",
        )
    elif amount < 0:
        log.error("hold %s of %s is overdrawn by %s", hold.id, hold.account_code, -amount)
    hold.settled_at, hold.settled_cents = now, to_available
    db.session.commit()
    return True
