"""Withdrawal requests (shared schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import SharedModel, UtcDateTime, utcnow
from app.i18n import N_

METHODS = {"alipay": N_("Alipay account"), "bank": N_("Bank account")}
STATUSES = {
    "requested": N_("Waiting for review"),
    "paid": N_("Paid out"),
    "rejected": N_("Rejected"),
}


class Withdrawal(SharedModel):
    __tablename__ = "withdrawals"
    __table_args__ = (Index("ix_withdrawals_party_requested", "party", "requested_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    withdrawal_no: Mapped[str] = mapped_column(String(24), unique=True)
    party: Mapped[str] = mapped_column(String(40))  # "store:<id>" or "supplier:<id>"
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # taken from available
    fee_cents: Mapped[int] = mapped_column(BigInteger)  # kept by the platform; paid out: the rest
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20))
    account_name: Mapped[str] = mapped_column(String(100))
    account_sealed: Mapped[str] = mapped_column(Text)
    account_mask: Mapped[str] = mapped_column(String(40))
    bank_name: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default="requested", index=True)
    payout_reference: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def payout_cents(self) -> int:
        return self.amount_cents - self.fee_cents

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]

    @property
    def method_label(self) -> str:
        return METHODS[self.method]
