"""Risk tables (shared schema): blacklist entries, velocity counters, orders held for review,
and what each contact paid across the platform (the anti-money-laundering daily total)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import SharedModel, UtcDateTime, utcnow


class BlacklistEntry(SharedModel):
    """One blacklisted IP/network, e-mail pattern, phone or customer; `tenant_id` None is the
    platform's list (applies to every store), otherwise one store's own."""

    __tablename__ = "risk_blacklist"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # ip | email | phone | customer
    value: Mapped[str] = mapped_column(String(254))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class VelocityCounter(SharedModel):
    """Orders counted per key and time slot when Redis is not configured (incremented atomically
    with an upsert, so concurrent checkouts each get their own count)."""

    __tablename__ = "risk_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class RiskReview(SharedModel):
    """A paid order whose delivery is held until someone approves or rejects it. `queue` says
    whose decision it is: the platform's (anti-money-laundering, platform rules) or the store's."""

    __tablename__ = "risk_reviews"
    __table_args__ = (
        UniqueConstraint("tenant_id", "order_no"),
        Index("ix_risk_reviews_waiting", "status", "queue", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    order_no: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(10))  # platform | store
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(10), default="waiting")  # approved | rejected
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by: Mapped[str] = mapped_column(String(254), default="")
    decision_note: Mapped[str] = mapped_column(Text, default="")


class PaidContact(SharedModel):
    """One paid order of one contact (e-mail or phone, as a keyed digest: no personal data in
    the clear), in any store: their sum over 24 hours is the contact's platform-wide total for
    the anti-money-laundering threshold. Rows older than two days are swept."""

    __tablename__ = "risk_paid_contacts"
    __table_args__ = (
        UniqueConstraint("contact_digest", "tenant_id", "order_no"),
        Index("ix_risk_paid_contacts_recent", "contact_digest", "paid_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_digest: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[int] = mapped_column(Integer)
    order_no: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
