"""A store's coupons, their codes and every redemption (store schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import BigId, TenantModel, UtcDateTime, utcnow
from app.i18n import N_

KIND_LABELS = {"percent": N_("Percent off"), "fixed": N_("Amount off")}
SCOPE_LABELS = {
    "store": N_("Whole store"),
    "category": N_("One category"),
    "product": N_("One product"),
}
# A redemption counts against the limits while reserved (unpaid order) or redeemed (paid).
COUNTING = ("reserved", "redeemed")


class Coupon(TenantModel):
    """One coupon definition: what it takes off, on what, for whom, when and how often."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))  # percent (basis points) | fixed (cents)
    value: Mapped[int] = mapped_column(BigInteger)
    max_discount_cents: Mapped[int | None] = mapped_column(BigInteger)  # percent only
    scope: Mapped[str] = mapped_column(String(10), default="store")  # store | category | product
    target_id: Mapped[int] = mapped_column(Integer, default=0)  # shared category / product id
    min_spend_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    total_limit: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    is_first_order_only: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Redemptions reserved or redeemed, kept under the coupon's row lock (never above the limit).
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    codes: Mapped[list[CouponCode]] = relationship(
        back_populates="coupon", cascade="all, delete-orphan", order_by="CouponCode.id"
    )


class CouponCode(TenantModel):
    """A code customers type. One coupon has one typed code or a batch of random ones."""

    __tablename__ = "coupon_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # stored upper-case
    max_uses: Mapped[int | None] = mapped_column(Integer)  # 1 for single-use batch codes
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    coupon: Mapped[Coupon] = relationship(back_populates="codes")


class CouponRedemption(TenantModel):
    """A coupon used on an order: reserved with the order, redeemed when it is paid, released
    when it expires or is cancelled."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (Index("ix_coupon_redemptions_coupon_id_status", "coupon_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"))
    code_id: Mapped[int] = mapped_column(
        ForeignKey("coupon_codes.id", ondelete="CASCADE"), index=True
    )
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    discount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="reserved")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
