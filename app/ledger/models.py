"""Ledger accounts, transactions and entries.

Sign convention: an entry's amount is signed, debit positive, credit negative; every
transaction's entries sum to zero per currency. An account's cached balance is the sum of its
entries. Asset accounts (payment clearing) carry positive balances; what the platform owes
(store pending/available, supplier payables) and earns (revenue) carry negative balances —
`owed_cents()` shows them the right way round.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, SharedModel, UtcDateTime, utcnow


class LedgerAccount(SharedModel):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("code", "currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # e.g. "clearing:sandbox", "platform:revenue", "supplier:3:payable", "store:12:pending"
    code: Mapped[str] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3))
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def owed_cents(self) -> int:
        return -self.balance_cents


class LedgerTransaction(SharedModel):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # The business event's subject, e.g. "order:<tenant>:<order_no>": pending money is held
    # and settled per reference (see app.ledger.holds).
    reference: Mapped[str | None] = mapped_column(String(120), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", order_by="LedgerEntry.id"
    )


class LedgerEntry(SharedModel):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_transactions.id", ondelete="RESTRICT"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), index=True
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
    account: Mapped[LedgerAccount] = relationship()


class LedgerHold(SharedModel):
    """Money credited to a party's pending account for one reference, until it settles."""

    __tablename__ = "ledger_holds"
    __table_args__ = (
        UniqueConstraint("account_code", "currency", "reference"),
        Index("ix_ledger_holds_due", "settled_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_code: Mapped[str] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(120))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # What settlement moved to available (after paying off anything owed); 0 if nothing was left.
    settled_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
