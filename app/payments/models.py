"""Payments (shared schema): the platform is merchant of record for every store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, SharedModel, UtcDateTime, utcnow
from app.i18n import N_

PAYMENT_STATUS_LABELS = {
    "pending": N_("Awaiting payment"),
    "succeeded": N_("Paid"),
    "failed": N_("Failed"),
    "refunded": N_("Refunded"),
    "partially_refunded": N_("Partially refunded"),
}
REFUND_STATUS_LABELS = {
    "pending": N_("Refund in progress"),
    "succeeded": N_("Refunded"),
    "failed": N_("Refund failed"),
}


class Payment(SharedModel):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_no: Mapped[str] = mapped_column(String(40), unique=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    order_no: Mapped[str] = mapped_column(String(32), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # pending | succeeded | failed | refunded | partially_refunded
    status: Mapped[str] = mapped_column(String(20), default="pending")
    provider_txn_id: Mapped[str | None] = mapped_column(String(80), unique=True)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the buyer was sent to: a redirect URL or the content of a QR code (WeChat Native).
    checkout_kind: Mapped[str] = mapped_column(String(10), default="redirect")
    checkout_payload: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    refunds: Mapped[list[Refund]] = relationship(back_populates="payment", order_by="Refund.id")


class Refund(SharedModel):
    """A refund decided by us and executed at the gateway. refund_no is the gateway's idempotency
    key (Alipay out_request_no, WeChat out_refund_no, Stripe Idempotency-Key), so retrying a
    refund whose answer was lost never pays twice. The ledger reversal is posted once it succeeds.
    """

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    refund_no: Mapped[str] = mapped_column(String(40), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    order_no: Mapped[str] = mapped_column(String(32), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # pending | succeeded | failed
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(80), default="system")
    provider_refund_id: Mapped[str | None] = mapped_column(String(80))
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    payment: Mapped[Payment] = relationship(back_populates="refunds")


class ProviderConfig(SharedModel):
    """A payment provider as the platform owner set it up: enabled or not, and its credentials
    (a JSON object, encrypted at rest with the provider's name as associated data)."""

    __tablename__ = "payment_provider_configs"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    credentials_sealed: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
